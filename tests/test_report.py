"""The demo as a sweep plus a report, and what the figures must say (bounds, aggregation,
one Pareto front per workload, legends without slivers)."""

from __future__ import annotations

import csv
import html
import re
import textwrap
from pathlib import Path

import pytest

from archsim.config import load_config
from archsim.plots import training
from archsim.sat.run import simulate_sat
from archsim.sweep import load_rows, run_sweep
from archsim.sweep.report import run_demo, training_summary
from archsim.sweep.testing import synthetic_simulate


def _text(path: Path) -> str:
    """Every text of an SVG figure, wrapped lines joined with spaces."""
    return " ".join(html.unescape(t) for t in re.findall(r">([^<>]+)</text>", path.read_text()))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert run_demo(out=out, models=["resnet18"], sparsities=["2:8", "1:8"], batch=1, workers=0,
                    progress=False) == 0
    return out


def test_demo_numbers_are_the_simulators(demo: Path):
    """The report's cycles and energy are exactly those of a direct run (no second runner)."""
    rows = list(csv.DictReader(open(demo / "summary.csv")))
    assert [r["sparsity"] for r in rows] == ["dense", "2:8", "1:8"]
    cfg = load_config("sat")
    for r in rows:
        direct = simulate_sat(cfg, {"model": "resnet18", "batch": 1, "sparsity": r["sparsity"]})
        assert int(r["cycles"]) == direct.total_cycles
        assert float(r["energy_mj"]) == pytest.approx(direct.total_energy_pj / 1e9, rel=1e-12)
    for f in ("demo.db", "summary.md", "speedup.png", "energy_breakdown.png", "time_breakdown.png"):
        assert (demo / f).stat().st_size > 0, f


def test_demo_resumes_from_its_store(demo: Path, capsys):
    assert run_demo(out=demo, models=["resnet18"], sparsities=["2:8"], batch=1, workers=0,
                    progress=False) == 0
    assert "0 ok, 0 failed, 2 already stored" in capsys.readouterr().out


def test_speedup_figure_labels_every_bound(demo: Path, tmp_path: Path):
    summary, _ = training_summary(load_rows(demo / "demo.db"))
    r18 = {r["sparsity"]: r for r in summary}
    assert r18["1:8"]["bound"] == pytest.approx(2.4) and r18["1:8"]["array_bound"] == pytest.approx(2.0)
    assert r18["2:8"]["bound"] == r18["2:8"]["array_bound"] == pytest.approx(2.0)
    svg = _text(training.speedup_bars(summary, ["resnet18"], ["dense", "2:8", "1:8"],
                                      tmp_path / "s.svg", title="T batch 1"))
    for text in ("compute bound 3/(1+2N/M)", "bound with this array", "8-wide activation window",
                 "2.40", "T batch 1"):
        assert text in svg, text


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("plots")
    (d / "spec.yaml").write_text(textwrap.dedent("""
        base: sat
        axes:
          array.rows: [8, 16]
          workload.sparsity: ["dense", "2:8"]
          dram.channel_bytes_per_s: [9.6e9, 19.2e9]
        ties: {array.cols: array.rows}
        workloads: [{gemm: [256, 256, 256]}, {gemm: [64, 64, 64]}]
    """))
    run_sweep(d / "spec.yaml", d / "s.db", workers=0, simulate_fn=synthetic_simulate)
    return d / "s.db"


def test_sweep_plots_state_their_aggregation(store: Path, tmp_path: Path):
    from archsim import plots

    rows = load_rows(store)
    svg = _text(plots.plot_speedup(rows, "array.rows", "total_cycles", "workload.sparsity",
                                   tmp_path / "s.svg", baseline="dense"))
    assert "geometric mean" in svg and "dram.channel_bytes_per_s (2 values)" in svg
    assert "array.cols" not in svg  # tied to the x axis: not aggregated over
    svg = _text(plots.plot_scaling(rows, "array.rows", "total_cycles", tmp_path / "c.svg"))
    assert "each point: geometric mean over" in svg


def test_pareto_never_mixes_workloads(store: Path, tmp_path: Path):
    from archsim import plots

    svg = _text(plots.plot_pareto(load_rows(store), tmp_path / "p.svg"))
    assert "gemm 256×256×256" in svg and "gemm 64×64×64" in svg and "one front per workload" in svg


def test_energy_legend_lumps_slivers(tmp_path: Path):
    from archsim import plots

    rows = [{"m": "a", "energy_pj.dram": 90.0, "energy_pj.pruning_unit": 0.5, "energy_pj.array": 9.5}]
    svg = _text(plots.plot_energy_breakdown(rows, "m", tmp_path / "e.svg"))
    assert "other (< 1% each: pruning unit)" in svg
    assert "DRAM" in svg and "sparse MAC array" in svg
