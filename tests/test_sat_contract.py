"""The timing and functional contracts, and the tiles cut from real GEMMs."""

import numpy as np
import pytest

from dataflow.contract import golden_os, golden_ws, tile_timing, wrap
from dataflow.sat import ArrayShape
from dataflow.tiles import assemble, cut_tiles
from workloads.errors import InputError
from workloads.sparsity import DENSE, NM, nm_mask

WEIGHTS = "models/weights/minilm_l6_layer0_q.npy"  # in the shared test data (tests/conftest.py)


def _ref_ws(a, w, idx):
    T, R, _ = a.shape
    C, P = w.shape[1], w.shape[2]
    y = np.zeros((T, C), dtype=np.int64)
    for t in range(T):
        for c in range(C):
            y[t, c] = sum(w[r, c, p] * a[t, r, idx[r, c, p]] for r in range(R) for p in range(P))
    return y


def _ref_os(a, w, idx):
    T, R, _ = a.shape
    C, P = w.shape[1], w.shape[2]
    y = np.zeros((R, C), dtype=np.int64)
    for r in range(R):
        for c in range(C):
            y[r, c] = sum(w[t, c, p] * a[t, r, idx[t, c, p]] for t in range(T) for p in range(P))
    return y


@pytest.mark.parametrize("seed", range(5))
def test_golden_models_equal_loops(seed):
    rng = np.random.default_rng(seed)
    T, R, C, P, W = rng.integers(1, 6, size=5)
    W = max(W, P)
    a = rng.integers(-128, 128, (T, R, W))
    w = rng.integers(-128, 128, (R, C, P))
    idx = rng.integers(0, W, (R, C, P))
    assert np.array_equal(golden_ws(a, w, idx), _ref_ws(a, w, idx)), f"seed={seed}"
    w2 = rng.integers(-128, 128, (T, C, P))
    idx2 = rng.integers(0, W, (T, C, P))
    assert np.array_equal(golden_os(a, w2, idx2), _ref_os(a, w2, idx2)), f"seed={seed}"


def test_wrap_is_twos_complement():
    x = np.array([127, 128, -129, 255, 2**40])
    assert wrap(x, 8).tolist() == [127, -128, 127, -1, 0]


def test_golden_wraps_at_acc_width():
    a = np.full((4, 2, 2), 127)
    w = np.full((2, 1, 1), 127)
    idx = np.zeros((2, 1, 1), dtype=int)
    y = golden_ws(a, w, idx, acc_bits=16)
    assert y[0, 0] == wrap(np.array([2 * 127 * 127]), 16)[0]


def test_timing_contract_shape():
    t = tile_timing("ws", rows=8, cols=4, stream_len=100)
    assert t.interval_cycles == 100 and t.latency_cycles > 100
    # Short tiles are limited by shifting the next weights in (one row per cycle).
    assert tile_timing("ws", rows=8, cols=4, stream_len=3).interval_cycles == 8
    # Interleave mapping hides the adder latency in OS.
    slow = tile_timing("os", rows=8, cols=8, stream_len=64, acc_latency_cycles=4, interleave=1)
    fast = tile_timing("os", rows=8, cols=8, stream_len=64, acc_latency_cycles=4, interleave=4)
    assert slow.interval_cycles == 4 * fast.interval_cycles
    with pytest.raises(InputError, match="rows"):
        tile_timing("ws", rows=0, cols=4, stream_len=1)
    with pytest.raises(InputError, match="dataflow"):
        tile_timing("xs", rows=1, cols=4, stream_len=1)


CASES = [(NM(2, 8), 2, 8), (NM(1, 4), 2, 8), (NM(2, 4), 2, 8), (NM(1, 8), 2, 16),
         (NM(4, 8), 4, 8), (DENSE, 2, 8), (DENSE, 1, 1)]


@pytest.mark.parametrize("nm,P,W", CASES, ids=[f"{c[0]}-P{c[1]}W{c[2]}" for c in CASES])
@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_tiles_cover_every_mac_once(nm, P, W, dataflow):
    """Tiles of a pruned GEMM, run through the golden model, sum back to A @ B exactly."""
    rng = np.random.default_rng(7)
    shape = ArrayShape(rows=3, cols=5, multipliers_per_pe=P, window=W)
    a = rng.integers(-128, 128, (19, 48))
    b = rng.integers(-128, 128, (48, 13))
    if not nm.is_dense:
        b = b * nm_mask(b, nm, axis=0)
    tiles = cut_tiles(a, b, nm, shape, dataflow=dataflow, max_stream=5)
    gold = golden_ws if dataflow == "ws" else golden_os
    outs = [gold(t.acts, t.weights, t.indices) for t in tiles]
    assert np.array_equal(assemble(tiles, outs, 19, 13), a @ b)


def test_tiles_from_real_weights(shared_data):
    w = np.load(shared_data.path(WEIGHTS))[:64, :96]  # [out, in]; B = W^T is [in=k, out=n]
    q = np.round(w / np.abs(w).max() * 127).astype(np.int64)
    nm = NM(2, 8)
    b = (q * nm_mask(q, nm, axis=1)).T
    rng = np.random.default_rng(3)
    a = rng.integers(-128, 128, (10, 96))
    shape = ArrayShape(rows=4, cols=4, multipliers_per_pe=2, window=8)
    tiles = cut_tiles(a, b, nm, shape)
    outs = [golden_ws(t.acts, t.weights, t.indices) for t in tiles]
    assert np.array_equal(assemble(tiles, outs, 10, 64), a @ b)
    # every PE holds exactly N = 2 weight slots of its group of 8
    assert all(t.weights.shape[-1] == 2 for t in tiles)


def test_cut_tiles_rejects_unpruned_weights():
    a = np.ones((4, 8), dtype=int)
    b = np.ones((8, 4), dtype=int)
    with pytest.raises(InputError, match="non-zeros"):
        cut_tiles(a, b, NM(2, 8), ArrayShape(2, 2, 2, 8))
