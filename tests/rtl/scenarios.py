"""Tiles for the cocotb scenarios: random ones from a seed, and real MiniLM weights.

Real tiles: a MiniLM-L6 layer-0 weight (float32 ``[out, in]``, from ``../shared/data/models/
weights/``) is quantised to int8 (symmetric per tensor), N:M-pruned along the input axis (the FF
reduction axis) with `workloads.sparsity.nm_mask` / `compress`, and multiplied by seeded random
int8 activations; the GEMM is cut into array tiles by the dataflow package
(`dataflow.tiles.cut_tiles`, the same cutting the simulator's schedules use).  Each real tile
also carries numpy's matmul of the masked operands over the tile's range, and the tiles' golden
outputs must add back (`dataflow.tiles.assemble`) to numpy's full ``A @ B``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dataflow.contract import golden_os, golden_ws
from dataflow.sat import ArrayShape
from dataflow.tiles import assemble, cut_tiles
from rtl.bench import Tile, quantize_int8, random_tiles
from workloads.sparsity import NM, nm_mask

REPO = Path(__file__).resolve().parents[2]


def weights_dir() -> Path | None:
    """``../shared/data/models/weights`` next to the repo (or ``ARCHSIM_WEIGHTS_DIR``)."""
    cands = [os.environ.get("ARCHSIM_WEIGHTS_DIR"), REPO.parent / "shared/data/models/weights",
             "/work/shared/data/models/weights"]
    for c in cands:
        if c and Path(c).is_dir():
            return Path(c)
    return None


def real_tiles(cfg: dict, sc: dict) -> list[Tile]:
    wdir = weights_dir()
    if wdir is None or not (wdir / sc["weights"]).exists():
        return []
    rows, cols, n, m, width = cfg["rows"], cfg["cols"], cfg["n"], cfg["m"], cfg["width"]
    ws = cfg["dataflow"] == "ws"
    w = np.load(wdir / sc["weights"])  # float32 [out, in]
    b = quantize_int8(w).T.copy()  # [K = in, N = out], int8 values (per-tensor scale)
    nm = NM(n, m)
    b = b * nm_mask(b, nm, axis=0)  # N:M along the input (FF reduction) axis
    rng = np.random.default_rng(sc["seed"])
    lim = (1 << (width - 1)) - 1
    steps = sc.get("steps", 16)
    # A corner of the GEMM with about `count` tiles: 4 tiles along K, 6 along N (the last one
    # ragged, so zero-padded edge tiles are covered), one along M.
    k_len = 4 * (rows * m if ws else steps * m)
    b = b[: min(k_len, b.shape[0]), : 6 * cols - 1]
    m_rows = steps if ws else rows
    a = rng.integers(-lim - 1, lim + 1, size=(m_rows, b.shape[0]), dtype=np.int64)
    shape = ArrayShape(rows=rows, cols=cols, multipliers_per_pe=n, window=m)
    cut = cut_tiles(a, b, nm, shape, dataflow=cfg["dataflow"], max_stream=steps)
    golden = golden_ws if ws else golden_os
    full = assemble(cut, [golden(t.acts, t.weights, t.indices) for t in cut], *a.shape[:1], b.shape[1])
    if not np.array_equal(full, a @ b):
        raise AssertionError(f"{sc['weights']}: tiles do not add up to numpy's A @ B")
    e = m  # reduction elements per PE step (the RTL instance has P = N, W = M)
    out = []
    name = f"{sc['weights']}(int8 w, int{width} a, {nm}, seed={sc['seed']})"
    for t in cut[: sc.get("count")]:
        T = t.stream_len
        if ws:
            ref = a[t.m0:t.m0 + T, t.k0:t.k0 + rows * e] @ b[t.k0:t.k0 + rows * e, t.n0:t.n0 + cols]
            ref = np.pad(ref, ((0, 0), (0, cols - ref.shape[1])))
        else:
            ref = a[t.m0:t.m0 + rows, t.k0:t.k0 + T * e] @ b[t.k0:t.k0 + T * e, t.n0:t.n0 + cols]
            ref = np.pad(ref, ((0, rows - ref.shape[0]), (0, cols - ref.shape[1])))
        out.append(Tile(t.acts, t.weights, t.indices,
                        f"{name}[m0={t.m0}, n0={t.n0}, k0={t.k0}]", ref))
    return out


def make_tiles(cfg: dict, sc: dict) -> list[Tile]:
    """The tiles of one scenario (see `tests/rtl/test_cocotb_array.py` for the scenario keys)."""
    if sc["kind"] == "real":
        return real_tiles(cfg, sc)
    steps = tuple(sc.get("steps", (1, 24)))
    return random_tiles(sc["seed"], sc["count"], dataflow=cfg["dataflow"], rows=cfg["rows"],
                        cols=cfg["cols"], n=cfg["n"], m=cfg["m"], width=cfg["width"], steps=steps)
