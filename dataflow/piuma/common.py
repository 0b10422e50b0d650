"""Building blocks shared by the PIUMA dataflows (public, so no module imports another's privates).

* `Layout`: bump allocator of the global word address space.
* `RunBuilder`: collects runs of many tasks as arrays, then orders them by task.
* `chunk`, `group_first_last`, `task_target`: cutting work items into tasks.
* `new_counters`, `make_program`: per-task counters and the `Program` they end up in.
* `time_slices`: cuts an assignment of tasks to threads into blocks that each hold about the
  same share of every thread's (or queue's) work, so that blocks are consumed in simulated time
  order and can be built, simulated and dropped one after another (`archsim.piuma.model`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dataflow.piuma.partition import Assignment
from dataflow.piuma.program import Program

__all__ = [
    "Layout",
    "RunBuilder",
    "chunk",
    "group_first_last",
    "task_target",
    "new_counters",
    "make_program",
    "expand_ranges",
    "Slice",
    "time_slices",
]


def expand_ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + n)`` for every (s, n), vectorised."""
    lens = np.asarray(lens, dtype=np.int64)
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    excl = np.cumsum(lens) - lens
    return np.repeat(np.asarray(starts, dtype=np.int64) - excl, lens) + np.arange(total, dtype=np.int64)


class Layout:
    """Bump allocator of the global word address space (arrays aligned to cache lines)."""

    def __init__(self, align_words: int = 8) -> None:
        self.top = 0
        self.align = align_words
        self.regions: dict[str, tuple[int, int]] = {}

    def alloc(self, name: str, words: int) -> int:
        base = -(-self.top // self.align) * self.align
        self.regions[name] = (base, int(words))
        self.top = base + int(words)
        return base


class RunBuilder:
    """Collects runs of many tasks as lists of arrays, then concatenates them in task order.

    Each `add` appends runs given as arrays (task, addr, len) with one kind and mode; `build`
    sorts all runs stably by task (so within a task, runs keep the order they were added), or,
    when every `add` gave ``pos`` (the run's place in its task's loop), by task then ``pos``.
    """

    def __init__(self, n_tasks: int) -> None:
        self.n_tasks = n_tasks
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int, int]] = []

    def add(self, task, addr, length, kind: int, mode: int, pos=None) -> None:
        task = np.asarray(task, dtype=np.int64)
        addr = np.broadcast_to(np.asarray(addr, dtype=np.int64), task.shape)
        length = np.broadcast_to(np.asarray(length, dtype=np.int64), task.shape)
        keep = length > 0
        if pos is not None:
            pos = np.broadcast_to(np.asarray(pos, dtype=np.float64), task.shape)[keep]
        self.parts.append((task[keep], addr[keep], length[keep], kind, mode, pos))

    def build(self):
        if not self.parts:
            z = np.zeros(0, np.int64)
            return np.zeros(self.n_tasks + 1, np.int64), z, z, z.astype(np.uint8), z.astype(np.uint8)
        task = np.concatenate([p[0] for p in self.parts])
        addr = np.concatenate([p[1] for p in self.parts])
        length = np.concatenate([p[2] for p in self.parts])
        kind = np.concatenate([np.full(p[0].shape, p[3], np.uint8) for p in self.parts])
        mode = np.concatenate([np.full(p[0].shape, p[4], np.uint8) for p in self.parts])
        by_pos = all(p[5] is not None for p in self.parts)
        pos = np.concatenate([p[5] for p in self.parts]) if by_pos else None
        self.parts = []
        order = np.lexsort((pos, task)) if by_pos else np.argsort(task, kind="stable")
        task = task[order]
        ptr = np.zeros(self.n_tasks + 1, np.int64)
        np.cumsum(np.bincount(task, minlength=self.n_tasks), out=ptr[1:])
        return ptr, addr[order], length[order], kind[order], mode[order]


