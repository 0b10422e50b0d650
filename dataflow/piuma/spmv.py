"""SpMV schedules y = A·x for the PIUMA-like fabric (the four variants of the PIUMA paper's Table I).

One task = a chunk of consecutive nonzeros (about ``nnz / (threads · tasks_per_thread)``, so
hub rows of power-law graphs are split).  Per task the thread streams the row pointers of its
rows (each pointer read once: ``rows + 1`` words), the column indices and the values of its
nonzeros (contiguous in CSR), gathers ``x[col]`` for every nonzero and writes ``y`` for its
rows (a row split over several tasks adds its partial sums to ``y`` with remote atomics).  The variants differ only in how each access is made:

=============  ===================  ===================  ==================================
variant        A (ptr, idx, val)    x gathers            y writes
=============  ===================  ===================  ==================================
``base``       8-byte, uncached     8-byte, uncached     8-byte, posted
``cached``     through the cache    8-byte, uncached     write-combined
``dma``        through the cache    DMA gather into SP;  write-combined
               (indices read by     thread reads x from
               the DMA engine)      the scratchpad
``cache-all``  through the cache    through the cache    write-combined
=============  ===================  ===================  ==================================

"Through the cache" means 64-byte line fills (one round trip per line, 8 words of DRAM
traffic), which is a win for the sequential matrix streams and a loss for the random ``x``
gathers (8 words fetched for 1 used, unless the line is still in the small cache).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from dataflow.piuma.numeric import expand_ranges, spmv_numeric
from dataflow.piuma.program import ATOMIC, CACHED, DMA, READ, UNCACHED, WRITE, FabricShape, Program, _Layout, _RunBuilder
from dataflow.piuma.spgemm import _chunk, _group_first_last, _new_acc, _program
from workloads.errors import InputError

__all__ = ["SpmvCosts", "build_spmv", "SPMV_DATAFLOWS"]

SPMV_DATAFLOWS = ("base", "cached", "dma", "cache-all")


@dataclass(frozen=True)
class SpmvCosts:
    task_nnz: int = 0  # nonzeros per task; 0 = about nnz / (threads * tasks_per_thread), >= 16
    tasks_per_thread: int = 8
    instr_per_row: int = 4
    instr_per_nnz: int = 4  # load index, load value, load x, multiply-add
    instr_per_nnz_dma: int = 3  # load value, load x from scratchpad, multiply-add
    instr_per_task: int = 6


def build_spmv(
    A, x: np.ndarray, dataflow: str, shape: FabricShape, costs: SpmvCosts = SpmvCosts()
) -> tuple[Program, np.ndarray]:
    """The schedule of y = A·x for ``dataflow`` and the numeric y."""
    if dataflow not in SPMV_DATAFLOWS:
        raise InputError(f"dataflow: unknown SpMV dataflow {dataflow!r}; expected one of {', '.join(SPMV_DATAFLOWS)}")
    A = sp.csr_array(A, copy=True)
    A.sum_duplicates()
    A.sort_indices()
    x = np.asarray(x)
    if x.ndim != 1 or x.shape[0] != A.shape[1]:
        raise InputError(f"x: dimension mismatch for A·x: A is {A.shape[0]}x{A.shape[1]}, x has {x.shape[0] if x.ndim == 1 else x.shape} entries")
    if costs.task_nnz < 0:
        raise InputError(f"task_nnz: must be >= 0, got {costs.task_nnz}")
    y = spmv_numeric(A, x)
    n = A.shape[0]
    lay = _Layout()
    a_ptr = lay.alloc("A.ptr", n + 1)
    a_idx = lay.alloc("A.idx", A.nnz)
    a_val = lay.alloc("A.val", A.nnz)
    x_base = lay.alloc("x", A.shape[1])
    y_base = lay.alloc("y", n)
    # tasks: chunks of about `target` items (a row pointer or a nonzero), cut anywhere;
    # a row split over tasks gets its partial sums added to y with remote atomics
    a_len = np.diff(A.indptr).astype(np.int64)
    rows = np.arange(n, dtype=np.int64)
    target = float(costs.task_nnz) or max(16.0, A.nnz / (shape.threads * costs.tasks_per_thread))
    # items = rows (weight 1 each, for the row pointer) + nonzeros, in order
    item_row = np.r_[rows, np.repeat(rows, a_len)]
    item_kind = np.r_[np.zeros(n, np.int8), np.ones(A.nnz, np.int8)]
    order = np.lexsort((item_kind, item_row))
    item_row, item_kind = item_row[order], item_kind[order]
    w = np.ones(item_row.size)
    task_item = _chunk(w, target)
    n_tasks = int(task_item[-1]) + 1 if task_item.size else 0
    f, l = _group_first_last(task_item, item_row)
    tr, rr = task_item[f], item_row[f]
    nz_before = np.cumsum(item_kind) - item_kind  # nonzeros before each item
    p0 = np.maximum(A.indptr[rr], nz_before[f])
    cnt = (nz_before[l] + item_kind[l]) - p0
    whole = (cnt == a_len[rr])
    mat_mode = UNCACHED if dataflow == "base" else CACHED
    runs = _RunBuilder(n_tasks)
    has_ptr = item_kind[f] == 0
    # a task walks consecutive rows: one stream of row pointers (ptr[r0 .. r1 + 1], each read
    # once) and one stream each of indices and values (its nonzeros are contiguous in CSR)
    hp_t, first_hp = np.unique(tr[has_ptr], return_index=True)
    n_hp = np.bincount(tr[has_ptr], minlength=n_tasks)[hp_t]
    runs.add(hp_t, a_ptr + rr[has_ptr][first_hp], n_hp + 1, READ, mat_mode)
    t_ids, first_g = np.unique(tr, return_index=True)
    nnz_task = np.bincount(tr, weights=cnt, minlength=n_tasks).astype(np.int64)[t_ids]
    runs.add(t_ids, a_idx + p0[first_g], nnz_task, READ, DMA if dataflow == "dma" else mat_mode)
    runs.add(t_ids, a_val + p0[first_g], nnz_task, READ, mat_mode)
    x_mode = {"base": UNCACHED, "cached": UNCACHED, "dma": DMA, "cache-all": CACHED}[dataflow]
    e_task = np.repeat(tr, cnt)
    e_idx = expand_ranges(p0, cnt)
    runs.add(e_task, x_base + A.indices[e_idx].astype(np.int64), 1, READ, x_mode)
    runs.add(tr[whole], y_base + rr[whole], 1, WRITE, UNCACHED if dataflow == "base" else CACHED)
    runs.add(tr[~whole], y_base + rr[~whole], 1, ATOMIC, UNCACHED)
    nnz_t = np.bincount(tr, weights=cnt, minlength=n_tasks).astype(np.int64)
    rows_t = np.bincount(tr, minlength=n_tasks).astype(np.int64)
    acc = _new_acc(n_tasks, shape.sp_banks)
    if dataflow == "dma":
        acc["dma_cmds"] += 1
        acc["sp_writes"] += nnz_t  # the DMA engine deposits x[col] in the scratchpad
        acc["sp_reads"] += nnz_t
        acc["instr"] += costs.instr_per_task + rows_t * costs.instr_per_row + nnz_t * costs.instr_per_nnz_dma
    else:
        acc["instr"] += costs.instr_per_task + rows_t * costs.instr_per_row + nnz_t * costs.instr_per_nnz
    stats = {"flops": float(A.nnz), "nnz_a": float(A.nnz), "rows": float(n)}
    stats["split_rows"] = float((~whole).sum())
    prog = _program("spmv", dataflow, ("spmv",), np.zeros(n_tasks), nnz_t + rows_t, runs, acc, lay, stats)
    return prog, y
