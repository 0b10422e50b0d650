"""Per-thread programs for the PIUMA-like fabric, as plain data (struct of arrays).

A `Program` is the schedule of one sparse kernel.  Its unit of work is a **task**: a chunk of
the kernel's work items (pieces of rows of A, of columns of A in the outer product's multiply
phase, of nonzeros for SpMV; see the builders), sized so that each thread gets about
``tasks_per_thread`` of them.  A task is the simulator's unit of scheduling (one SimPy event),
and it is a sequence of memory operations at 8-byte-word granularity, stored compactly as
**runs**: a run
is ``len`` consecutive 8-byte words starting at word address ``addr`` of the global address
space, all accessed the same way (``kind``: read / write / remote atomic; ``mode``: uncached
8-byte accesses, through the pipeline's cache, or by the core's DMA engine).  A random gather
is a run of length 1.  Scratchpad work and instructions are per-task counters (scratchpad
addresses do not matter to the model except for the bank they hit, so the bank histogram of the
task's scratchpad atomics is given explicitly).

Everything is numpy arrays, so a schedule for millions of operations is a few arrays, never a
Python object per operation.  A `Program` is JSON round-trippable (`to_dict` / `from_dict`)
for small inputs.

Address space: word addresses (1 word = 8 bytes).  The placement of the arrays is recorded in
``layout`` (name -> (first word, words)).  How words map to memory controllers (interleaved or
block-partitioned) is the hardware's business (`archsim.piuma`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

__all__ = [
    "Program",
    "FabricShape",
    "READ",
    "WRITE",
    "ATOMIC",
    "UNCACHED",
    "CACHED",
    "DMA",
    "WORD_BYTES",
]

WORD_BYTES = 8

#: run kinds
READ, WRITE, ATOMIC = 0, 1, 2
#: run modes: plain 8-byte accesses, through the pipeline's cache (line fills), by DMA
UNCACHED, CACHED, DMA = 0, 1, 2


@dataclass(frozen=True)
class FabricShape:
    """The architecture's shape as the dataflow needs it (plain values, no archsim objects).

    ``cores`` is the total over all dies; ``threads_per_core`` counts every hardware thread
    (MTP threads + STPs); ``scratchpad_bytes`` is per core; ``sp_banks`` the banks of one
    scratchpad; ``cache_line_bytes`` the line of the pipelines' data caches.
    """

    cores: int = 8
    threads_per_core: int = 66
    scratchpad_bytes: int = 4 << 20
    sp_banks: int = 16
    cache_line_bytes: int = 64

    @property
    def threads(self) -> int:
        return self.cores * self.threads_per_core


@dataclass(frozen=True)
class Program:
    """One kernel's schedule: tasks made of runs of 8-byte memory operations.

    Task arrays (length ``n_tasks``): ``phase`` (phases run one after another with a barrier;
    tasks are sorted by phase), ``weight`` (work estimate used by nnz-balanced partitioning),
    ``run_ptr`` (runs of task t are ``run_ptr[t]:run_ptr[t+1]``), ``instr`` (instructions the
    thread issues, memory operations included), ``sp_reads``, ``sp_writes``, ``sp_atomics``,
    ``dma_cmds`` (DMA commands the thread issues and waits for), ``sp_atomic_banks`` (shape
    ``(n_tasks, sp_banks)``: scratchpad atomics per bank; reads and writes are spread evenly).

    ``core`` (optional): the core a task must run on; ``None`` means any thread may run any task.
    ``sp_table_bytes`` (optional): scratchpad bytes the task's hash table occupies while it
    runs (allocated from its core's scratchpad when it starts, freed when it ends).

    Run arrays (length ``n_runs``): ``run_addr`` (first word), ``run_len`` (words),
    ``run_kind`` (READ / WRITE / ATOMIC), ``run_mode`` (UNCACHED / CACHED / DMA).
    """

    kernel: str
    dataflow: str
    phases: tuple[str, ...]
    phase: np.ndarray
    weight: np.ndarray
    run_ptr: np.ndarray
    run_addr: np.ndarray
    run_len: np.ndarray
    run_kind: np.ndarray
    run_mode: np.ndarray
    instr: np.ndarray
    sp_reads: np.ndarray
    sp_writes: np.ndarray
    sp_atomics: np.ndarray
    dma_cmds: np.ndarray
    sp_atomic_banks: np.ndarray
    core: np.ndarray | None = None
    sp_table_bytes: np.ndarray | None = None
    layout: dict[str, tuple[int, int]] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def n_tasks(self) -> int:
        return int(self.phase.shape[0])

    @property
    def n_runs(self) -> int:
        return int(self.run_addr.shape[0])

    @property
    def total_words(self) -> int:
        """Words of the address space in use (the highest allocated word + 1)."""
        return max((a + n for a, n in self.layout.values()), default=0)

    def phase_tasks(self, p: int) -> np.ndarray:
        """Task ids of phase ``p`` (tasks are sorted by phase)."""
        lo, hi = np.searchsorted(self.phase, [p, p + 1])
        return np.arange(lo, hi, dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                out[f.name] = {"dtype": str(v.dtype), "shape": list(v.shape), "data": v.ravel().tolist()}
            elif isinstance(v, dict):
                out[f.name] = {k: list(x) if isinstance(x, tuple) else x for k, x in v.items()}
            elif isinstance(v, tuple):
                out[f.name] = list(v)
            else:
                out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Program":
        kw: dict[str, Any] = {}
        for f in fields(cls):
            v = d[f.name]
            if isinstance(v, dict) and set(v) == {"dtype", "shape", "data"}:
                kw[f.name] = np.asarray(v["data"], dtype=v["dtype"]).reshape(v["shape"])
            elif v is None:
                kw[f.name] = None
            elif f.name == "layout":
                kw[f.name] = {k: tuple(x) for k, x in v.items()}
            elif f.name == "phases":
                kw[f.name] = tuple(v)
            else:
                kw[f.name] = v
        return cls(**kw)
