"""SAT co-design: schedules chosen by the simulator, lowering choices, units that scale with the
array, and area in sweeps (issue #14)."""

from __future__ import annotations

import json

import pytest

from archsim.config import load_config, with_overrides
from archsim.sat.run import make_schedule, simulate_sat
from dataflow.sat import GemmSpec, gemm_candidates, select
from workloads.dnn import get_model, training_gemms
from workloads.errors import InputError
from workloads.sparsity import parse_nm

# The demo sweep's workloads (archsim/configs/sweeps/demo.yaml).
DEMO_GEMMS = ([3136, 576, 64], [512, 512, 512])


def _cycles(over: dict, gemm, sparsity: str) -> int:
    cfg = with_overrides(load_config("sat"), over)
    return simulate_sat(cfg, {"gemm": gemm, "sparsity": sparsity}).total_cycles


def _non_increasing(xs) -> bool:
    return all(b <= a for a, b in zip(xs, xs[1:]))


@pytest.mark.parametrize("gemm", DEMO_GEMMS)
@pytest.mark.parametrize("sparsity", ["dense", "2:8"])
@pytest.mark.parametrize("rows", [16, 32])
@pytest.mark.parametrize("axis, values", [
    ("dram.channels", [1, 2, 4, 8]),
    ("vector_unit.lanes", [16, 32, 64, 128, 256]),
])
def test_better_bandwidth_or_lanes_never_slower(gemm, sparsity, rows, axis, values):
    # Default settings: the energy tie band (schedule.simulate_tie_fraction, 0.2%) is the only
    # slack; with the band at 0 the cycles never increase.
    over = {"array.rows": rows, "array.cols": rows}
    tie = load_config("sat").schedule.simulate_tie_fraction
    cycles = [_cycles({**over, axis: v}, gemm, sparsity) for v in values]
    assert all(b <= a * (1 + tie) for a, b in zip(cycles, cycles[1:])), f"{axis}: {cycles}"
    strict = [_cycles({**over, axis: v, "schedule.simulate_tie_fraction": 0.0}, gemm, sparsity)
              for v in values]
    assert _non_increasing(strict), f"{axis} {values}, no tie band: cycles {strict}"


@pytest.mark.parametrize("gemm", DEMO_GEMMS)
@pytest.mark.parametrize("sparsity", ["dense", "2:8"])
@pytest.mark.parametrize("buffer", ["buffers.weight_bytes", "buffers.act_bytes"])
def test_bigger_buffers_never_slower(gemm, sparsity, buffer):
    values = [262144, 524288, 1048576, 2097152]
    cycles = [_cycles({buffer: v}, gemm, sparsity) for v in values]
    # Structural while one of the ranked plans to measure fits the smaller buffer (larger
    # buffers then measure a superset, see dataflow.sat._measurable); when none fits, the
    # first plan of the ranking that does is measured alone and a larger buffer may lose it:
    # checked here against the bound stated in BENCHMARKS.md.
    worst = max(b / a - 1 for a, b in zip(cycles, cycles[1:]))
    assert worst <= 0.015, f"{buffer} {values}: cycles {cycles}"


def test_scalesim_fold_by_fold_2_8_gemm_within_2_percent():
    """1000x64x300 on 16x64, 2:8, fold-by-fold: SCALE-Sim v3 counts 5,469 array cycles.

    As in SCALE-Sim's stall-free mode (``InterfaceBandwidth: CALC``, no post-processing):
    DRAM fast enough never to stall, no vector unit on the store path.  The simulator then
    keeps the plan with the fewest folds (one 1000-row block).  With the preset's DRAM and
    vector unit it keeps a 512+488 split instead, because overlapping the first block's
    output drain with the second block's compute makes the whole GEMM faster (7,018 vs
    7,310 cycles) at +9% array cycles.
    """
    cfg = with_overrides(load_config("sat"), {
        "array.rows": 16, "array.cols": 64, "array.acc_latency_cycles": 1,
        "array.overlap_tiles": False, "buffers.act_bytes": 1 << 28,
        "buffers.weight_bytes": 1 << 28, "buffers.out_bytes": 1 << 28,
        "dram.channels": 64, "dram.channel_bytes_per_s": 1.0e13,
        "vector_unit.ops_per_element": 0})
    r = simulate_sat(cfg, {"gemm": [1000, 64, 300], "sparsity": "2:8", "dataflow": "ws"})
    array = r.unit_busy_cycles["array"]
    assert abs(array / 5469 - 1) <= 0.02, array


