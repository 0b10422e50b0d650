"""The two contracts between the SAT simulator and the RTL of the sparse MAC array.

Both are pure functions of a tile; the SimPy model (`archsim.sat.model`) charges exactly
`tile_timing` for every tile it runs, and the cocotb testbenches in ``tests/rtl`` check that the
Amaranth circuit (`rtl.array`) produces `golden_*` bit for bit in exactly `tile_timing` cycles.

The array
---------
``rows × cols`` PEs.  Each PE holds ``P`` multipliers and sees an activation *window* of ``W``
values per step.  A PE stores ``P`` weights with their ``ceil(log2 W)``-bit positions in the
window; per step it selects the ``P`` activations by mux, multiplies, and reduces them in an adder
tree.  An N:M pattern with ``g = min(P // N, W // M)`` groups per PE uses a window of ``g·M``
values and ``g·N`` weights; dense mode uses the same ``P`` multipliers on a window of ``P``
consecutive values with identity positions.  The RTL is the case ``P = N``, ``W = M``.

Functional contract (integers, two's-complement accumulators of ``acc_bits``)
--------------------------------------------------------------------------------
* WS (weight stationary): PE ``(r, c)`` holds ``w[r, c, :]`` / ``idx[r, c, :]``; step ``t``
  feeds row ``r`` the window ``a[t, r, :]``; output ``y[t, c] = Σ_r Σ_p w[r,c,p]·a[t,r,idx[r,c,p]]``.
* OS (output stationary): step ``t`` feeds row ``r`` the window ``a[t, r, :]`` and column ``c`` the
  weights ``w[t, c, :]`` / ``idx[t, c, :]``; PE ``(r, c)`` accumulates
  ``y[r, c] = Σ_t Σ_p w[t,c,p]·a[t,r,idx[t,c,p]]``.

Timing contract (cycles, for ``acc_latency_cycles = 1`` as in the RTL)
-----------------------------------------------------------------------
A tile of stream length ``T`` occupies the array's input for ``interval_cycles`` (the next
tile may start right after: weights of the next WS tile are shifted into shadow registers, one
PE row per cycle, while this one streams; OS results drain through double-buffered output
registers while the next tile streams), and its last output appears ``latency_cycles`` after its
first input was accepted (both counted so that a tile with first input on cycle 0 and last output
on cycle L-1 has latency L).  The constants below are the circuit's (see ``rtl/array.py``).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from workloads.errors import InputError

if TYPE_CHECKING:  # numpy only for the functional contract: timing alone must start fast
    import numpy as np

__all__ = [
    "TileTiming",
    "tile_timing",
    "golden_ws",
    "golden_os",
    "wrap",
    "IO_LATENCY_CYCLES",
]

Dataflow = Literal["ws", "os"]

#: Register stages outside the PE grid on the path first input -> output (input register and
#: output register of the array).  Fixed by the circuit in ``rtl/array.py``.
IO_LATENCY_CYCLES = 2


@dataclass(frozen=True)
class TileTiming:
    """Cycles of one tile in the array: input occupancy and first-input-to-last-output latency."""

    interval_cycles: int
    latency_cycles: int


def tile_timing(
    dataflow: Dataflow,
    *,
    rows: int,
    cols: int,
    stream_len: int,
    acc_latency_cycles: int = 1,
    interleave: int = 1,
) -> TileTiming:
    """Exact cycles of one tile (see module docstring).

    ``stream_len`` is the number of input steps ``T``.  ``acc_latency_cycles`` is the
    accumulator's adder pipeline depth: an OS PE can update the same accumulator only every
    ``acc_latency_cycles`` cycles, so ``interleave`` independent output tiles are interleaved
    step by step (interleave mapping); each of the tile's steps then costs
    ``max(interleave, acc_latency) / interleave`` cycles.  WS accumulates down the columns
    through pipelined adders and is unaffected, except that a tile shorter than the adder
    pipeline waits for it.

    >>> tile_timing("ws", rows=4, cols=4, stream_len=16)
    TileTiming(interval_cycles=16, latency_cycles=25)
    """
    for name, v in (("rows", rows), ("cols", cols), ("stream_len", stream_len),
                    ("acc_latency_cycles", acc_latency_cycles), ("interleave", interleave)):
        if not isinstance(v, numbers.Integral) or v < 1:  # int and numpy integers
            raise InputError(f"tile_timing: {name} must be an integer >= 1, got {v!r}")
    fill_drain = rows + cols - 1 + IO_LATENCY_CYCLES
    if dataflow == "ws":
        # Weights for the next tile shift in one row per cycle: hidden if T >= rows.
        interval = max(stream_len, rows, acc_latency_cycles)
        latency = stream_len + fill_drain
    elif dataflow == "os":
        per_round = max(interleave, acc_latency_cycles)
        steps = -(-stream_len * per_round // interleave)
        # Results drain one row per cycle from the output registers: hidden if T >= rows.
        # The bottom row's result leaves in the drain's first cycle, so the drain adds rows - 1.
        interval = max(steps, rows)
        latency = steps + fill_drain + rows - 1
    else:
        raise InputError(f"tile_timing: dataflow must be 'ws' or 'os', got {dataflow!r}")
    return TileTiming(int(interval), int(latency))


def wrap(x: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement wrap of int64 values to ``bits`` bits (what a ``bits``-wide register holds)."""
    import numpy as np

    if bits >= 64:
        return x.astype(np.int64)
    mask = (1 << bits) - 1
    x = x.astype(np.int64) & mask
    return np.where(x >= (1 << (bits - 1)), x - (1 << bits), x).astype(np.int64)


