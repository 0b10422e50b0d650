"""SpGEMM schedules C = A·B for the PIUMA-like fabric: row-wise hashing, inner, outer product.

Matrices are CSR (indices and values 8-byte words, row pointers 8-byte words).  A dataflow is
*planned* once over the whole input (`plan_spgemm`: tasks, their weights, the address layout;
O(nnz(A) + rows) memory), then *built block by block* (`SpgemmPlan.block`): the program of a set
of tasks plus the part of C those tasks produce, computed by the kernel's own functional model
(`dataflow.piuma.hashtable`: the hash tables, partial-product lists or index intersections).  A
driver builds, simulates and drops the blocks one after another, so memory never holds the
products or C whole.  `build_spgemm` is the one-block convenience (whole program + whole C).

**Tasks** (the simulator's unit of scheduling, one SimPy event each) are chunks of the work
items below, cut in item order to about ``work / (threads · tasks_per_thread)`` (clipped to
``[min_task_work, max_task_work]``).  Inside a task every memory access is listed individually
(runs of consecutive words), so chunking only decides which thread does what and when.

* **rowwise-hash** (SMASH-style Gustavson): items are whole rows of A (a row is never split, so
  its hash table belongs to the one thread that runs it).  For row ``i`` the thread reads
  ``A[i, :]`` then, for every ``k``, ``B[k, :]`` (pointers uncached, index/value streams through
  the cache as line fills), and adds each product into the row's table in the scratchpad
  (`dataflow.piuma.hashtable`: named hash function, Robin Hood linear probing; one scratchpad
  atomic per product at its key's slot, plus one probe read per slot of displacement, the
  counts taken from the simulated table).  Then it scans and clears the table and writes
  ``C[i, :]`` (write-combined stream; exact zeros are not written).
  **Capacity** (`size_tables`): a table has ``next_pow2(min(flops_i, n_cols) / load_factor)``
  slots of 16 bytes (at least one per bank), sized before the row is computed from what is
  known.  All tables of a core's running threads live in its scratchpad at once.  Two policies
  (``capacity_policy``):
  ``wait`` (default): a table may use the whole table area (``scratchpad · table_fraction``);
  a thread whose row's table does not fit in what the other threads' tables leave free waits
  until enough is freed (the simulator allocates each task's ``sp_table_bytes`` from its
  core's scratchpad, first come first served), i.e. fewer rows are in flight while big rows
  run.  ``passes``: every thread owns a fixed ``1/threads_per_core`` share, so nothing ever
  waits, and a row whose table exceeds the share runs in column-range passes.  In both, a row
  whose table exceeds its cap runs in ``passes`` column ranges of width at most
  ``load_factor · cap`` columns (so no table can overflow), each pass re-reading ``A[i, :]``
  and its B rows.  ``wait`` is the default because column passes multiply the B traffic of
  exactly the heavy rows of power-law inputs, while waiting only delays them.
* **inner**: items are pieces of rows of C's structural pattern (a pattern row too large for
  one task is split into equal pieces of its candidate outputs); the pattern is found by a
  first pass of the functional model (given to the baseline for free; without it every one of
  the ``n²`` pairs would be merged).  For each piece the thread copies ``A[i, :]`` into the
  scratchpad; for every candidate output ``j`` it streams column ``j`` of B (B held as CSC)
  and intersects it with ``A[i, :]`` (merge steps = both lengths).  ``C[i, j]`` is the sum of
  the products over the intersection in ascending ``k``; only nonzero outputs are written.
  Cost: every column of B is fetched once per output in its column — the redundant fetches.
* **outer**: phase ``multiply``: items are A's CSC entries ``(k, i)``, grouped by ``k``; per
  piece of column ``k`` the thread reads that piece of column ``k`` of A and row ``k`` of B,
  reserves space in each output row's partial-product list with a remote atomic fetch-and-add
  at the controller owning the row's counter, and writes the ``(j, value)`` partial products
  there (each row's list holds its products in ascending ``k``).  Phase ``merge`` (after a
  barrier): row-wise hashing as above, with each ``(i, k)`` segment of row ``i``'s list read
  back instead of ``B[k, :]``.  Cost: 2 words written and read again per product.

All three produce C with the same additions in the same order (each output starts at 0 and
adds its products in ascending ``k``), which is also the order of scipy's SMMP kernel, so C is
bit-identical to scipy's product for float data.  C's address layout reserves
``min(flops_i, n_cols)`` entries per row (an upper bound known before the product).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp

from dataflow.piuma.common import (
    Layout,
    RunBuilder,
    chunk,
    expand_ranges,
    group_first_last,
    make_program,
    new_counters,
    task_target,
)
from dataflow.piuma.hashtable import HASHES, PROBINGS, SLOT_BYTES, RowsProduct, multiply_rows, row_groups
from dataflow.piuma.program import ATOMIC, CACHED, READ, UNCACHED, WRITE, FabricShape, Program
from workloads.errors import InputError

__all__ = [
    "SpgemmCosts",
    "SpgemmPlan",
    "OutputBlock",
    "TableSizing",
    "build_spgemm",
    "plan_spgemm",
    "size_tables",
    "SPGEMM_DATAFLOWS",
    "CAPACITY_POLICIES",
    "check_operands",
]

CAPACITY_POLICIES = ("wait", "passes")
TABLE_SIZINGS = ("bound", "symbolic")


@dataclass(frozen=True)
class SpgemmCosts:
    """Instructions per unit of work and the hash tables' software parameters."""

    instr_per_row: int = 8
    instr_per_pair: int = 6  # per (i, k): load pointers, loop setup
    instr_per_product: int = 5  # load j, load b, multiply, hash, atomic
    instr_per_probe: int = 2  # per extra slot visited: compare key, advance
    instr_per_slot_scan: int = 2
    instr_per_output: int = 3
    instr_per_merge_step: int = 3  # inner product: compare, advance, branch
    instr_per_partial: int = 4  # outer product multiply phase: multiply, two stores, loop
    hash: str = "multiplicative"
    probing: str = "robin-hood"
    load_factor: float = 0.5
    table_fraction: float = 1.0  # of the scratchpad used for hash tables
    capacity_policy: str = "wait"
    table_sizing: str = "bound"  # bound | symbolic (count the row's distinct columns first)
    tasks_per_thread: int = 8  # granularity: about this many tasks per thread
    min_task_work: int = 64
    max_task_work: int = 1 << 17

    def check(self) -> "SpgemmCosts":
        if self.hash not in HASHES:
            raise InputError(f"spgemm.hash: unknown hash {self.hash!r}; expected one of {', '.join(HASHES)}")
        if self.probing not in PROBINGS:
            raise InputError(f"spgemm.probing: unknown probing {self.probing!r}; expected one of {', '.join(PROBINGS)}")
        if self.capacity_policy not in CAPACITY_POLICIES:
            raise InputError(f"spgemm.capacity_policy: unknown policy {self.capacity_policy!r}; expected one of {', '.join(CAPACITY_POLICIES)}")
        if self.table_sizing not in TABLE_SIZINGS:
            raise InputError(f"spgemm.table_sizing: unknown sizing {self.table_sizing!r}; expected one of {', '.join(TABLE_SIZINGS)}")
        if not 0.0 < self.load_factor <= 0.9:
            raise InputError(f"spgemm.load_factor: must be in (0, 0.9], got {self.load_factor}")
        if not 0.0 < self.table_fraction <= 1.0:
            raise InputError(f"spgemm.table_fraction: must be in (0, 1], got {self.table_fraction}")
        return self


