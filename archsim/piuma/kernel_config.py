"""The SpGEMM kernels' software parameters and the streaming driver's block size (``spgemm:``
and ``stream:`` sections of a ``kind: piuma`` config).  These are choices of the kernel's
programmer and of the simulator, not hardware: defaults are assumptions, stated here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from archsim.config import StrictModel

__all__ = ["SpgemmKernelConfig", "StreamConfig"]


class SpgemmKernelConfig(StrictModel):
    """Row-wise hash tables (`dataflow.piuma.hashtable`, `dataflow.piuma.spgemm`).

    ``hash``: ``multiplicative`` (Knuth) or ``mod`` (low bits of the column id).
    ``probing``: ``robin-hood`` (linear probing, Robin Hood insertion).
    ``load_factor``: the table is sized for ``min(products, columns) / load_factor`` keys.
    ``table_fraction``: share of each core's scratchpad used for tables.
    ``capacity_policy``: ``wait`` (tables share the core's table area; a thread waits for room)
    or ``passes`` (a fixed share per thread; rows too big run in column passes).
    ``table_sizing``: ``bound`` (tables sized from ``min(products, columns)``, known before the
    row runs) or ``symbolic`` (a first pass counts the row's distinct columns in an
    ``n_cols``-bit scratchpad bitmap, re-reading its B indices; tables sized from that count).
    Defaults are assumptions (a common software choice), not taken from a source.
    """

    hash: Literal["multiplicative", "mod"] = "multiplicative"
    probing: Literal["robin-hood"] = "robin-hood"
    load_factor: float = Field(0.5, gt=0, le=0.9)
    table_fraction: float = Field(1.0, gt=0, le=1)
    capacity_policy: Literal["wait", "passes"] = "wait"
    table_sizing: Literal["bound", "symbolic"] = "bound"


class StreamConfig(StrictModel):
    """Streaming driver: about ``block_runs`` memory runs per block of a phase (memory knob;
    the blocks are built, simulated and dropped one after another)."""

    block_runs: int = Field(1 << 22, ge=1)
