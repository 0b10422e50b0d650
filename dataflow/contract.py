"""The two contracts of the sparse MAC array: its tile timing and its functional golden.

One small module (numpy only) that `dataflow` (the scheduler's estimate), `archsim` (the SimPy
model charges exactly this timing for every tile it runs) and `rtl` (the Verilog export's timing
note and the cocotb checker `rtl.bench`) all import; nobody restates the formulas.  The cocotb
testbenches in ``tests/rtl`` check that the Amaranth circuit (`rtl.array`) produces `golden_ws` /
`golden_os` bit for bit in exactly `tile_timing` cycles, holds included.

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

Timing contract (cycles; the RTL is the case ``acc_latency_cycles = interleave = 1``)
----------------------------------------------------------------------------------------
A tile of stream length ``T`` streams for ``S`` cycles (``S = T`` except in OS with an adder
pipeline, see `os_stream_cycles`).  Times count from the cycle the tile is *offered*: the previous
tile's interval has elapsed (or the array was idle for ``gap_cycles`` more) and its operands are
there.

* **WS**: interval ``max(T, rows, acc_latency)`` (the next tile's weights shift into shadow
  registers one PE row per cycle while this one streams), latency ``T + rows + cols - 1 + IO``.
* **OS**: interval ``max(S, rows)`` (results drain one row per cycle through double-buffered
  output registers while the next tile streams), latency ``S + rows + cols - 1 + IO + rows - 1``.
* **OS short-tile hold** (the one exception): the circuit accepts a tile's *last* step only
  ``>= rows`` cycles after the previous tile's last step, so two drains never collide.  A tile
  of ``S < rows`` cycles offered right after a tile whose accepted span (first to last input,
  inclusive) was ``prev_span`` is held ``max(0, min(prev_span, rows) - S - gap_cycles)`` cycles
  (`os_hold_cycles`).  For ``S >= 2`` the held step is the last one: the tile's span becomes
  ``S + hold`` (``<= rows``, so its interval is unchanged) and its output comes ``hold`` cycles
  later; the following tiles of the same length are held the same (the drains stay ``rows``
  apart).  For ``S = 1`` the only step is also the first: the tile *starts* ``hold`` cycles late
  (interval and latency both grow by ``hold``) and the next one-step tile is not held.  E.g. on a
  6-row array a one-step tile after a 7-step tile starts 12 cycles after it, not 7.

``latency_cycles`` counts from the cycle the tile is offered to its last output inclusive (a
tile offered and accepted on cycle 0 whose last output is valid on cycle L-1 has latency L).
``IO = IO_LATENCY_CYCLES``: the array's input and output registers (``rtl/array.py``).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # numpy only for the functional contract: timing alone must start fast
    import numpy as np

from workloads.errors import InputError

__all__ = [
    "Dataflow",
    "DATAFLOWS",
    "IO_LATENCY_CYCLES",
    "TileTiming",
    "RunTiming",
    "tile_timing",
    "run_timing",
    "os_stream_cycles",
    "os_hold_cycles",
    "tile_occupancy_cycles",
    "timing_formulas",
    "golden_ws",
    "golden_os",
    "wrap",
]

Dataflow = Literal["ws", "os"]
DATAFLOWS: tuple[str, ...] = ("ws", "os")

#: Register stages outside the PE grid on the path first input -> output (input register and
#: output register of the array).  Fixed by the circuit in ``rtl/array.py``.
IO_LATENCY_CYCLES = 2


@dataclass(frozen=True)
class TileTiming:
    """Cycles of one tile in the array, counted from the cycle it is offered.

    ``interval_cycles``: until the next tile may be offered; ``latency_cycles``: until its last
    output (inclusive); ``hold_cycles``: cycles a step of this tile waits for the OS drain chain;
    ``start_cycles``: of those, the ones before its first input is accepted (a one-step tile's
    hold, else 0); ``span_cycles``: first to last accepted input, inclusive (pass it as the next
    tile's ``prev_span``).
    """

    interval_cycles: int
    latency_cycles: int
    hold_cycles: int = 0
    start_cycles: int = 0
    span_cycles: int = 0


@dataclass(frozen=True)
class RunTiming:
    """A run of equal back-to-back tiles: input occupancy, the drain after the last tile's
    interval until its last output, and the last tile's span (the next tile's ``prev_span``)."""

    occupancy_cycles: int
    drain_cycles: int
    last_span_cycles: int


def _check_pos(name: str, v) -> None:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
        raise InputError(f"tile_timing: {name} must be an integer >= 1, got {v!r}")


def _check_dataflow(dataflow) -> None:
    if dataflow not in DATAFLOWS:
        raise InputError(f"tile_timing: dataflow must be 'ws' or 'os', got {dataflow!r}")


def os_stream_cycles(stream_len: int, acc_latency_cycles: int = 1, interleave: int = 1) -> int:
    """Cycles an OS tile of ``stream_len`` steps streams: an accumulator takes a new operand
    only every ``acc_latency_cycles``, so ``interleave`` independent output tiles are
    interleaved step by step (interleave mapping); each step costs
    ``max(interleave, acc_latency) / interleave`` cycles."""
    per_round = max(interleave, acc_latency_cycles)
    return -(-stream_len * per_round // interleave)


def os_hold_cycles(*, rows: int, stream_cycles: int, prev_span: int | None,
                   gap_cycles: int = 0) -> int:
    """Cycles an OS tile streaming ``stream_cycles`` is held behind a tile of accepted span
    ``prev_span`` (None: no tile before it since reset) offered ``gap_cycles`` after that
    tile's interval ended: ``max(0, min(prev_span, rows) - stream_cycles - gap_cycles)``."""
    if prev_span is None:
        return 0
    return max(0, min(int(prev_span), rows) - stream_cycles - int(gap_cycles))


