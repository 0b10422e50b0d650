"""The timing contract (`dataflow.contract`): the OS short-tile hold, runs of tiles, the export's
formulas, and the SimPy model charging the hold on a GEMM whose K-blocks shrink."""

from dataclasses import replace
from itertools import product

import pytest

from archsim.config import load_config, with_overrides
from archsim.sat.model import SatModel
from archsim.sat.run import make_schedule
from dataflow.contract import (
    os_hold_cycles,
    run_timing,
    tile_occupancy_cycles,
    tile_timing,
    timing_formulas,
)
from workloads.errors import InputError


def test_hold_of_the_issue_example():
    # os_6x7_3of8: a one-step tile after a 7-step tile starts 12 cycles after it, not 7.
    prev = tile_timing("os", rows=6, cols=7, stream_len=7)
    t = tile_timing("os", rows=6, cols=7, stream_len=1, prev_span=prev.span_cycles)
    assert t.hold_cycles == t.start_cycles == 5
    assert (prev.interval_cycles - prev.start_cycles) + t.start_cycles == 12
    # A longer short tile is held on its last step: same interval, later output.
    t3 = tile_timing("os", rows=6, cols=7, stream_len=3, prev_span=7)
    free = tile_timing("os", rows=6, cols=7, stream_len=3)
    assert (t3.hold_cycles, t3.start_cycles, t3.span_cycles) == (3, 0, 6)
    assert t3.interval_cycles == free.interval_cycles
    assert t3.latency_cycles == free.latency_cycles + 3


@pytest.mark.parametrize("rows", [1, 2, 6, 8])
def test_hold_rule(rows):
    for prev, s, gap in product(range(1, 12), range(1, 12), range(0, 4)):
        h = os_hold_cycles(rows=rows, stream_cycles=s, prev_span=prev, gap_cycles=gap)
        assert h == max(0, min(prev, rows) - s - gap)
        # never more than rows - 1; never for a tile at least as long as the array
        assert 0 <= h <= rows - 1 and (s < rows or h == 0)
    assert os_hold_cycles(rows=rows, stream_cycles=1, prev_span=None) == 0
    # WS never holds
    assert tile_timing("ws", rows=rows, cols=3, stream_len=1, prev_span=9).hold_cycles == 0


@pytest.mark.parametrize("df", ["ws", "os"])
def test_run_timing_equals_chaining_tiles(df):
    """A run's closed form equals `tile_timing` chained tile by tile (holds propagate)."""
    for rows, stream, tiles, prev, gap, acc in product(
            (1, 3, 8), (1, 2, 5, 9), (1, 2, 5), (None, 1, 4, 12), (0, 2), (1, 3)):
        kw = dict(rows=rows, cols=4, stream_len=stream, acc_latency_cycles=acc,
                  interleave=acc if df == "os" else 1)
        run = run_timing(df, tiles=tiles, prev_span=prev, gap_cycles=gap, **kw)
        occ, span, g = 0, prev, gap
        for _ in range(tiles):
            t = tile_timing(df, prev_span=span, gap_cycles=g, **kw)
            occ += t.interval_cycles
            span, g = t.span_cycles, 0
        assert run.occupancy_cycles == occ, (rows, stream, tiles, prev, gap)
        assert run.drain_cycles == t.latency_cycles - t.interval_cycles
        assert run.last_span_cycles == t.span_cycles
        # without a previous tile a run is `tiles` steady tiles
        if prev is None:
            assert run.occupancy_cycles == tiles * tile_occupancy_cycles(df, **kw)