def test_simulator_choice_never_slower_than_the_estimate_choice():
    for gemm in DEMO_GEMMS + ([1000, 64, 300],):
        for sp in ("dense", "2:8"):
            est = _cycles({"schedule.simulate_top_k": 1}, gemm, sp)
            sim = _cycles({}, gemm, sp)
            # The measured set does not hold the estimate's pick (it would make the set depend
            # on the bandwidth), so the estimate may win, by little.
            assert sim <= est * 1.015, (gemm, sp, sim, est)


def test_candidates_and_select_are_pure_data():
    cfg = load_config("sat")
    spec = GemmSpec("g", "FF", 512, 512, 512, prunable=True)
    cands = gemm_candidates(spec, parse_nm("2:8"), cfg.array_shape, cfg.memory_shape, top_k=4)
    assert 1 < len(cands) <= 4 + 1  # the ranked plans that fit + the one with fewest DRAM bytes
    idents = {(c.dataflow, c.loop_order, c.m_blk, c.k_blk, c.n_blk) for c in cands}
    assert len(idents) == len(cands)
    assert select(cands, key=lambda p: (p.est_dram_bytes, p.index)) in cands
    assert select([3, 1, 2, 1], key=lambda x: x) == 1
    with pytest.raises(InputError):
        select([], key=len)
    with pytest.raises(InputError, match="simulate_top_k"):
        gemm_candidates(spec, parse_nm("2:8"), cfg.array_shape, cfg.memory_shape, top_k=0)


def test_simulate_top_k_one_is_the_estimate():
    cfg = with_overrides(load_config("sat"), {"schedule.simulate_top_k": 1})
    spec = GemmSpec("gemm", "FF", 1000, 64, 300, prunable=True)
    first = gemm_candidates(spec, parse_nm("2:8"), cfg.array_shape, cfg.memory_shape,
                            strict=True)[0]
    plan = make_schedule(cfg, {"gemm": [1000, 64, 300], "sparsity": "2:8"}).plans[0]
    assert (plan.dataflow, plan.m_blk, plan.k_blk, plan.n_blk) == (
        first.dataflow, first.m_blk, first.k_blk, first.n_blk)


# ------------------------------------------------------------------ lowering


@pytest.mark.parametrize("model", ["resnet18", "resnet50", "vgg16", "vit_b_16"])
def test_bp_forms_have_equal_macs(model):
    m = get_model(model)
    col = training_gemms(m, 4)
    imp = training_gemms(m, 4, bp_form="implicit_gemm")
    assert sum(g.macs for g in col) == sum(g.macs for g in imp)
    assert sum(g.macs for g in col if g.pass_ == "BP") == sum(g.macs for g in imp if g.pass_ == "BP")


