"""Plots from a sweep store: every kind, every format, through the CLI and the library."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from archsim import plots
from archsim.cli import main
from archsim.sweep import load_rows, run_sweep
from archsim.sweep.testing import synthetic_simulate


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("plots")
    spec = d / "spec.yaml"
    spec.write_text(textwrap.dedent("""
        base: sat
        axes:
          array.rows: [8, 16, 32]
          workload.sparsity: ["dense", "2:4", "2:8"]
          dram.channel_bytes_per_s: [9.6e9, 19.2e9]
        ties: {array.cols: array.rows}
        workloads: [{gemm: [256, 256, 256]}, {gemm: [64, 64, 64], fail: true}]
    """))
    run_sweep(spec, d / "s.db", workers=0, simulate_fn=synthetic_simulate)
    return d / "s.db"


@pytest.mark.parametrize("kind, ext", [(k, "png") for k in ("speedup", "energy", "pareto", "scaling", "heatmap")]
                         + [("pareto", "pdf"), ("speedup", "svg")])
def test_every_plot_kind_and_format(store: Path, tmp_path: Path, kind: str, ext: str) -> None:
    out = tmp_path / f"{kind}.{ext}"
    assert main(["plot", str(store), "--kind", kind, "-o", str(out)]) == 0
    assert out.stat().st_size > 1000
    if ext == "png":
        import matplotlib.image as mpimg

        h, w = mpimg.imread(out).shape[:2]
        assert abs(w / 300 - 3.5) < 0.05  # one paper column at 300 dpi


def test_plot_options(store: Path, tmp_path: Path) -> None:
    assert main(["plot", str(store), "--kind", "pareto", "--area", "area.array_mm2", "-o", str(tmp_path / "a.png")]) == 0
    assert main(["plot", str(store), "--kind", "heatmap", "--x", "array.rows", "--hue", "dram.channel_bytes_per_s",
                 "--y", "total_energy_pj", "-o", str(tmp_path / "h.svg")]) == 0
    assert main(["plot", str(store), "--kind", "energy", "--x", "workload.sparsity", "--hue", "array.rows",
                 "--where", "array.rows<=16", "-o", str(tmp_path / "e.pdf")]) == 0
    svg = (tmp_path / "h.svg").read_text()
    assert "dram channel bandwidth" in svg and "19.2 GB/s" in svg and "energy (" in svg


def test_plot_errors(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for argv, frag in [
        (["--kind", "pareto", "-o", str(tmp_path / "x.jpg")], "unsupported plot format"),
        (["--kind", "scaling", "--y", "nosuch", "-o", str(tmp_path / "x.png")], "unknown field 'nosuch'"),
        (["--kind", "speedup", "--baseline", "9:9", "-o", str(tmp_path / "x.png")], "baseline"),
        (["--kind", "pareto", "--where", "array.rows=3", "-o", str(tmp_path / "x.png")], "no successful points"),
    ]:
        assert main(["plot", str(store), *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and frag in err and err.count("\n") == 1, err


def test_library_helpers_take_plain_rows(tmp_path: Path) -> None:
    rows = [{"model": m, "sparsity": s, "speedup": v}
            for m, base in (("resnet50", 1.0), ("bert", 1.2)) for s, v in (("2:4", 1.8 * base), ("2:8", 3.1 * base))]
    p = plots.plot_speedup(rows, "model", "speedup", "sparsity", tmp_path / "s.png")
    assert p.exists()
    rows = [{"model": "resnet50", "sparsity": "dense", "energy_pj.array": 3e9, "energy_pj.dram": 5e9},
            {"model": "resnet50", "sparsity": "2:8", "energy_pj.array": 1e9, "energy_pj.dram": 3e9}]
    assert plots.plot_energy_breakdown(rows, "sparsity", tmp_path / "e.png", hue="model").exists()
    assert plots.pareto_front([(1, 1), (1, 1), (2, 0.5)]) == [0, 1, 2]


def test_speedup_pairs_rows_on_the_other_axes(store: Path) -> None:
    rows = load_rows(store)
    dense = {(r["array.rows"], r["dram.channel_bytes_per_s"]): r["total_cycles"] for r in rows
             if r["workload.sparsity"] == "dense"}
    assert len(dense) == 6
