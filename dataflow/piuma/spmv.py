"""SpMV schedules y = A·x for the PIUMA-like fabric (the four variants of the PIUMA paper's Table I).

One task = a chunk of consecutive work items, about ``nnz / (threads · tasks_per_thread)`` of
them (at least 16, and at most ``scratchpad_bytes / (8 · threads_per_core)``, so that every
thread of a core can hold its gathered ``x`` in the scratchpad at once; this bound acts from
about R-MAT s21 with the default fabric): the items are, in CSR order, each row's pointer followed by its nonzeros,
so hub rows of power-law graphs are split.  Per task the thread streams the row pointers of its
rows (each pointer read once: ``rows + 1`` words), the column indices and the values of its
nonzeros (contiguous in CSR), gathers ``x[col]`` for every nonzero and writes ``y`` for its
rows (a row split over several tasks adds its partial sums to ``y`` with remote atomics).  The
variants differ only in how each access is made:

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

**Loop order.**  A task's accesses are ordered as the CSR loop makes them (row pointer, then
per nonzero its index, value and ``x[col]``, then the row's ``y``): the matrix streams are cut
into cache-line pieces (line-aligned, so no line is fetched twice) placed before the gathers
they feed.  Both simulation levels see that order (the access level replays it request by
request; the fast level spreads a task's demands evenly over it, which this order approximates).

Task ``t`` holds items ``[ceil(t·target), ceil((t+1)·target))`` of the item sequence (row ``r``'s
pointer is item ``indptr[r] + r``), so the plan is O(rows) and any set of tasks is built on its
own (`SpmvPlan.block`), in O(its nonzeros), for the streaming driver.  Under ``dma`` a task's
gathered ``x`` values occupy ``8 · nnz`` bytes of the scratchpad while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from dataflow.piuma.common import Layout, RunBuilder, expand_ranges, make_program, new_counters
from dataflow.piuma.numeric import spmv_numeric
from dataflow.piuma.program import ATOMIC, CACHED, DMA, READ, UNCACHED, WRITE, FabricShape, Program
from workloads.errors import InputError

__all__ = ["SpmvCosts", "SpmvPlan", "build_spmv", "plan_spmv", "SPMV_DATAFLOWS"]

SPMV_DATAFLOWS = ("base", "cached", "dma", "cache-all")


@dataclass(frozen=True)
class SpmvCosts:
    task_nnz: int = 0  # items per task; 0 = about nnz / (threads * tasks_per_thread), >= 16
    tasks_per_thread: int = 8
    instr_per_row: int = 4
    instr_per_nnz: int = 4  # load index, load value, load x, multiply-add
    instr_per_nnz_dma: int = 3  # load value, load x from scratchpad, multiply-add
    instr_per_task: int = 6


class SpmvPlan:
    """SpMV planned over the whole matrix; `block` builds the program of a set of tasks."""

    kernel = "spmv"
    phases = ("spmv",)

    def __init__(self, A: sp.csr_array, dataflow: str, shape: FabricShape, costs: SpmvCosts) -> None:
        self.A, self.dataflow, self.shape, self.costs = A, dataflow, shape, costs
        n = A.shape[0]
        lay = Layout()
        self.a_ptr = lay.alloc("A.ptr", n + 1)
        self.a_idx = lay.alloc("A.idx", A.nnz)
        self.a_val = lay.alloc("A.val", A.nnz)
        self.x_base = lay.alloc("x", A.shape[1])
        self.y_base = lay.alloc("y", n)
        self.lay = lay
        self.a_len = np.diff(A.indptr).astype(np.int64)
        self.item_of_row = A.indptr[:-1].astype(np.int64) + np.arange(n, dtype=np.int64)  # the pointer item
        self.n_items = n + A.nnz
        # automatic size: at most what lets every thread of a core hold its gathered x in the
        # scratchpad at once (8 bytes per nonzero), so that DMA threads never wait for room
        fit = max(16.0, shape.scratchpad_bytes / (8.0 * shape.threads_per_core))
        self.target = float(costs.task_nnz) or min(max(16.0, A.nnz / (shape.threads * costs.tasks_per_thread)), fit)
        nt = int(np.floor((self.n_items - 1) / self.target)) + 1 if self.n_items else 0
        self.task_start = np.ceil(np.arange(nt + 1) * self.target).astype(np.int64)
        self.task_start[-1] = self.n_items
        self.weight = [np.diff(self.task_start).astype(np.float64)]
        self.stats = {"flops": float(A.nnz), "nnz_a": float(A.nnz), "rows": float(n)}

    def n_tasks(self, phase: int = 0) -> int:
        return int(self.weight[0].size)

    def est_runs(self, phase: int = 0) -> float:
        return float(self.A.nnz + 4 * self.n_tasks())

    def block(self, phase: int, tasks: np.ndarray, emit=None) -> tuple[Program, list]:
        """Program of ``tasks`` (global ids, ascending; task ``t`` of the program is ``tasks[t]``)."""
        A, costs, df = self.A, self.costs, self.dataflow
        tasks = np.asarray(tasks, np.int64)
        nt = tasks.size
        s, e = self.task_start[tasks], self.task_start[tasks + 1]
        # rows touched by each task: the rows whose items intersect [s, e)
        r0 = np.searchsorted(self.item_of_row, s, side="right") - 1
        r1 = np.searchsorted(self.item_of_row, e - 1, side="right") - 1
        npc = r1 - r0 + 1
        tr = np.repeat(np.arange(nt, dtype=np.int64), npc)  # (task, row) pieces
        rr = expand_ranges(r0, npc)
        ps, pe = np.repeat(s, npc), np.repeat(e, npc)
        first_nz = self.item_of_row[rr] + 1
        lo = np.maximum(first_nz, ps) - first_nz
        hi = np.minimum(first_nz + self.a_len[rr], pe) - first_nz
        cnt = np.maximum(hi - lo, 0)
        p0 = A.indptr[rr] + lo
        has_ptr = self.item_of_row[rr] >= ps
        whole = cnt == self.a_len[rr]
        mat_mode = UNCACHED if df == "base" else CACHED
        runs = RunBuilder(nt)
        # one stream of row pointers per task (ptr[r0 .. r1 + 1], each read once), one stream each
        # of indices and values (its nonzeros are contiguous in CSR)
        n_hp = np.bincount(tr[has_ptr], minlength=nt)
        first_hp = np.full(nt, -1, np.int64)
        hp_rows = rr[has_ptr]
        hp_t = tr[has_ptr]
        if hp_t.size:
            first_idx = np.r_[0, np.flatnonzero(hp_t[1:] != hp_t[:-1]) + 1]
            first_hp[hp_t[first_idx]] = hp_rows[first_idx]
        t_hp = np.flatnonzero(n_hp)
        wpl = max(1, self.shape.cache_line_bytes // 8)
        nnz_t = np.bincount(tr, weights=cnt, minlength=nt).astype(np.int64)
        t_first = np.r_[0, np.cumsum(npc)[:-1]] if nt else np.zeros(0, np.int64)
        t_p0 = p0[t_first] if nt else np.zeros(0, np.int64)
        n_rows = A.shape[0]
        # loop position of a run = item index (row r's pointer: item_of_row[r]; nonzero p of
        # row r: p + r + 1); stream pieces come just before the first item they feed
        ptr_task, ptr_addr, ptr_len = self._pieces(t_hp, first_hp[t_hp], n_hp[t_hp] + 1, wpl, self.a_ptr)
        prow = np.minimum(ptr_addr - self.a_ptr, n_rows - 1)
        runs.add(ptr_task, ptr_addr, ptr_len, READ, mat_mode, pos=self.item_of_row[prow] - 0.5)
        tt = np.arange(nt)
        for base, mode, off in ((self.a_idx, DMA if df == "dma" else mat_mode, 0.25), (self.a_val, mat_mode, 0.2)):
            s_task, s_addr, s_len = self._pieces(tt, t_p0, nnz_t, wpl, base)
            nz = s_addr - base
            row = np.searchsorted(A.indptr, nz, side="right") - 1
            runs.add(s_task, s_addr, s_len, READ, mode, pos=nz + row + 1 - off)
        x_mode = {"base": UNCACHED, "cached": UNCACHED, "dma": DMA, "cache-all": CACHED}[df]
        e_task = np.repeat(tr, cnt)
        e_idx = expand_ranges(p0, cnt)
        e_row = np.repeat(rr, cnt)
        runs.add(e_task, self.x_base + A.indices[e_idx].astype(np.int64), 1, READ, x_mode, pos=e_idx + e_row + 1)
        y_pos = self.item_of_row[rr] + self.a_len[rr] + 0.5
        runs.add(tr[whole], self.y_base + rr[whole], 1, WRITE, UNCACHED if df == "base" else CACHED, pos=y_pos[whole])
        runs.add(tr[~whole], self.y_base + rr[~whole], 1, ATOMIC, UNCACHED, pos=y_pos[~whole])
        rows_t = np.bincount(tr, minlength=nt).astype(np.int64)
        acc = new_counters(nt, self.shape.sp_banks)
        if df == "dma":
            acc["dma_cmds"] += 1
            acc["sp_writes"] += nnz_t  # the DMA engine deposits x[col] in the scratchpad
            acc["sp_reads"] += nnz_t
            acc["sp_table_bytes"] += np.minimum(8 * nnz_t, self.shape.scratchpad_bytes)
            acc["instr"] += costs.instr_per_task + rows_t * costs.instr_per_row + nnz_t * costs.instr_per_nnz_dma
        else:
            acc["instr"] += costs.instr_per_task + rows_t * costs.instr_per_row + nnz_t * costs.instr_per_nnz
        stats = {"split_rows": float((~whole).sum())}
        prog = make_program("spmv", df, self.phases, np.zeros(nt), self.weight[0][tasks], runs, acc, self.lay, stats)
        return prog, []


    @staticmethod
    def _pieces(task: np.ndarray, first: np.ndarray, length: np.ndarray, wpl: int, base: int):
        """Cut runs ``[base + first, base + first + length)`` of ``task`` at cache-line
        boundaries (absolute word addresses multiple of ``wpl``): (task, addr, len) per piece."""
        lo = base + np.asarray(first, np.int64)
        hi = lo + np.asarray(length, np.int64)
        keep = hi > lo
        task, lo, hi = np.asarray(task, np.int64)[keep], lo[keep], hi[keep]
        n = -(-hi // wpl) - lo // wpl
        t = np.repeat(task, n)
        k = expand_ranges(np.zeros(n.size, np.int64), n)
        start = np.maximum((np.repeat(lo // wpl, n) + k) * wpl, np.repeat(lo, n))
        end = np.minimum((np.repeat(lo // wpl, n) + k + 1) * wpl, np.repeat(hi, n))
        return t, start, end - start


def plan_spmv(A, dataflow: str, shape: FabricShape, costs: SpmvCosts = SpmvCosts()) -> SpmvPlan:
    if dataflow not in SPMV_DATAFLOWS:
        raise InputError(f"dataflow: unknown SpMV dataflow {dataflow!r}; expected one of {', '.join(SPMV_DATAFLOWS)}")
    if costs.task_nnz < 0:
        raise InputError(f"task_nnz: must be >= 0, got {costs.task_nnz}")
    A = sp.csr_array(A)
    if not A.has_canonical_format:
        A = sp.csr_array(A, copy=True)
        A.sum_duplicates()
        A.sort_indices()
    return SpmvPlan(A, dataflow, shape, costs)


def build_spmv(
    A, x: np.ndarray, dataflow: str, shape: FabricShape, costs: SpmvCosts = SpmvCosts()
) -> tuple[Program, np.ndarray]:
    """The whole schedule of y = A·x for ``dataflow`` (one block) and the numeric y."""
    plan = plan_spmv(A, dataflow, shape, costs)
    x = np.asarray(x)
    if x.ndim != 1 or x.shape[0] != plan.A.shape[1]:
        raise InputError(f"x: dimension mismatch for A·x: A is {plan.A.shape[0]}x{plan.A.shape[1]}, x has {x.shape[0] if x.ndim == 1 else x.shape} entries")
    prog, _ = plan.block(0, np.arange(plan.n_tasks()))
    return prog, spmv_numeric(plan.A, x)
