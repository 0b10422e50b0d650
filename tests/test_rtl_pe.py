# amaranth: UnusedElaboratable=no
"""Unit tests of the sparse PE (and a tiny array) on Amaranth's own simulator: no external tools.

Every N:M the RTL tests cover, dense included, on both dataflows; values are checked against an
integer model with the accumulator's two's-complement wrap.  The cocotb tests in ``tests/rtl``
check the full array on the generated Verilog.
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from dataflow.contract import wrap
from rtl.array import SparseArray
from rtl.bench import TileBench, random_tiles
from rtl.pe import SparsePE
from workloads.errors import InputError

#: Powers of two and the cases that break power-of-two assumptions: odd N (an adder tree with an
#: odd number of products), non-power-of-two M (index bits ceil(log2 M), positions up to M-1).
NMS = [(1, 1), (4, 4), (1, 4), (2, 4), (2, 8), (1, 8), (4, 8),
       (3, 8), (2, 3), (3, 6), (5, 5), (7, 8)]


def _ids(nms):
    return [f"{n}:{m}" + ("(dense)" if n == m else "") for n, m in nms]


def _run(dut, tb) -> None:
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()


def _rand_pe(rng, n, m, width, identity=False):
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    w = rng.integers(lo, hi + 1, size=n)
    idx = np.arange(n) if identity else np.sort(rng.choice(m, size=n, replace=False))
    return w, idx


def _set_wts(ctx, view, w, idx):
    for p in range(len(w)):
        ctx.set(view.w[p], int(w[p]))
        ctx.set(view.idx[p], int(idx[p]))


def _set_window(ctx, beat, acts, *, valid=1, first=0, last=0):
    for j, a in enumerate(acts):
        ctx.set(beat.data[j], int(a))
    ctx.set(beat.valid, valid)
    ctx.set(beat.first, first)
    ctx.set(beat.last, last)


# ----------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("kwargs, field", [
    (dict(n=3, m=2), "n must be <= m"),
    (dict(n=0, m=4), "n must be >= 1"),
    (dict(n=1, m=4, width=12), "width must be 8 or 16"),
    (dict(n=1, m=4, width=8, acc_width=8), "acc_width must be in 16..64"),
    (dict(n=1, m=4, dataflow="is"), "dataflow must be 'ws' or 'os'"),
    (dict(n=True, m=4), "n must be an integer"),
    (dict(n=1, m=4.0), "m must be an integer"),
])
def test_pe_rejects_bad_parameters(kwargs, field):
    with pytest.raises(InputError, match=field):
        SparsePE(**kwargs)


@pytest.mark.parametrize("kwargs, msg", [
    (dict(rows=0, cols=4, n=2, m=4), "rows must be in 1..256, got 0"),
    (dict(rows=4, cols="4", n=2, m=4), "cols must be an integer, got '4'"),
    (dict(rows=4, cols=4, n=2, m=4, width=32), "width must be 8 or 16 (signed operands), got 32"),
])
def test_array_rejects_bad_parameters(kwargs, msg):
    with pytest.raises(InputError) as e:
        SparseArray(**kwargs)
    assert msg in str(e.value)


def test_properties_are_read_only():
    a = SparseArray(rows=3, cols=5, n=2, m=8, width=16, acc_width=40, dataflow="os")
    assert (a.rows, a.cols, a.n, a.m, a.width, a.acc_width, a.dataflow, a.index_bits) == \
        (3, 5, 2, 8, 16, 40, "os", 3)
    with pytest.raises(AttributeError):
        a.rows = 4


# ----------------------------------------------------------------------------- WS PE
@pytest.mark.parametrize("n, m", NMS, ids=_ids(NMS))
@pytest.mark.parametrize("width", [8, 16])
def test_ws_pe_double_buffered_weights(n, m, width):
    """Shadow load, swap on ``first``, compute with the active set while the shadow changes."""
    acc = 2 * width + 2  # small accumulator: exercises the wrap
    rng = np.random.default_rng(1000 * n + m + width)
    pe = SparsePE(n=n, m=m, width=width, acc_width=acc, dataflow="ws", tag_bits=2)
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    sets = [_rand_pe(rng, n, m, width, identity=(k == 1)) for k in range(3)]

    def expect(w, idx, acts, psum):
        return int(wrap(np.array([psum + int(np.dot(w, acts[idx]))]), acc)[0])

    async def tb(ctx):
        checks = 0
        for k, (w, idx) in enumerate(sets):
            # shadow <- set k (one chain beat)
            _set_wts(ctx, pe.wl_in.wt, w, idx)
            ctx.set(pe.wl_in.tag, 1)
            ctx.set(pe.wl_in.valid, 1)
            _set_window(ctx, pe.a_in, np.zeros(m, dtype=int), valid=0)
            await ctx.tick()
            ctx.set(pe.wl_in.valid, 0)
            assert ctx.get(pe.wl_out.valid) == 1 and ctx.get(pe.wl_out.tag) == 1
            for step in range(4):
                acts = rng.integers(lo, hi + 1, size=m)
                psum = int(rng.integers(-(1 << (acc - 1)), 1 << (acc - 1)))
                _set_window(ctx, pe.a_in, acts, first=int(step == 0), last=int(step == 3))
                ctx.set(pe.psum_in, psum)
                if step == 1:
                    # the next set arrives in the shadow while this tile streams
                    nw, nidx = sets[(k + 1) % len(sets)]
                    _set_wts(ctx, pe.wl_in.wt, nw, nidx)
                    ctx.set(pe.wl_in.valid, 1)
                await ctx.tick()
                ctx.set(pe.wl_in.valid, 0)
                assert ctx.get(pe.psum_out) == expect(w, idx, acts, psum), (k, step)
                assert ctx.get(pe.a_out.first) == int(step == 0)
                assert [ctx.get(pe.a_out.data[j]) for j in range(m)] == acts.tolist()
                checks += 1
        assert checks == 12

    _run(pe, tb)


# ----------------------------------------------------------------------------- OS PE
@pytest.mark.parametrize("n, m", NMS, ids=_ids(NMS))
def test_os_pe_accumulates_and_drains(n, m):
    width, acc = 8, 24
    rng = np.random.default_rng(7 * n + m)
    pe = SparsePE(n=n, m=m, width=width, acc_width=acc, dataflow="os")

    async def tb(ctx):
        for tile in range(3):
            T = int(rng.integers(1, 6))
            total = 0
            for t in range(T):
                w, idx = _rand_pe(rng, n, m, width, identity=(tile == 1))
                acts = rng.integers(-128, 128, size=m)
                total += int(np.dot(w, acts[idx]))
                _set_wts(ctx, pe.wt_in, w, idx)
                _set_window(ctx, pe.a_in, acts, first=int(t == 0), last=int(t == T - 1))
                await ctx.tick()
                assert [ctx.get(pe.wt_out.w[p]) for p in range(n)] == w.tolist()
            _set_window(ctx, pe.a_in, np.zeros(m, dtype=int), valid=0)
            assert ctx.get(pe.o_out) == int(wrap(np.array([total]), acc)[0])
            # an invalid beat flagged last must not disturb the result; a shift moves o_in in
            ctx.set(pe.a_in.last, 1)
            await ctx.tick()
            assert ctx.get(pe.o_out) == int(wrap(np.array([total]), acc)[0])
            ctx.set(pe.a_in.last, 0)
            ctx.set(pe.o_in, 12345 - tile)
            ctx.set(pe.o_shift, 1)
            await ctx.tick()
            ctx.set(pe.o_shift, 0)
            assert ctx.get(pe.o_out) == 12345 - tile

    _run(pe, tb)


# ----------------------------------------------------------------------------- tiny array
def _run_array(dataflow, rows, cols, n, m, count, seed, *, width=8, acc=32, **kw):
    dut = SparseArray(rows=rows, cols=cols, n=n, m=m, width=width, acc_width=acc, dataflow=dataflow)
    tiles = random_tiles(seed, count, dataflow=dataflow, rows=rows, cols=cols, n=n, m=m,
                         width=width, steps=(1, 7))
    bench = TileBench(tiles, dataflow=dataflow, rows=rows, cols=cols, n=n, m=m, width=width,
                      acc_width=acc, seed=seed, **kw)

    async def tb(ctx):
        for _ in range(50 * count + 100):
            if bench.done:
                return
            ins = bench.inputs()
            ctx.set(dut.act.valid, ins["act_valid"])
            ctx.set(dut.act.payload.as_value(), ins["act_payload"])
            if dataflow == "ws":
                ctx.set(dut.load.valid, ins["load_valid"])
                ctx.set(dut.load.payload.as_value(), ins["load_payload"])
            bench.observe(ctx.get(dut.act.ready), ctx.get(dut.load.ready) if dataflow == "ws" else 0,
                          ctx.get(dut.out.valid), ctx.get(dut.out.payload.as_value()))
            await ctx.tick()

    _run(dut, tb)
    assert bench.done, f"seed {seed}: output incomplete"
    assert not bench.report.errors, "\n".join(bench.report.errors)
    return bench.report


@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_array_bit_and_cycle_exact_on_amaranth_sim(dataflow):
    """A 2x3 array, back-to-back tiles (values, latency and interval) — seed printed on failure."""
    rep = _run_array(dataflow, 2, 3, 2, 4, count=8, seed=21)
    assert rep.tiles_checked == 8
    assert rep.intervals_checked >= 6


def test_array_with_input_stalls_on_amaranth_sim():
    rep = _run_array("ws", 3, 2, 1, 4, count=6, seed=22, act_stall=0.3, load_stall=0.3)
    assert rep.tiles_checked == 6


#: Shapes that break power-of-two and square assumptions, on Amaranth's simulator (seconds each):
#: 1-wide arrays (1×C, R×1), odd N, non-power-of-two M, accumulators from 16 to 64 bits,
#: 16-bit operands.  The 16×16 arrays run on Icarus (`tests/rtl/test_cocotb_array.py`).
ARRAYS = [
    ("ws", 1, 4, 3, 8, 8, 16),
    ("ws", 4, 1, 2, 3, 16, 64),
    ("ws", 3, 2, 5, 5, 8, 33),
    ("os", 5, 1, 3, 6, 8, 24),
    ("os", 1, 3, 7, 8, 16, 64),
    ("os", 3, 2, 2, 3, 8, 16),
    ("os", 6, 7, 3, 8, 8, 17),  # the held one-step tile of issue #12 (interval 12, not 7)
]


@pytest.mark.parametrize("dataflow, rows, cols, n, m, width, acc", ARRAYS,
                         ids=[f"{a[0]}_{a[1]}x{a[2]}_{a[3]}of{a[4]}_w{a[5]}_acc{a[6]}" for a in ARRAYS])
def test_array_odd_shapes_on_amaranth_sim(dataflow, rows, cols, n, m, width, acc):
    rep = _run_array(dataflow, rows, cols, n, m, count=10, seed=31 + rows * 7 + cols + n,
                     width=width, acc=acc)
    assert rep.tiles_checked == 10
