"""Cut a real integer GEMM into the array tiles of the timing/functional contract.

These are the operands a testbench drives into the RTL (and the simulator's golden model
checks): for ``out = A @ B`` with ``A[m, k]`` activations and ``B[k, n]`` an N:M-pruned weight
(groups of M along ``k``), on an array of ``rows × cols`` PEs with ``P`` multipliers and a window
of ``W`` activations:

* WS tile: ``acts[T, R, W]``, ``weights[R, C, P]``, ``indices[R, C, P]``; PE row ``r`` covers
  ``e`` consecutive reduction elements (``e = g·M`` in N:M mode with ``g`` groups per PE, ``P``
  in dense mode with identity indices); output ``y[T, C]`` is a partial sum of
  ``out[m0:m0+T, n0:n0+C]`` over ``k0 .. k0 + R·e``.
* OS tile: ``acts[T, R, W]``, ``weights[T, C, P]``, ``indices[T, C, P]``; step ``t`` covers
  reduction elements ``k0 + t·e .. k0 + (t+1)·e``; output ``y[R, C]`` is the same partial sum of
  ``out[m0:m0+R, n0:n0+C]``.

Unused PE slots hold weight 0 with index 0; edge tiles are zero-padded.  `assemble` adds the
tiles' outputs back into the full product, so ``assemble(tiles, outs) == A @ B`` checks that the
tiling covers every MAC exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dataflow.contract import Dataflow
from dataflow.sat import ArrayShape, pe_elements_per_step
from workloads.errors import InputError
from workloads.sparsity import NM, nm_mask

__all__ = ["Tile", "cut_tiles", "assemble"]


@dataclass(frozen=True)
class Tile:
    """Operands of one array tile and where its output lands in the GEMM result."""

    dataflow: str
    acts: np.ndarray
    weights: np.ndarray
    indices: np.ndarray
    m0: int
    n0: int
    k0: int

    @property
    def stream_len(self) -> int:
        return int(self.acts.shape[0])


def _pe_slots(b: np.ndarray, nm: NM, shape: ArrayShape, e: int):
    """Weights/indices per (reduction chunk of e, column): arrays [k/e, n, P]."""
    k, n = b.shape
    P = shape.multipliers_per_pe
    chunks = k // e
    w = np.zeros((chunks, n, P), dtype=np.int64)
    idx = np.zeros((chunks, n, P), dtype=np.int64)
    if nm.is_dense:
        w[:, :, :e] = b.reshape(chunks, e, n).transpose(0, 2, 1)
        idx[:, :, :e] = np.arange(e)
        return w, idx
    g = e // nm.m
    # Kept positions per group of M along k (the N:M structure of b), lower index first.
    grp = b.reshape(k // nm.m, nm.m, n)
    keep = nm_mask(grp, nm, axis=1) if not _is_exact_nm(grp, nm) else grp != 0
    pos = np.argsort(~keep, axis=1, kind="stable")[:, : nm.n, :]  # [groups, N, n]
    vals = np.take_along_axis(grp, pos, axis=1)
    pos = pos.reshape(chunks, g, nm.n, n) + (np.arange(g) * nm.m)[None, :, None, None]
    vals = vals.reshape(chunks, g, nm.n, n)
    w[:, :, : g * nm.n] = vals.reshape(chunks, g * nm.n, n).transpose(0, 2, 1)
    idx[:, :, : g * nm.n] = pos.reshape(chunks, g * nm.n, n).transpose(0, 2, 1)
    return w, idx


def _is_exact_nm(grp: np.ndarray, nm: NM) -> bool:
    return bool(((grp != 0).sum(axis=1) <= nm.n).all())


def cut_tiles(
    a: np.ndarray,
    b: np.ndarray,
    nm: NM,
    shape: ArrayShape,
    *,
    dataflow: Dataflow = "ws",
    max_stream: int | None = None,
) -> list[Tile]:
    """All tiles of ``a @ b`` (``b`` must satisfy N:M along ``k``; it is not re-pruned).

    ``max_stream`` caps a tile's stream length (rows of ``a`` for WS, steps for OS).
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise InputError(f"cut_tiles: shapes {a.shape} and {b.shape} do not multiply")
    m, k = a.shape
    n = b.shape[1]
    if not nm.is_dense:
        if k % nm.m:
            raise InputError(f"cut_tiles: M={nm.m} does not divide k={k}")
        if not _is_exact_nm(b.reshape(k // nm.m, nm.m, n), nm):
            raise InputError(f"cut_tiles: b has more than N={nm.n} non-zeros in a group of M={nm.m}")
    e = pe_elements_per_step(shape, nm)
    R, C, W = shape.rows, shape.cols, shape.window
    kpad = -(-k // e) * e
    a = np.pad(a, ((0, 0), (0, kpad - k)))
    b = np.pad(b, ((0, kpad - k), (0, 0)))
    w_all, i_all = _pe_slots(b, nm, shape, e)  # [kpad/e, n, P]
    chunks = kpad // e
    a_win = np.zeros((m, chunks, W), dtype=np.int64)
    a_win[:, :, :e] = a.reshape(m, chunks, e)
    tiles: list[Tile] = []
    if dataflow == "ws":
        ts = max_stream or m
        for c0 in range(0, chunks, R):
            rows = min(R, chunks - c0)
            for n0 in range(0, n, C):
                cols = min(C, n - n0)
                w = np.zeros((R, C, w_all.shape[2]), dtype=np.int64)
                ix = np.zeros_like(w)
                w[:rows, :cols] = w_all[c0:c0 + rows, n0:n0 + cols]
                ix[:rows, :cols] = i_all[c0:c0 + rows, n0:n0 + cols]
                for m0 in range(0, m, ts):
                    t = min(ts, m - m0)
                    acts = np.zeros((t, R, W), dtype=np.int64)
                    acts[:, :rows] = a_win[m0:m0 + t, c0:c0 + rows]
                    tiles.append(Tile("ws", acts, w, ix, m0, n0, c0 * e))
    elif dataflow == "os":
        ts = max_stream or chunks
        for m0 in range(0, m, R):
            rows = min(R, m - m0)
            for n0 in range(0, n, C):
                cols = min(C, n - n0)
                for c0 in range(0, chunks, ts):
                    t = min(ts, chunks - c0)
                    acts = np.zeros((t, R, W), dtype=np.int64)
                    acts[:, :rows] = a_win[m0:m0 + rows, c0:c0 + t].transpose(1, 0, 2)
                    w = np.zeros((t, C, w_all.shape[2]), dtype=np.int64)
                    ix = np.zeros_like(w)
                    w[:, :cols] = w_all[c0:c0 + t, n0:n0 + cols]
                    ix[:, :cols] = i_all[c0:c0 + t, n0:n0 + cols]
                    tiles.append(Tile("os", acts, w, ix, m0, n0, c0 * e))
    else:
        raise InputError(f"cut_tiles: dataflow must be 'ws' or 'os', got {dataflow!r}")
    return tiles


def assemble(tiles: list[Tile], outputs: list[np.ndarray], m: int, n: int) -> np.ndarray:
    """Sum tile outputs (WS: ``y[T, C]``; OS: ``y[R, C]``) into the ``m × n`` product."""
    out = np.zeros((m, n), dtype=np.int64)
    for tile, y in zip(tiles, outputs, strict=True):
        y = np.asarray(y, dtype=np.int64)
        rows = min(y.shape[0], m - tile.m0)
        cols = min(y.shape[1], n - tile.n0)
        out[tile.m0:tile.m0 + rows, tile.n0:tile.n0 + cols] += y[:rows, :cols]
    return out
