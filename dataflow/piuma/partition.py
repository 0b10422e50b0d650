"""Work partitioning of a program's tasks over threads: nnz-balanced, cyclic, dynamic.

Threads are numbered core-major (thread ``t`` lives on core ``t // threads_per_core``).  Tasks
pinned to a core (`Program.core`, e.g. hash-table rows living in that core's scratchpad) are
partitioned among that core's threads only; unpinned tasks among all threads.

* ``nnz``: static; each thread gets a contiguous range of tasks with about an equal share of
  the task weight (nonzeros / products).
* ``cyclic``: static; the ``n``-th task goes to the ``n mod threads``-th thread.
* ``dynamic``: no static assignment; a thread takes the next task of a shared work queue (one
  per core for pinned tasks) when it finishes one; the simulator charges a fetch-and-add on
  the queue's counter per grab.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workloads.errors import InputError

__all__ = ["Assignment", "partition", "PARTITIONS"]

PARTITIONS = ("nnz", "cyclic", "dynamic")


@dataclass(frozen=True)
class Assignment:
    """Tasks of one phase over ``threads`` threads.

    Static: thread ``t`` runs ``tasks[thread_ptr[t]:thread_ptr[t+1]]`` in order.  Dynamic:
    ``thread_ptr`` is ``None``; ``tasks`` is the queue order, and ``queue_of_task`` is ``None``
    (one global queue) or, when tasks are pinned to cores, names the queue each task sits in
    (``c``: the queue of core ``c``, served by core ``c``'s threads only; ``-1``: the global
    queue, for the unpinned tasks among pinned ones).
    """

    mode: str
    threads: int
    tasks: np.ndarray
    thread_ptr: np.ndarray | None
    queue_of_task: np.ndarray | None = None

    def thread_tasks(self, t: int) -> np.ndarray:
        if self.thread_ptr is None:
            raise ValueError("dynamic assignment has no static per-thread task list")
        return self.tasks[self.thread_ptr[t] : self.thread_ptr[t + 1]]


def _static_owner(w: np.ndarray, threads: int, mode: str) -> np.ndarray:
    if mode == "cyclic":
        return np.arange(w.size) % threads
    w = np.maximum(w.astype(np.float64), 1.0)
    cum = np.cumsum(w) - w
    total = float(w.sum()) if w.size else 1.0
    return np.minimum((cum * threads / total).astype(np.int64), threads - 1)


def partition(
    tasks: np.ndarray,
    weight: np.ndarray,
    threads: int,
    mode: str,
    *,
    core: np.ndarray | None = None,
    threads_per_core: int | None = None,
) -> Assignment:
    """Assign ``tasks`` (ids into ``weight`` / ``core``) to ``threads`` threads."""
    if mode not in PARTITIONS:
        raise InputError(f"partition: unknown partition {mode!r}; expected one of {', '.join(PARTITIONS)}")
    if threads < 1:
        raise InputError(f"threads: must be >= 1, got {threads}")
    tasks = np.asarray(tasks, dtype=np.int64)
    weight = np.asarray(weight)
    pinned = core is not None and tasks.size > 0 and bool((np.asarray(core)[tasks] >= 0).any())
    if pinned:
        tpc = int(threads_per_core or threads)
        tcore = np.asarray(core)[tasks]
    if mode == "dynamic":
        return Assignment(mode, threads, tasks, None, tcore.astype(np.int64) if pinned else None)
    owner = np.zeros(tasks.size, np.int64)
    if not pinned:
        owner = _static_owner(weight[tasks], threads, mode)
    else:
        for c in np.unique(tcore):
            m = tcore == c
            if c < 0:
                owner[m] = _static_owner(weight[tasks[m]], threads, mode)
            else:
                owner[m] = c * tpc + _static_owner(weight[tasks[m]], tpc, mode)
    order = np.argsort(owner, kind="stable")
    ptr = np.zeros(threads + 1, np.int64)
    np.cumsum(np.bincount(owner, minlength=threads), out=ptr[1:])
    return Assignment(mode, threads, tasks[order], ptr)