def _check(acts: np.ndarray, w: np.ndarray, idx: np.ndarray) -> None:
    if w.shape != idx.shape:
        raise InputError(f"golden: weights {w.shape} and indices {idx.shape} differ")
    if idx.size and (idx.min() < 0 or idx.max() >= acts.shape[-1]):
        raise InputError(f"golden: an index is outside the window of {acts.shape[-1]}")


def golden_ws(acts: np.ndarray, w: np.ndarray, idx: np.ndarray, *, acc_bits: int = 64) -> np.ndarray:
    """WS tile outputs ``y[T, C]`` from ``acts[T, R, W]``, ``w[R, C, P]``, ``idx[R, C, P]``."""
    import numpy as np

    acts = np.asarray(acts, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    idx = np.asarray(idx, dtype=np.int64)
    _check(acts, w, idx)
    T, R, W = acts.shape
    if w.shape[0] != R:
        raise InputError(f"golden_ws: weights have {w.shape[0]} rows, activations {R}")
    C = w.shape[1]
    # Scatter the P weights of each PE into a dense (R*W) x C matrix, then one matmul.
    dense = np.zeros((R, W, C), dtype=np.int64)
    r_i, c_i, _ = np.indices(w.shape)
    np.add.at(dense, (r_i, idx, c_i), w)
    return wrap(acts.reshape(T, R * W) @ dense.reshape(R * W, C), acc_bits)


def golden_os(acts: np.ndarray, w: np.ndarray, idx: np.ndarray, *, acc_bits: int = 64) -> np.ndarray:
    """OS tile outputs ``y[R, C]`` from ``acts[T, R, W]``, ``w[T, C, P]``, ``idx[T, C, P]``."""
    import numpy as np

    acts = np.asarray(acts, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    idx = np.asarray(idx, dtype=np.int64)
    _check(acts, w, idx)
    T, R, W = acts.shape
    if w.shape[0] != T:
        raise InputError(f"golden_os: weights have {w.shape[0]} steps, activations {T}")
    C = w.shape[1]
    dense = np.zeros((T, W, C), dtype=np.int64)
    t_i, c_i, _ = np.indices(w.shape)
    np.add.at(dense, (t_i, idx, c_i), w)
    # y[r, c] = sum_t sum_j acts[t, r, j] * dense[t, j, c]
    y = np.einsum("trj,tjc->rc", acts, dense, optimize=True)
    return wrap(y, acc_bits)