def test_implicit_gemm_bp_shapes():
    gemms = training_gemms(get_model("resnet50"), 2, bp_form="implicit_gemm")
    # layer1.0.conv2: 3x3, stride 1, 64 -> 64 channels, 56x56: one GEMM, k = Cout * 9.
    bp = [g for g in gemms if g.layer == "layer1.0.conv2" and g.pass_ == "BP"]
    assert [(g.m, g.k, g.n, g.count) for g in bp] == [(2 * 56 * 56, 64 * 9, 64, 1)]
    assert bp[0].channels == 64  # N:M groups along Cout
    # layer2.0.conv2: 3x3 stride 2 (torchvision v1.5), 128 -> 128, 28x28 out: 4 phases with
    # 2x2, 2x1, 1x2, 1x1 taps.
    bp = [g for g in gemms if g.layer == "layer2.0.conv2" and g.pass_ == "BP"]
    assert sorted((g.k // 128, g.count) for g in bp) == [(1, 1), (2, 2), (4, 1)]
    assert all(g.m == 2 * 28 * 28 and g.n == 128 for g in bp)


def test_first_layer_bp_and_bad_lowering():
    m = get_model("resnet18")
    skip = training_gemms(m, 2)
    comp = training_gemms(m, 2, first_layer_bp="compute")
    assert [g.pass_ for g in comp if g.layer == "conv1"] == ["FF", "BP", "WU"]
    assert [g.pass_ for g in skip if g.layer == "conv1"] == ["FF", "WU"]
    with pytest.raises(InputError, match="bp_form"):
        training_gemms(m, 2, bp_form="fft")
    with pytest.raises(InputError, match="first_layer_bp"):
        training_gemms(m, 2, first_layer_bp="maybe")


def test_lowering_in_config_changes_the_schedule():
    cfg = with_overrides(load_config("sat"), {"lowering.bp_form": "implicit_gemm",
                                              "schedule.simulate_top_k": 1})
    s = make_schedule(cfg, {"model": "resnet18", "batch": 2, "sparsity": "2:8"})
    bp = [p for p in s.plans if p.layer == "layer1.0.conv1" and p.pass_ == "BP"]
    assert [(p.k, p.n) for p in bp] == [(64 * 9, 64)]
    with pytest.raises(InputError):
        with_overrides(load_config("sat"), {"lowering.bp_form": "fft"})


# ------------------------------------------------------------------ units that scale


def test_lanes_auto_scale_with_the_array():
    cfg = load_config("sat")
    assert (cfg.vector_lanes, cfg.pruning_lanes, cfg.weight_update_lanes) == (64, 32, 16)
    big = with_overrides(cfg, {"array.rows": 64, "array.cols": 64})
    assert (big.vector_lanes, big.pruning_lanes, big.weight_update_lanes) == (128, 64, 32)
    pinned = with_overrides(big, {"vector_unit.lanes": 8})
    assert pinned.vector_lanes == 8
    with pytest.raises(InputError):
        with_overrides(cfg, {"vector_unit.lanes": "many"})


def test_fixed_lanes_flagged_when_they_are_the_bottleneck():
    cfg = with_overrides(load_config("sat"), {"vector_unit.lanes": 4})
    r = simulate_sat(cfg, {"gemm": [3136, 576, 64], "sparsity": "2:8"})
    assert any(w.startswith("vector_unit: 4 lanes (fixed)") for w in r.warnings), r.warnings
    assert "vector_unit" in r.flat_metrics()["warnings"]
    ok = simulate_sat(load_config("sat"), {"gemm": [3136, 576, 64], "sparsity": "2:8"})
    assert ok.warnings == []


# ------------------------------------------------------------------ area


def test_array_area_is_cached_by_parameters(tmp_path):
    from archsim.sat.area import array_area, array_params

    cfg = with_overrides(load_config("sat"), {"array.rows": 1, "array.cols": 2})
    first = array_area(cfg, target="rtlil", cache_dir=tmp_path)
    again = array_area(cfg, target="rtlil", cache_dir=tmp_path)
    assert first["cached"] is False and again["cached"] is True
    assert first["params"] == again["params"]
    assert {k: first["params"][k] for k in array_params(cfg)} == array_params(cfg)
    assert first["multipliers"] == 1 * 2 * cfg.array.multipliers_per_pe
    assert first["bit_cells"] > first["mul_bits"] > 0
    assert len(list(tmp_path.glob("*.json"))) == 1
    with pytest.raises(InputError, match="area.target"):
        array_area(cfg, target="asic", cache_dir=tmp_path)


@pytest.mark.slow
def test_sweep_with_area_and_pareto_plot(tmp_path):
    from archsim.cli import main
    from archsim.sweep.runner import run_sweep
    from archsim.sweep.spec import parse_spec
    from archsim.sweep.store import load_rows

    spec = {
        "version": 1, "name": "area_tiny", "base": "sat",
        "axes": {"array.rows": [1, 2], "workload.sparsity": ["dense", "2:8"]},
        "ties": {"array.cols": "array.rows"},
        "workloads": [{"gemm": [64, 64, 64]}],
        "area": {"target": "rtlil", "cache_dir": str(tmp_path / "cache")},
    }
    summary = run_sweep(parse_spec(spec), tmp_path / "s.db", workers=0)
    assert summary.ok == 4, summary
    rows = load_rows(tmp_path / "s.db", status="ok")
    by_rows = {json.loads(r["config_json"])["array"]["rows"]: r for r in rows}
    assert by_rows[2]["area.rtlil.multipliers"] == 4 * by_rows[1]["area.rtlil.multipliers"]
    assert len(list((tmp_path / "cache").glob("*.json"))) == 2  # one synthesis per shape
    out = tmp_path / "pareto.png"
    assert main(["plot", str(tmp_path / "s.db"), "--kind", "pareto", "-o", str(out)]) == 0
    assert out.stat().st_size > 1000


def test_area_needs_a_sat_base():
    from archsim.sweep.spec import parse_spec

    spec = {"version": 1, "base": "piuma", "workloads": [{"kernel": "spmv"}],
            "area": {"target": "rtlil"}}
    with pytest.raises(InputError, match="area: only SAT"):
        parse_spec(spec)


def test_sweep_layer_does_not_import_rtl_at_import_time():
    import subprocess
    import sys

    code = ("import sys, archsim.sweep.runner, archsim.sweep.spec, archsim.api; "
            "print(any(m == 'rtl' or m.startswith('rtl.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