def tile_timing(
    dataflow: Dataflow,
    *,
    rows: int,
    cols: int,
    stream_len: int,
    acc_latency_cycles: int = 1,
    interleave: int = 1,
    prev_span: int | None = None,
    gap_cycles: int = 0,
) -> TileTiming:
    """Exact cycles of one tile (see module docstring).

    ``stream_len`` is the number of input steps ``T``.  ``prev_span`` / ``gap_cycles`` (OS only)
    describe the tile before it; leave ``prev_span`` None for the first tile after reset or an
    idle array.  WS accumulates down the columns through pipelined adders and is unaffected by
    the adder latency, except that a tile shorter than the adder pipeline waits for it.

    >>> tile_timing("ws", rows=4, cols=4, stream_len=16)
    TileTiming(interval_cycles=16, latency_cycles=25, hold_cycles=0, start_cycles=0, span_cycles=16)
    >>> tile_timing("os", rows=6, cols=7, stream_len=1, prev_span=7)  # held 5 cycles
    TileTiming(interval_cycles=11, latency_cycles=25, hold_cycles=5, start_cycles=5, span_cycles=1)
    """
    for name, v in (("rows", rows), ("cols", cols), ("stream_len", stream_len),
                    ("acc_latency_cycles", acc_latency_cycles), ("interleave", interleave)):
        _check_pos(name, v)
    _check_dataflow(dataflow)
    if prev_span is not None:
        _check_pos("prev_span", prev_span)
    if gap_cycles < 0:
        raise InputError(f"tile_timing: gap_cycles must be >= 0, got {gap_cycles!r}")
    fill_drain = rows + cols - 1 + IO_LATENCY_CYCLES
    if dataflow == "ws":
        return TileTiming(int(max(stream_len, rows, acc_latency_cycles)),
                          int(stream_len + fill_drain), 0, 0, int(stream_len))
    s = os_stream_cycles(stream_len, acc_latency_cycles, interleave)
    hold = os_hold_cycles(rows=rows, stream_cycles=s, prev_span=prev_span, gap_cycles=gap_cycles)
    start = hold if s == 1 else 0
    span = s + hold - start
    # The bottom row's result leaves in the drain's first cycle, so the drain adds rows - 1.
    return TileTiming(int(start + max(span, rows)), int(start + span + fill_drain + rows - 1),
                      int(hold), int(start), int(span))