def check_operands(A, B) -> tuple[sp.csr_array, sp.csr_array]:
    """Canonical CSR copies (duplicates summed, sorted indices); shape errors are InputErrors."""
    if A.ndim != 2 or B.ndim != 2:
        raise InputError("matrix: expected 2-D matrices")
    if A.shape[1] != B.shape[0]:
        raise InputError(f"matrix: dimension mismatch for A·B: A is {A.shape[0]}x{A.shape[1]}, B is {B.shape[0]}x{B.shape[1]}")
    out = []
    for M in (A, B):
        M = sp.csr_array(M, copy=True)
        M.sum_duplicates()
        M.sort_indices()
        out.append(M)
    return out[0], out[1]


def _next_pow2(x: np.ndarray) -> np.ndarray:
    x = np.maximum(np.asarray(x, dtype=np.float64), 1.0)
    return (2.0 ** np.ceil(np.log2(x))).astype(np.int64)


def _floor_pow2(x: float) -> int:
    return 1 << int(np.floor(np.log2(max(x, 1.0))))


@dataclass(frozen=True)
class TableSizing:
    """Per row: table slots and column passes; the table area and the cap of one table (slots)."""

    slots: np.ndarray
    passes: np.ndarray
    area_slots: int
    cap_slots: int


def size_tables(flops_row: np.ndarray, n_cols: int, shape: FabricShape, costs: SpgemmCosts) -> TableSizing:
    """Table sizes and passes of every row under ``costs.capacity_policy`` (see module doc)."""
    area = _floor_pow2(shape.scratchpad_bytes * costs.table_fraction / SLOT_BYTES)
    share = _floor_pow2(area / shape.threads_per_core)
    cap = max(shape.sp_banks, area if costs.capacity_policy == "wait" else share)
    want = np.maximum(_next_pow2(np.ceil(np.minimum(flops_row, n_cols) / costs.load_factor)), shape.sp_banks)
    big = want > cap
    width = max(1, int(np.floor(costs.load_factor * cap)))  # columns per pass: <= load_factor·cap keys
    passes = np.where(big, -(-max(n_cols, 1) // width), 1).astype(np.int64)
    slots = np.minimum(want, cap).astype(np.int64)
    return TableSizing(slots, passes, area, cap)


@dataclass(frozen=True)
class OutputBlock:
    """Entries of C produced by one group of rows (COO, any order across blocks)."""

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray


@dataclass
class _Operands:
    A: sp.csr_array
    B: sp.csr_array
    a_len: np.ndarray
    b_len: np.ndarray
    flops_row: np.ndarray
    lay: Layout
    a: tuple[int, int, int]
    b: tuple[int, int, int]
    c_ptr: int
    c_idx: int
    c_val: int
    c_base: np.ndarray  # first C entry reserved for each row

    @property
    def n(self) -> int:
        return self.A.shape[0]

    @property
    def n_cols(self) -> int:
        return self.B.shape[1]


def _alloc_csr(lay: Layout, name: str, M) -> tuple[int, int, int]:
    return (
        lay.alloc(f"{name}.ptr", M.shape[0] + 1),
        lay.alloc(f"{name}.idx", M.nnz),
        lay.alloc(f"{name}.val", M.nnz),
    )


def _operands(A, B) -> _Operands:
    n = A.shape[0]
    a_len = np.diff(A.indptr).astype(np.int64)
    b_len = np.diff(B.indptr).astype(np.int64)
    flops_row = np.bincount(np.repeat(np.arange(n, dtype=np.int64), a_len), weights=b_len[A.indices], minlength=n).astype(np.int64)
    lay = Layout()
    a = _alloc_csr(lay, "A", A)
    b = _alloc_csr(lay, "B", B)
    ub = np.minimum(flops_row, B.shape[1])
    c_ptr = lay.alloc("C.ptr", n + 1)
    c_idx = lay.alloc("C.idx", int(ub.sum()))
    c_val = lay.alloc("C.val", int(ub.sum()))
    return _Operands(A, B, a_len, b_len, flops_row, lay, a, b, c_ptr, c_idx, c_val, np.cumsum(ub) - ub)


def _add_stat(stats: dict, key: str, v) -> None:
    stats[key] = stats.get(key, 0.0) + float(v)


def _run_rows(ops: _Operands, rows: np.ndarray, slots: np.ndarray, passes: np.ndarray, hash_fn: str, banks: int,
              keep_keys: bool, emit: Callable | None, exact_load: float | None = None) -> RowsProduct | None:
    """The functional model over ``rows`` (ascending), group by group; each group's C entries go
    to ``emit`` at once (never held for the whole block).  Returns the per-row results
    concatenated (C entries dropped unless ``keep_keys``)."""
    parts = []
    for g in row_groups(rows, ops.flops_row, ops.n_cols):
        r = multiply_rows(ops.A, ops.B, g, slots, passes, hash_fn, banks, keep_keys=keep_keys, exact_load=exact_load)
        if emit is not None:
            emit(OutputBlock(np.repeat(g, np.diff(r.c_ptr)), r.c_idx, r.c_val))
        if not keep_keys:
            # drop C's entries (fresh empty arrays: a view would keep them alive)
            r = RowsProduct(**{**r.__dict__, "c_idx": np.empty(0, r.c_idx.dtype), "c_val": np.empty(0, r.c_val.dtype)})
        parts.append(r)
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    cat = lambda name: np.concatenate([getattr(p, name) for p in parts])  # noqa: E731

    def cat_ptr(name):
        lens = np.concatenate([np.diff(getattr(p, name)) for p in parts])
        out = np.zeros(lens.size + 1, np.int64)
        np.cumsum(lens, out=out[1:])
        return out

    kw = {f: cat(f) for f in ("rows", "keys", "slots", "products", "probe_reads", "collisions", "max_disp", "overflow", "max_keys_per_table", "c_idx", "c_val")}
    kw["bank_hist"] = np.concatenate([p.bank_hist for p in parts], axis=0)
    kw["c_ptr"] = cat_ptr("c_ptr")
    if keep_keys:
        kw.update(key_ptr=cat_ptr("key_ptr"), key_col=cat("key_col"), key_matches=cat("key_matches"), key_nz=cat("key_nz"))
    return RowsProduct(**kw)


# ---- row-wise hashing (also the outer product's merge phase) -------------------------------


@dataclass
class _HashPhase:
    """Row-wise hash accumulation over whole rows: planning and the program of a block.

    ``read_entry(runs, task, e)`` adds the runs that bring entry ``e``'s products (``B[k, :]``,
    or its partial-product segment); ``phase`` is the phase index in the program."""

    ops: _Operands
    shape: FabricShape
    costs: SpgemmCosts
    read_entry: Callable
    sizing: TableSizing = field(init=False)
    task_row_ptr: np.ndarray = field(init=False)
    weight: np.ndarray = field(init=False)
    target: float = field(init=False)

    def __post_init__(self) -> None:
        ops = self.ops
        self.sizing = size_tables(ops.flops_row, ops.n_cols, self.shape, self.costs)
        P = self.sizing.passes
        w = (P * (ops.flops_row + ops.a_len) + 1).astype(np.float64)
        c = self.costs
        self.target = task_target(float(w.sum()), self.shape.threads, c.tasks_per_thread, c.min_task_work, c.max_task_work)
        task_of_row = chunk(w, self.target)
        n_tasks = int(task_of_row[-1]) + 1 if task_of_row.size else 0
        self.task_row_ptr = np.zeros(n_tasks + 1, np.int64)
        np.cumsum(np.bincount(task_of_row, minlength=n_tasks), out=self.task_row_ptr[1:])
        self.weight = np.bincount(task_of_row, weights=w, minlength=n_tasks)

    @property
    def n_tasks(self) -> int:
        return self.task_row_ptr.size - 1

    def est_runs(self) -> float:
        return float(3 * (self.sizing.passes * (self.ops.a_len + 1)).sum() + 3 * self.ops.n)

    def build(self, tasks: np.ndarray, runs: RunBuilder, acc: dict, stats: dict, emit: Callable) -> None:
        ops, costs, sz = self.ops, self.costs, self.sizing
        cnt = self.task_row_ptr[tasks + 1] - self.task_row_ptr[tasks]
        rows = expand_ranges(self.task_row_ptr[tasks], cnt)
        lt = np.repeat(np.arange(tasks.size, dtype=np.int64), cnt)
        symbolic = costs.table_sizing == "symbolic"
        res = _run_rows(ops, rows, sz.slots, sz.passes, costs.hash, self.shape.sp_banks, False, emit,
                        costs.load_factor if symbolic else None)
        if res is None:
            return
        nt = tasks.size
        P = sz.passes[rows]
        S = res.slots
        a = ops.a_len[rows]
        c_len = np.diff(res.c_ptr)
        A = ops.A
        a_ptr, a_idx, a_val = ops.a
        # A[i, :] per pass
        rt, rr = np.repeat(lt, P), np.repeat(rows, P)
        runs.add(rt, a_ptr + rr, 2, READ, UNCACHED)
        runs.add(rt, a_idx + A.indptr[rr], ops.a_len[rr], READ, CACHED)
        runs.add(rt, a_val + A.indptr[rr], ops.a_len[rr], READ, CACHED)
        # every (i, k) entry's products, once per pass
        e = expand_ranges(A.indptr[:-1][rows], a)
        eP = np.repeat(P, a)
        self.read_entry(runs, np.repeat(np.repeat(lt, a), eP), np.repeat(e, eP))
        # the table: one atomic per product, probe reads, scan + clear, C[i, :]
        scan = S * P
        bc = lambda w: np.bincount(lt, weights=w, minlength=nt).astype(np.int64)  # noqa: E731
        acc["sp_atomics"] += bc(res.products)
        acc["sp_reads"] += bc(res.probe_reads + scan)
        acc["sp_writes"] += bc(scan)
        acc["instr"] += bc(res.products * costs.instr_per_product + res.probe_reads * costs.instr_per_probe
                           + a * P * costs.instr_per_pair + scan * costs.instr_per_slot_scan
                           + c_len * costs.instr_per_output + P * costs.instr_per_row)
        np.add.at(acc["banks"], lt, res.bank_hist)
        np.maximum.at(acc["sp_table_bytes"], lt, S * SLOT_BYTES)
        if symbolic:
            # the symbolic pass: A[i, :]'s indices and every B[k, :]'s indices once more, one
            # scratchpad bit set per product in a row bitmap (n_cols bits), then a popcount scan
            b_ptr, b_idx, _ = ops.b
            k = A.indices[e].astype(np.int64)
            ek = np.repeat(lt, a)
            runs.add(lt, a_idx + A.indptr[rows], a, READ, CACHED)
            runs.add(ek, b_ptr + k, 2, READ, UNCACHED)
            runs.add(ek, b_idx + ops.B.indptr[k], ops.b_len[k], READ, CACHED)
            words = -(-ops.n_cols // 64)
            acc["sp_writes"] += bc(res.products)
            acc["sp_reads"] += bc(np.full(rows.size, words))
            acc["instr"] += bc(res.products * 3 + a * costs.instr_per_pair + 2 * words)
            np.maximum.at(acc["sp_table_bytes"], lt, np.full(rows.size, 8 * words))
            _add_stat(stats, "symbolic_products", res.products.sum())
        runs.add(lt, ops.c_ptr + rows + 1, 1, WRITE, UNCACHED)
        runs.add(lt, ops.c_idx + ops.c_base[rows], c_len, WRITE, CACHED)
        runs.add(lt, ops.c_val + ops.c_base[rows], c_len, WRITE, CACHED)
        for key, v in (("outputs_structural", res.keys.sum()), ("nnz_c", c_len.sum()), ("hash_probe_reads", res.probe_reads.sum()),
                       ("hash_collisions", res.collisions.sum()), ("hash_overflow", res.overflow.sum()),
                       ("hash_products", res.products.sum()), ("rows_split", (P > 1).sum()),
                       ("hash_table_slots", (S * P).sum()),
                       ("extra_pass_products", ((P - 1) * ops.flops_row[rows]).sum())):
            _add_stat(stats, key, v)
        stats["hash_max_displacement"] = max(stats.get("hash_max_displacement", 0.0), float(res.max_disp.max(initial=0)))
        load = res.max_keys_per_table / np.maximum(S, 1)
        stats["hash_table_load_max"] = max(stats.get("hash_table_load_max", 0.0), float(load.max(initial=0.0)))


def _read_b_rows(ops: _Operands):
    b_ptr, b_idx, b_val = ops.b

    def read(runs, task, e):
        k = ops.A.indices[e].astype(np.int64)
        runs.add(task, b_ptr + k, 2, READ, UNCACHED)
        runs.add(task, b_idx + ops.B.indptr[k], ops.b_len[k], READ, CACHED)
        runs.add(task, b_val + ops.B.indptr[k], ops.b_len[k], READ, CACHED)

    return read


# ---- plans ---------------------------------------------------------------------------------


class SpgemmPlan:
    """A dataflow planned over the whole input; `block` builds the program of a set of tasks.

    ``phases`` (phase names), ``weight[p]`` (task weights of phase ``p``, for partitioning),
    ``stats`` (global schedule statistics; `block` adds the per-block ones to its Program)."""

    kernel = "spgemm"
    dataflow: str
    phases: tuple[str, ...]

    def __init__(self, ops: _Operands, shape: FabricShape, costs: SpgemmCosts) -> None:
        self.ops, self.shape, self.costs = ops, shape, costs
        self.stats: dict[str, float] = {"flops": float(ops.flops_row.sum()), "nnz_a": float(ops.A.nnz), "nnz_b": float(ops.B.nnz)}
        self.weight: list[np.ndarray] = []

    @property
    def out_shape(self) -> tuple[int, int]:
        return (self.ops.n, self.ops.n_cols)

    @property
    def out_dtype(self):
        return np.result_type(self.ops.A.dtype, self.ops.B.dtype)

    def n_tasks(self, phase: int) -> int:
        return int(self.weight[phase].size)

    def est_runs(self, phase: int) -> float:
        raise NotImplementedError

    def _build(self, phase: int, tasks: np.ndarray, runs: RunBuilder, acc: dict, stats: dict, emit: Callable) -> None:
        raise NotImplementedError

    def block(self, phase: int, tasks: np.ndarray, emit: Callable[[OutputBlock], None] | None = None) -> tuple[Program, list[OutputBlock]]:
        """Program of ``tasks`` (global ids of phase ``phase``, ascending; task ``t`` of the
        program is ``tasks[t]``) and the C entries they produce: handed to ``emit`` group by
        group as they are computed (then the returned list is empty), else returned."""
        tasks = np.asarray(tasks, np.int64)
        nt = tasks.size
        runs = RunBuilder(nt)
        acc = new_counters(nt, self.shape.sp_banks)
        stats: dict[str, float] = {}
        outputs: list[OutputBlock] = []
        self._build(phase, tasks, runs, acc, stats, emit if emit is not None else outputs.append)
        prog = make_program("spgemm", self.dataflow, (self.phases[phase],), np.zeros(nt), self.weight[phase][tasks],
                            runs, acc, self.ops.lay, stats)
        return prog, outputs


class _RowwisePlan(SpgemmPlan):
    dataflow = "rowwise-hash"
    phases = ("multiply",)

    def __init__(self, ops, shape, costs):
        super().__init__(ops, shape, costs)
        self.hp = _HashPhase(ops, shape, costs, _read_b_rows(ops))
        self.weight = [self.hp.weight]
        self.stats.update(task_work=self.hp.target, table_area_slots=float(self.hp.sizing.area_slots),
                          table_cap_slots=float(self.hp.sizing.cap_slots))

    def est_runs(self, phase):
        return self.hp.est_runs()

    def _build(self, phase, tasks, runs, acc, stats, emit):
        self.hp.build(tasks, runs, acc, stats, emit)


class _OuterPlan(SpgemmPlan):
    dataflow = "outer"
    phases = ("multiply", "merge")

    def __init__(self, ops, shape, costs):
        super().__init__(ops, shape, costs)
        A, B = ops.A, ops.B
        n, K = A.shape
        lay = ops.lay
        At = sp.csc_array(A)
        At.sort_indices()
        self.At = At
        self.at = _alloc_csr(lay, "Acsc", sp.csr_array((At.data, At.indices, At.indptr), shape=(K, n)))
        self.counters = lay.alloc("partials.count", n)
        self.part = lay.alloc("partials", 2 * int(ops.flops_row.sum()))
        rows = np.arange(n, dtype=np.int64)
        pair_len = ops.b_len[A.indices]
        self.pair_len = pair_len
        row_base = 2 * (np.cumsum(ops.flops_row) - ops.flops_row)
        excl = np.cumsum(pair_len) - pair_len
        within = excl - np.repeat(np.r_[excl, 0][A.indptr[:-1]], ops.a_len)
        self.off_csr = row_base[np.repeat(rows, ops.a_len)] + 2 * within  # partial-list slot of CSR entry e
        pos = sp.csc_array(sp.csr_array((np.arange(A.nnz, dtype=np.float64) + 1, A.indices, A.indptr), shape=A.shape))
        pos.sort_indices()
        self.csr_of_csc = (pos.data - 1).astype(np.int64)
        self.e_k = np.repeat(np.arange(K, dtype=np.int64), np.diff(At.indptr))
        w1 = (ops.b_len[self.e_k] + 1).astype(np.float64)
        c = costs
        self.target1 = task_target(float(w1.sum()), shape.threads, c.tasks_per_thread, c.min_task_work, c.max_task_work)
        task1 = chunk(w1, self.target1)
        nt1 = int(task1[-1]) + 1 if task1.size else 0
        self.task1_ptr = np.zeros(nt1 + 1, np.int64)
        np.cumsum(np.bincount(task1, minlength=nt1), out=self.task1_ptr[1:])

        def read_partials(runs, task, e):
            runs.add(task, self.part + self.off_csr[e], 2 * pair_len[e], READ, CACHED)

        self.hp = _HashPhase(ops, shape, costs, read_partials)
        self.weight = [np.bincount(task1, weights=w1, minlength=nt1), self.hp.weight]
        self.stats.update(partial_words=float(2 * ops.flops_row.sum()), multiply_task_work=self.target1, task_work=self.hp.target,
                          table_area_slots=float(self.hp.sizing.area_slots), table_cap_slots=float(self.hp.sizing.cap_slots))

    def est_runs(self, phase):
        return float(3 * self.ops.A.nnz + 6 * self.n_tasks(0)) if phase == 0 else self.hp.est_runs()

    def _build(self, phase, tasks, runs, acc, stats, emit):
        if phase == 1:
            self.hp.build(tasks, runs, acc, stats, emit)
            return
        ops, costs = self.ops, self.costs
        B = ops.B
        cnt = self.task1_ptr[tasks + 1] - self.task1_ptr[tasks]
        items = expand_ranges(self.task1_ptr[tasks], cnt)  # CSC entry ids
        task = np.repeat(np.arange(tasks.size, dtype=np.int64), cnt)
        e_k = self.e_k[items]
        e_i = self.At.indices[items].astype(np.int64)
        at_ptr, at_idx, at_val = self.at
        b_ptr, b_idx, b_val = ops.b
        f, l = group_first_last(task, e_k)
        tk, kk = task[f], e_k[f]
        runs.add(tk, at_ptr + kk, 2, READ, UNCACHED)
        runs.add(tk, at_idx + items[f], l - f + 1, READ, CACHED)
        runs.add(tk, at_val + items[f], l - f + 1, READ, CACHED)
        runs.add(tk, b_ptr + kk, 2, READ, UNCACHED)
        runs.add(tk, b_idx + B.indptr[kk], ops.b_len[kk], READ, CACHED)
        runs.add(tk, b_val + B.indptr[kk], ops.b_len[kk], READ, CACHED)
        runs.add(task, self.counters + e_i, 1, ATOMIC, UNCACHED)
        runs.add(task, self.part + self.off_csr[self.csr_of_csc[items]], 2 * ops.b_len[e_k], WRITE, CACHED)
        nt = tasks.size
        acc["instr"] += np.bincount(task, weights=ops.b_len[e_k] * costs.instr_per_partial + costs.instr_per_pair, minlength=nt).astype(np.int64)
        acc["instr"] += np.bincount(tk, minlength=nt).astype(np.int64) * costs.instr_per_row


class _InnerPlan(SpgemmPlan):
    dataflow = "inner"
    phases = ("multiply",)

    def __init__(self, ops, shape, costs):
        super().__init__(ops, shape, costs)
        B = ops.B
        lay = ops.lay
        Bt = sp.csc_array(B)
        Bt.sort_indices()
        self.Bt = Bt
        self.bt = _alloc_csr(lay, "Bcsc", sp.csr_array((Bt.data, Bt.indices, Bt.indptr), shape=(B.shape[1], B.shape[0])))
        self.col_len = np.diff(Bt.indptr).astype(np.int64)
        # first pass of the functional model: the structural pattern's size per row
        n = ops.n
        self.s_len = np.zeros(n, np.int64)
        colsum = np.zeros(n, np.float64)
        self._sz = size_tables(ops.flops_row, ops.n_cols, shape, SpgemmCosts(hash=costs.hash, capacity_policy="wait"))
        for g in row_groups(np.arange(n, dtype=np.int64), ops.flops_row, ops.n_cols):
            r = multiply_rows(ops.A, B, g, self._sz.slots, self._sz.passes, costs.hash, shape.sp_banks, keep_keys=True)
            self.s_len[g] = r.keys
            krow = np.repeat(np.arange(g.size), np.diff(r.key_ptr))
            colsum[g] = np.bincount(krow, weights=self.col_len[r.key_col], minlength=g.size)
        merge_row = ops.a_len * self.s_len + colsum  # merge steps of the whole row
        W = merge_row + self.s_len + 1
        c = costs
        self.target = task_target(float(W.sum()), shape.threads, c.tasks_per_thread, c.min_task_work, c.max_task_work)
        p = np.where(W > self.target, np.minimum(np.ceil(W / self.target), np.maximum(self.s_len, 1)), 1).astype(np.int64)
        self.piece_row = np.repeat(np.arange(n, dtype=np.int64), p)
        q = np.arange(self.piece_row.size) - np.repeat(np.cumsum(p) - p, p)
        pr = p[self.piece_row]
        sl = self.s_len[self.piece_row]
        self.piece_lo = q * sl // pr
        self.piece_hi = (q + 1) * sl // pr
        pw = W[self.piece_row] / pr
        multi = pr > 1
        force = multi | np.r_[False, multi[:-1]]
        task_p = chunk(pw, self.target, force)
        nt = int(task_p[-1]) + 1 if task_p.size else 0
        self.task_piece_ptr = np.zeros(nt + 1, np.int64)
        np.cumsum(np.bincount(task_p, minlength=nt), out=self.task_piece_ptr[1:])
        self.weight = [np.bincount(task_p, weights=pw, minlength=nt)]
        self.stats.update(outputs_structural=float(self.s_len.sum()), merge_steps=float(merge_row.sum()),
                          redundant_b_words=float(2 * colsum.sum()), task_work=self.target)

    def est_runs(self, phase):
        return float(3 * self.s_len.sum() + 5 * self.piece_row.size)

    def _build(self, phase, tasks, runs, acc, stats, emit):
        ops, costs = self.ops, self.costs
        A = ops.A
        cnt = self.task_piece_ptr[tasks + 1] - self.task_piece_ptr[tasks]
        pieces = expand_ranges(self.task_piece_ptr[tasks], cnt)
        ptask = np.repeat(np.arange(tasks.size, dtype=np.int64), cnt)
        prow = self.piece_row[pieces]
        lo, hi = self.piece_lo[pieces], self.piece_hi[pieces]
        rows = np.unique(prow)
        res = _run_rows(ops, rows, self._sz.slots, self._sz.passes, costs.hash, self.shape.sp_banks, True, None)
        if res is None:
            return
        loc = np.searchsorted(rows, prow)
        ncand = hi - lo
        cand = expand_ranges(res.key_ptr[loc] + lo, ncand)
        ctask = np.repeat(ptask, ncand)
        crow = np.repeat(prow, ncand)
        j = res.key_col[cand].astype(np.int64)
        matches = res.key_matches[cand].astype(np.int64)
        nz = res.key_nz[cand]
        # the intersections' sums are the tables' sums (same products, same order): take them
        # from the keys of the nonzero outputs, in the pieces' order
        nz_before_key = np.r_[0, np.cumsum(res.key_nz)]  # nonzero keys before each key (block)
        c_idx_pos = nz_before_key[cand][nz]
        vals = res.c_val[c_idx_pos]
        emit(OutputBlock(crow[nz], j[nz], vals))
        nt = tasks.size
        a_ptr, a_idx, a_val = ops.a
        bt_ptr, bt_idx, bt_val = self.bt
        a_p = ops.a_len[prow]
        runs.add(ptask, a_ptr + prow, 2, READ, UNCACHED)
        runs.add(ptask, a_idx + A.indptr[prow], a_p, READ, CACHED)
        runs.add(ptask, a_val + A.indptr[prow], a_p, READ, CACHED)
        runs.add(ctask, bt_ptr + j, 2, READ, UNCACHED)
        runs.add(ctask, bt_idx + self.Bt.indptr[j], self.col_len[j], READ, CACHED)
        runs.add(ctask, bt_val + self.Bt.indptr[j], self.col_len[j], READ, CACHED)
        # C entries of the piece: nonzero outputs before lo in its row, then the piece's count
        row_nz_before = nz_before_key[res.key_ptr[loc] + lo] - nz_before_key[res.key_ptr[loc]]
        n_write = np.bincount(np.repeat(np.arange(pieces.size), ncand), weights=nz, minlength=pieces.size).astype(np.int64)
        runs.add(ptask, ops.c_idx + ops.c_base[prow] + row_nz_before, n_write, WRITE, CACHED)
        runs.add(ptask, ops.c_val + ops.c_base[prow] + row_nz_before, n_write, WRITE, CACHED)
        merge = ops.a_len[crow] + self.col_len[j]
        bc = lambda t, w: np.bincount(t, weights=w, minlength=nt).astype(np.int64)  # noqa: E731
        acc["sp_writes"] += bc(ptask, 2 * a_p)
        acc["sp_reads"] += bc(ctask, ops.a_len[crow] + matches)
        acc["instr"] += bc(ctask, costs.instr_per_merge_step * merge + 2 * matches + costs.instr_per_pair + costs.instr_per_output)
        acc["instr"] += bc(ptask, costs.instr_per_row + 2 * a_p)
        np.maximum.at(acc["sp_table_bytes"], ptask, 2 * 8 * a_p)
        _add_stat(stats, "nnz_c", nz.sum())
        _add_stat(stats, "intersections", matches.sum())


_PLANS: dict[str, type[SpgemmPlan]] = {"rowwise-hash": _RowwisePlan, "inner": _InnerPlan, "outer": _OuterPlan}
SPGEMM_DATAFLOWS = tuple(_PLANS)


def plan_spgemm(A, B, dataflow: str, shape: FabricShape, costs: SpgemmCosts = SpgemmCosts()) -> SpgemmPlan:
    """Plan C = A·B for ``dataflow`` (see module doc); build its blocks with `SpgemmPlan.block`."""
    if dataflow not in _PLANS:
        raise InputError(f"dataflow: unknown SpGEMM dataflow {dataflow!r}; expected one of {', '.join(SPGEMM_DATAFLOWS)}")
    costs.check()
    A, B = check_operands(A, B)
    return _PLANS[dataflow](_operands(A, B), shape, costs)


def assemble(blocks: list[OutputBlock], shape: tuple[int, int], dtype) -> sp.csr_array:
    """C (sorted CSR) from output blocks (for small inputs and tests)."""
    if not blocks:
        return sp.csr_array(shape, dtype=dtype)
    r = np.concatenate([b.rows for b in blocks])
    c = np.concatenate([b.cols for b in blocks])
    v = np.concatenate([b.vals for b in blocks]).astype(dtype, copy=False)
    order = np.lexsort((c, r))
    indptr = np.zeros(shape[0] + 1, np.int64)
    np.cumsum(np.bincount(r, minlength=shape[0]), out=indptr[1:])
    C = sp.csr_array((v[order], c[order], indptr), shape=shape)
    C.has_sorted_indices = True
    return C


def build_spgemm(
    A, B, dataflow: str, shape: FabricShape, costs: SpgemmCosts = SpgemmCosts()
) -> tuple[Program, sp.csr_array]:
    """The whole schedule of C = A·B for ``dataflow`` (one block per phase, concatenated) and
    C as the kernel's functional model computes it (sorted CSR).  For small inputs."""
    plan = plan_spgemm(A, B, dataflow, shape, costs)
    progs, outs = [], []
    for ph in range(len(plan.phases)):
        prog, out = plan.block(ph, np.arange(plan.n_tasks(ph)))
        progs.append(prog)
        outs += out
    C = assemble(outs, plan.out_shape, plan.out_dtype)
    return concat_programs(progs, plan.phases, plan.stats), C


def concat_programs(progs: list[Program], phases: tuple[str, ...], stats: dict) -> Program:
    """Programs of consecutive phases as one Program (task ids renumbered)."""
    if len(progs) == 1:
        p = progs[0]
        return Program(**{**p.__dict__, "stats": {**stats, **p.stats}})
    cat = lambda name: np.concatenate([getattr(p, name) for p in progs])  # noqa: E731
    ptr = [np.zeros(1, np.int64)]
    off = 0
    for p in progs:
        ptr.append(p.run_ptr[1:] + off)
        off += p.n_runs
    st = dict(stats)
    for p in progs:
        for k, v in p.stats.items():
            st[k] = st.get(k, 0.0) + v
    return Program(
        kernel=progs[0].kernel, dataflow=progs[0].dataflow, phases=tuple(phases),
        phase=np.concatenate([np.full(p.n_tasks, i, np.int64) for i, p in enumerate(progs)]),
        weight=cat("weight"), run_ptr=np.concatenate(ptr), run_addr=cat("run_addr"), run_len=cat("run_len"),
        run_kind=cat("run_kind"), run_mode=cat("run_mode"), instr=cat("instr"), sp_reads=cat("sp_reads"),
        sp_writes=cat("sp_writes"), sp_atomics=cat("sp_atomics"), dma_cmds=cat("dma_cmds"),
        sp_atomic_banks=np.concatenate([p.sp_atomic_banks for p in progs], axis=0),
        sp_table_bytes=cat("sp_table_bytes"), layout=progs[0].layout, stats=st,
    )