@pytest.mark.parametrize("df", ["ws", "os"])
def test_export_formulas_match_the_contract(df):
    for rows, cols in ((1, 1), (6, 7), (4, 16)):
        f = timing_formulas(df, rows=rows, cols=cols)
        for T, prev in product(range(1, 2 * rows + 3), (None, 1, rows, 3 * rows)):
            t = tile_timing(df, rows=rows, cols=cols, stream_len=T, prev_span=prev)
            env = {"T": T, "prev_span": prev if prev is not None else 0, "max": max, "min": min}
            hold = eval(f["hold_cycles"], env)  # noqa: S307 - our own formula text
            env["hold"] = hold
            assert hold == t.hold_cycles
            assert eval(f["interval_cycles"], env) == t.interval_cycles  # noqa: S307
            assert eval(f["latency_cycles"], env) == t.latency_cycles  # noqa: S307


def test_contract_rejects_bad_values():
    with pytest.raises(InputError, match="prev_span"):
        tile_timing("os", rows=2, cols=2, stream_len=1, prev_span=0)
    with pytest.raises(InputError, match="gap_cycles"):
        tile_timing("os", rows=2, cols=2, stream_len=1, gap_cycles=-1)
    with pytest.raises(InputError, match="tiles"):
        run_timing("os", rows=2, cols=2, stream_len=1, tiles=0)
    with pytest.raises(InputError, match="dataflow"):
        timing_formulas("xs", rows=2, cols=2)


def _shrinking_k(edge_steps: int):
    """An OS GEMM on an 8×8 array whose last K-block streams ``edge_steps`` < 8 steps."""
    cfg = with_overrides(load_config("sat"), {"array.rows": 8, "array.cols": 8,
                                             "array.acc_latency_cycles": 1})
    e = 2  # dense, 2 multipliers per PE: 2 reduction elements per step
    kb = 8 * e  # a full K-block streams 8 steps = rows
    sched = make_schedule(cfg, {"gemm": [64, 2 * kb + edge_steps * e, 64], "sparsity": "dense",
                                "dataflow": "os"})
    plan = replace(sched.plans[0], dataflow="os", loop_order="mnk", m_blk=64, k_blk=kb,
                   n_blk=64, interleave=1, count=1)
    assert plan.elements_per_step == e
    return cfg, replace(sched, plans=(plan,))


def test_model_charges_the_os_hold_when_k_blocks_shrink():
    cfg, sched = _shrinking_k(1)
    st = SatModel(cfg, sched).run()
    tiles = 8 * 8  # (64 / 8 rows) x (64 / 8 cols) tiles per block step
    assert st.tiles == 3 * tiles
    # Two K-blocks of 8-step tiles, then 1-step tiles: the first of those waits
    # min(8, 8) - 1 = 7 cycles for the drain chain; the rest follow every 8 cycles.
    steady = 3 * tiles * 8
    assert st.busy["array"] == steady + 7
    # One event per tile chains tile_timing and agrees with the closed form.
    st2 = SatModel(cfg, sched, per_tile_events=True).run()
    assert st2.total_cycles == st.total_cycles and st2.busy["array"] == st.busy["array"]


def test_model_hold_on_the_last_step_delays_only_the_output():
    cfg, sched = _shrinking_k(3)
    a = SatModel(cfg, sched).run()
    # Tiles of 3 steps after 8-step ones are held 5 cycles on their last step: the array's
    # input occupancy is unchanged, the block's last output (and so the run) comes 5 later.
    assert a.busy["array"] == 3 * 64 * 8
    b = SatModel(cfg, sched, per_tile_events=True).run()
    assert a.total_cycles == b.total_cycles
    cfg1, sched1 = _shrinking_k(8)  # no shrink: same tiles count, no hold
    c = SatModel(cfg1, sched1).run()
    assert c.busy["array"] == a.busy["array"]
    # The held 3-step tiles' outputs leave exactly when 8-step tiles' would (the drain chain
    # spaces last steps `rows` apart): shrinking the last K-block saves nothing at the end,
    # where an unheld 3-step tile would have drained 5 cycles sooner.
    assert a.total_cycles == c.total_cycles
    held = run_timing("os", rows=8, cols=8, stream_len=3, tiles=64, prev_span=8)
    free = run_timing("os", rows=8, cols=8, stream_len=3, tiles=64)
    assert held.drain_cycles - free.drain_cycles == 5