def chunk(weight: np.ndarray, target: float, force: np.ndarray | None = None) -> np.ndarray:
    """Task id of each item when items (in order) are cut into chunks of about ``target`` weight
    (``force[i]`` starts a new chunk at item ``i``)."""
    if weight.size == 0:
        return np.zeros(0, np.int64)
    excl = np.cumsum(weight) - weight
    blk = (excl // max(target, 1.0)).astype(np.int64)
    cut = np.r_[True, blk[1:] != blk[:-1]]
    if force is not None:
        cut |= force
    return np.cumsum(cut) - 1


def task_target(total: float, threads: int, tasks_per_thread: int, lo: float, hi: float) -> float:
    """Work per task: about ``total / (threads · tasks_per_thread)``, clipped to ``[lo, hi]``."""
    return float(np.clip(total / (threads * tasks_per_thread), lo, hi))


def group_first_last(task: np.ndarray, key: np.ndarray):
    """Index of the first and last item of each run of equal (task, key) in item order."""
    if task.size == 0:
        z = np.zeros(0, np.int64)
        return z, z
    new = np.r_[True, (task[1:] != task[:-1]) | (key[1:] != key[:-1])]
    first = np.flatnonzero(new)
    last = np.r_[first[1:] - 1, task.size - 1]
    return first, last


def new_counters(n_tasks: int, banks: int) -> dict[str, np.ndarray]:
    z = lambda: np.zeros(n_tasks, np.int64)  # noqa: E731
    return {
        "instr": z(),
        "sp_reads": z(),
        "sp_writes": z(),
        "sp_atomics": z(),
        "dma_cmds": z(),
        "sp_table_bytes": z(),
        "banks": np.zeros((n_tasks, banks), np.int64),
    }


def make_program(kernel, dataflow, phases, phase, weight, runs: RunBuilder, acc, layout, stats, core=None) -> Program:
    ptr, addr, length, kind, mode = runs.build()
    return Program(
        kernel=kernel,
        dataflow=dataflow,
        phases=tuple(phases),
        phase=np.asarray(phase, np.int64),
        weight=np.asarray(weight, np.int64),
        run_ptr=ptr,
        run_addr=addr,
        run_len=length,
        run_kind=kind,
        run_mode=mode,
        instr=acc["instr"],
        sp_reads=acc["sp_reads"],
        sp_writes=acc["sp_writes"],
        sp_atomics=acc["sp_atomics"],
        dma_cmds=acc["dma_cmds"],
        sp_atomic_banks=acc["banks"],
        sp_table_bytes=acc["sp_table_bytes"],
        core=None if core is None else np.asarray(core, np.int64),
        layout=dict(layout.regions) if isinstance(layout, Layout) else dict(layout),
        stats=stats,
    )


@dataclass(frozen=True)
class Slice:
    """One block of an assignment: the global ids of its tasks, and how threads take them.

    Static assignments: thread ``t`` runs ``tasks[thread_ptr[t]:thread_ptr[t+1]]`` in order.
    Dynamic: ``thread_ptr`` is None, ``tasks`` is the queue order and ``queue_of_task`` the
    queue of each (``None`` = the global queue, else the queue of core ``c``).
    """

    tasks: np.ndarray
    thread_ptr: np.ndarray | None
    queue_of_task: np.ndarray | None = None


def time_slices(assignment: Assignment, weight: np.ndarray, n_blocks: int) -> list[Slice]:
    """Cut ``assignment`` into ``n_blocks`` slices; slice ``b`` holds, of every thread's task
    list (or every queue), the tasks whose cumulative weight falls in its ``b``-th ``1/n_blocks``.

    Threads run their slices one after another, so the blocks are needed in (about) simulated
    time order; with ``n_blocks == 1`` the one slice is the whole assignment.
    """
    tasks = assignment.tasks
    w = np.maximum(np.asarray(weight, np.float64)[tasks], 1.0) if tasks.size else np.zeros(0)
    if assignment.thread_ptr is not None:
        group = np.repeat(np.arange(assignment.threads), np.diff(assignment.thread_ptr))
    else:
        group = assignment.queue_of_task if assignment.queue_of_task is not None else np.zeros(tasks.size, np.int64)
        group = group - group.min() if group.size else group
    if n_blocks <= 1 or tasks.size == 0:
        sl = np.zeros(tasks.size, np.int64)
    else:
        order = np.argsort(group, kind="stable")
        g, ws = group[order], w[order]
        cum = np.cumsum(ws)
        start = np.r_[True, g[1:] != g[:-1]]
        seg_first = np.maximum.accumulate(np.where(start, np.arange(g.size), 0))
        before = cum[seg_first] - ws[seg_first]
        seg_total = np.zeros(g.size)
        last = np.r_[np.flatnonzero(start)[1:] - 1, g.size - 1]
        seg_total_vals = cum[last] - before[np.flatnonzero(start)]
        seg_total = np.repeat(seg_total_vals, np.diff(np.r_[np.flatnonzero(start), g.size]))
        excl = cum - ws - before
        s_sorted = np.minimum((excl * n_blocks / seg_total).astype(np.int64), n_blocks - 1)
        sl = np.empty(tasks.size, np.int64)
        sl[order] = s_sorted
    out = []
    for b in range(max(n_blocks, 1)):
        m = sl == b
        if assignment.thread_ptr is not None:
            ptr = np.zeros(assignment.threads + 1, np.int64)
            np.cumsum(np.bincount(group[m], minlength=assignment.threads), out=ptr[1:])
            out.append(Slice(tasks[m], ptr))
        else:
            q = assignment.queue_of_task
            out.append(Slice(tasks[m], None, None if q is None else q[m]))
    return out