def run_timing(
    dataflow: Dataflow,
    *,
    rows: int,
    cols: int,
    stream_len: int,
    tiles: int,
    acc_latency_cycles: int = 1,
    interleave: int = 1,
    prev_span: int | None = None,
    gap_cycles: int = 0,
    overlap: bool = True,
) -> RunTiming:
    """``tiles`` equal tiles back to back (a block step of a schedule), the first offered
    ``gap_cycles`` after the interval of a tile of span ``prev_span`` ended.

    Equal to chaining `tile_timing` tile by tile (after the second tile every tile's timing
    repeats; a test checks this).  ``overlap=False``: each tile pays its weight load (WS:
    ``rows`` cycles) and its full latency, nothing overlapped and nothing held (SCALE-Sim's
    fold-by-fold timing).
    """
    _check_pos("tiles", tiles)
    kw = dict(rows=rows, cols=cols, stream_len=stream_len, acc_latency_cycles=acc_latency_cycles,
              interleave=interleave)
    if not overlap:
        t = tile_timing(dataflow, **kw)
        return RunTiming(tiles * tile_occupancy_cycles(dataflow, overlap=False, **kw), 0,
                         t.span_cycles)
    first = tile_timing(dataflow, prev_span=prev_span, gap_cycles=gap_cycles, **kw)
    if tiles == 1:
        return RunTiming(first.interval_cycles, first.latency_cycles - first.interval_cycles,
                         first.span_cycles)
    rest = tile_timing(dataflow, prev_span=first.span_cycles, **kw)
    return RunTiming(first.interval_cycles + (tiles - 1) * rest.interval_cycles,
                     rest.latency_cycles - rest.interval_cycles, rest.span_cycles)


def tile_occupancy_cycles(dataflow: Dataflow, *, rows: int, cols: int, stream_len: int,
                          acc_latency_cycles: int = 1, interleave: int = 1,
                          overlap: bool = True) -> int:
    """Input occupancy of one tile in a steady run of equal tiles (no hold): its interval with
    overlapped tiles, else its weight load (WS: ``rows`` cycles) plus its full latency."""
    t = tile_timing(dataflow, rows=rows, cols=cols, stream_len=stream_len,
                    acc_latency_cycles=acc_latency_cycles, interleave=interleave)
    if overlap:
        return t.interval_cycles
    return (rows if dataflow == "ws" else 0) + t.latency_cycles


def timing_formulas(dataflow: Dataflow, *, rows: int, cols: int) -> dict[str, str]:
    """The timing of one RTL instance (``acc_latency_cycles = 1``) as formulas in ``T`` (steps)
    and ``prev_span`` — what `rtl.export` writes next to the Verilog.  A test evaluates them
    against `tile_timing`."""
    _check_pos("rows", rows)
    _check_pos("cols", cols)
    _check_dataflow(dataflow)
    fill = rows + cols - 1 + IO_LATENCY_CYCLES
    if dataflow == "ws":
        return {"interval_cycles": f"max(T, {rows})", "latency_cycles": f"T + {fill}",
                "hold_cycles": "0", "contract": "dataflow.contract.tile_timing"}
    return {"interval_cycles": f"max(T, {rows}) + (hold if T == 1 else 0)",
            "latency_cycles": f"T + {fill + rows - 1} + hold",
            "hold_cycles": f"max(0, min(prev_span, {rows}) - T)",
            "contract": "dataflow.contract.tile_timing"}


# --------------------------------------------------------------------------------------------
# Functional contract


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
