"""SpGEMM schedules C = A·B for the PIUMA-like fabric: row-wise hashing, inner, outer product.

Matrices are CSR (indices and values 8-byte words, row pointers 8-byte words).  Each builder
returns a `Program` (tasks of runs of 8-byte accesses, see `dataflow.piuma.program`) plus the
numeric C (`dataflow.piuma.numeric`).  Costs in instructions are `SpgemmCosts` fields.

**Tasks** (the simulator's unit of scheduling, one SimPy event each) are chunks of the work
items below, cut in item order to about ``work / (threads · tasks_per_thread)`` (clipped to
``[min_task_work, max_task_work]``): a task may hold several short rows or part of a long one
(a hub row is split over tasks; an item is never split).  Inside a task every memory access is
listed individually (runs of consecutive words), so chunking only decides which thread does
what and when, not how many accesses are made.

* **rowwise-hash** (SMASH-style Gustavson): items are A's ``(i, k)`` entries; rows are assigned
  to cores in contiguous product-balanced ranges and a task never spans two cores (the row's
  hash table lives in that core's scratchpad).  For each piece of row ``i`` the thread reads
  ``A[i, :]``'s piece then, for every ``k`` in it, ``B[k, :]`` (pointers uncached, index/value
  streams through the cache as line fills), and adds each product into row ``i``'s hash table
  with one scratchpad atomic (linear probing; extra probes are scratchpad reads, Knuth's
  expected count at the table's load factor).  The table has ``next_pow2(min(flops_i, n_cols)
  / load_factor)`` slots of 16 bytes; when that exceeds the core's table budget
  (``scratchpad · table_fraction / rows_in_flight``) the row is processed in column-range
  passes, each re-reading ``A[i, :]`` and its B rows.  The task holding the row's last entry
  scans and clears the table and writes ``C[i, :]`` (write-combined stream; keys whose sum is
  exactly 0 are skipped, so the table load counts structural outputs and the writes count C's
  nonzeros).  The bank of a product's atomic is the bank of its key's home slot (a mixing hash
  of ``j``), so hot columns make hot banks.
* **inner**: items are the candidate outputs ``(i, j)``, weighted by their merge length.  For
  each piece of row ``i`` the thread copies ``A[i, :]`` into the scratchpad once; for every
  output ``j`` it streams column ``j`` of B (B held as CSC) and merges it with ``A[i, :]``.  The
  candidate outputs are the structural pattern of A·B (C's pattern before exact zeros are
  dropped), given to the baseline for free (a generous inner product: without it every one of
  the ``n²`` pairs is merged); only nonzero outputs are written.  Cost: every column of B is
  fetched once per output in its column — the redundant fetches.
* **outer**: phase ``multiply``: items are A's CSC entries ``(k, i)``, grouped by ``k``; per
  piece of column ``k`` the thread reads that piece of column ``k`` of A and row ``k`` of B,
  reserves space in each output row's partial-product list with a remote atomic fetch-and-add
  at the controller owning the row's counter, and writes the ``(j, value)`` partial products
  there.  Phase ``merge`` (after a barrier): like row-wise, over A's ``(i, k)`` entries, each
  streaming its partial-product segment back into the row's scratchpad hash table, then
  ``C[i, :]`` is written.  Cost: 2 words written and read again per product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from dataflow.piuma.numeric import spgemm_numeric
from dataflow.piuma.program import (
    ATOMIC,
    CACHED,
    READ,
    UNCACHED,
    WRITE,
    FabricShape,
    Program,
    _Layout,
    _RunBuilder,
)
from workloads.errors import InputError

__all__ = ["SpgemmCosts", "build_spgemm", "SPGEMM_DATAFLOWS", "check_operands", "bank_of"]

SPGEMM_DATAFLOWS = ("rowwise-hash", "inner", "outer")

SLOT_BYTES = 16  # key + value


@dataclass(frozen=True)
class SpgemmCosts:
    """Instructions per unit of work and hash-table parameters (software choices)."""

    instr_per_row: int = 8
    instr_per_pair: int = 6  # per (i, k): load pointers, loop setup
    instr_per_product: int = 5  # load j, load b, multiply, hash, atomic
    instr_per_slot_scan: int = 2
    instr_per_output: int = 3
    instr_per_merge_step: int = 3  # inner product: compare, advance, branch
    instr_per_partial: int = 4  # outer product multiply phase: multiply, two stores, loop
    load_factor: float = 0.5
    table_fraction: float = 1.0  # of the scratchpad used for hash tables
    rows_in_flight: int = 4  # hash tables a core keeps at once (SMASH's window)
    tasks_per_thread: int = 8  # granularity: about this many tasks per thread
    min_task_work: int = 64
    max_task_work: int = 1 << 17


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


def bank_of(cols: np.ndarray, banks: int) -> np.ndarray:
    """Scratchpad bank of a key's home slot: low bits of a 32-bit mixing hash (murmur3 fmix)."""
    h = np.asarray(cols, dtype=np.uint64) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    return (h & np.uint64(banks - 1)).astype(np.int64)


def _next_pow2(x: np.ndarray) -> np.ndarray:
    x = np.maximum(np.asarray(x, dtype=np.float64), 1.0)
    return (2.0 ** np.ceil(np.log2(x))).astype(np.int64)


def _hash_tables(flops: np.ndarray, nnz_out: np.ndarray, n_cols: int, shape: FabricShape, costs: SpgemmCosts):
    """Per row: slots per pass, passes, expected extra probes per product (Knuth, linear probing).

    The table is sized from what is known before the row is computed: ``min(flops_i, n_cols)``
    keys at ``load_factor``; a core keeps ``rows_in_flight`` tables in its scratchpad, so a row
    whose table exceeds ``scratchpad · table_fraction / rows_in_flight`` runs in passes over
    column ranges.
    """
    budget = int(shape.scratchpad_bytes * costs.table_fraction) // costs.rows_in_flight // SLOT_BYTES
    budget = max(shape.sp_banks, 1 << int(np.floor(np.log2(max(budget, 1)))))
    want = np.maximum(_next_pow2(np.ceil(np.minimum(flops, n_cols) / costs.load_factor)), shape.sp_banks)
    passes = np.maximum(1, -(-want // budget))
    slots = np.minimum(want, budget)
    alpha = np.clip(nnz_out / np.maximum(passes * slots, 1), 0.0, 0.95)
    probes = 0.5 * (1.0 + 1.0 / (1.0 - alpha))  # successful search, linear probing
    return slots, passes, probes - 1.0, budget


def _bank_hist_rows(B: sp.csr_array, banks: int) -> np.ndarray:
    """(rows of B, banks): home-slot banks of the products row ``k`` of B contributes."""
    b_rows = np.repeat(np.arange(B.shape[0], dtype=np.int64), np.diff(B.indptr))
    H = np.bincount(b_rows * banks + bank_of(B.indices, banks), minlength=B.shape[0] * banks)
    return H.reshape(B.shape[0], banks)


def _bank_hist_tasks(task_e: np.ndarray, k_e: np.ndarray, n_tasks: int, H: np.ndarray) -> np.ndarray:
    """(n_tasks, banks): Σ over a task's (i, k) entries of row k's bank histogram, as a sparse
    (task x k) count matrix times H (never an (entries x banks) array)."""
    if task_e.size == 0:
        return np.zeros((n_tasks, H.shape[1]), np.int64)
    T = sp.csr_array((np.ones(task_e.size, np.int64), (task_e, k_e)), shape=(n_tasks, H.shape[0]))
    return np.asarray(T @ H, dtype=np.int64)


def _chunk(weight: np.ndarray, target: float, force: np.ndarray | None = None) -> np.ndarray:
    """Task id of each item when items (in order) are cut into chunks of about ``target`` weight."""
    if weight.size == 0:
        return np.zeros(0, np.int64)
    excl = np.cumsum(weight) - weight
    blk = (excl // max(target, 1.0)).astype(np.int64)
    cut = np.r_[True, blk[1:] != blk[:-1]]
    if force is not None:
        cut |= force
    return np.cumsum(cut) - 1


def _target(total: float, shape: FabricShape, costs: SpgemmCosts) -> float:
    return float(np.clip(total / (shape.threads * costs.tasks_per_thread), costs.min_task_work, costs.max_task_work))


def _row_cores(flops_row: np.ndarray, cores: int) -> np.ndarray:
    """Rows to cores: contiguous ranges with balanced products (a row's table lives on one core)."""
    w = flops_row.astype(np.float64) + 1.0
    excl = np.cumsum(w) - w
    return np.minimum((excl * cores / w.sum()).astype(np.int64), cores - 1)


def _new_acc(n_tasks: int, banks: int) -> dict[str, np.ndarray]:
    z = lambda: np.zeros(n_tasks, np.int64)  # noqa: E731
    return {
        "instr": z(),
        "sp_reads": z(),
        "sp_writes": z(),
        "sp_atomics": z(),
        "dma_cmds": z(),
        "banks": np.zeros((n_tasks, banks), np.int64),
    }


def _program(kernel, dataflow, phases, phase, weight, runs: _RunBuilder, acc, layout, stats, core=None) -> Program:
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
        core=None if core is None else np.asarray(core, np.int64),
        layout=layout.regions,
        stats=stats,
    )


def _alloc_csr(lay: _Layout, name: str, M) -> tuple[int, int, int]:
    return (
        lay.alloc(f"{name}.ptr", M.shape[0] + 1),
        lay.alloc(f"{name}.idx", M.nnz),
        lay.alloc(f"{name}.val", M.nnz),
    )


def _group_first_last(task: np.ndarray, key: np.ndarray):
    """Index of the first and last item of each run of equal (task, key) in item order."""
    if task.size == 0:
        z = np.zeros(0, np.int64)
        return z, z
    new = np.r_[True, (task[1:] != task[:-1]) | (key[1:] != key[:-1])]
    first = np.flatnonzero(new)
    last = np.r_[first[1:] - 1, task.size - 1]
    return first, last


def _hash_phase(
    A, n_cols, flops_row, s_len, c_len, pair_len, bank_rows, shape, costs, runs, task_offset,
    read_entry, write_c, a_arrays: tuple[int, int, int],
):
    """Row-wise hash accumulation over A's (i, k) entries, chunked into tasks pinned to cores.

    ``read_entry(task, e)`` adds the runs that bring entry e's products (B row k, or its
    partial products).  ``s_len``: keys each row's table receives (structural outputs);
    ``c_len``: nonzeros written to C (exact zeros are dropped at the scan).  Run task ids are
    offset by ``task_offset``.  Returns (n_tasks, core of each task, weight of each task, the
    phase's own counters (`_new_acc`), stats).
    """
    n = A.shape[0]
    a_len = np.diff(A.indptr).astype(np.int64)
    rows = np.arange(n, dtype=np.int64)
    e_row = np.repeat(rows, a_len)
    slots, passes, extra, budget = _hash_tables(flops_row, s_len, n_cols, shape, costs)
    row_core = _row_cores(flops_row, shape.cores)
    w_e = (pair_len + 1) * passes[e_row]
    target = _target(float(w_e.sum()), shape, costs)
    force = np.r_[True, row_core[e_row[1:]] != row_core[e_row[:-1]]] if e_row.size else None
    task_e = _chunk(w_e.astype(np.float64), target, force)
    n_tasks = int(task_e[-1]) + 1 if task_e.size else 0
    core = np.zeros(n_tasks, np.int64)
    core[task_e] = row_core[e_row]
    acc = _new_acc(n_tasks, shape.sp_banks)
    t_e = task_e + task_offset
    # A reads per (task, row) piece, repeated per pass
    f, l = _group_first_last(task_e, e_row)
    pt, pr = np.repeat(t_e[f], passes[e_row[f]]), np.repeat(e_row[f], passes[e_row[f]])
    pf, pl = np.repeat(f, passes[e_row[f]]), np.repeat(l, passes[e_row[f]])
    a_ptr, a_idx, a_val = a_arrays
    runs.add(pt, a_ptr + pr, 2, READ, UNCACHED)
    runs.add(pt, a_idx + pf, pl - pf + 1, READ, CACHED)
    runs.add(pt, a_val + pf, pl - pf + 1, READ, CACHED)
    rep = passes[e_row]
    read_entry(np.repeat(t_e, rep), np.repeat(np.arange(e_row.size), rep))
    # products: atomics into the row's table (home bank of each product)
    acc["sp_atomics"] += np.bincount(task_e, weights=pair_len, minlength=n_tasks).astype(np.int64)
    probe = np.rint(pair_len * extra[e_row]).astype(np.int64)
    acc["sp_reads"] += np.bincount(task_e, weights=probe, minlength=n_tasks).astype(np.int64)
    acc["banks"] += _bank_hist_tasks(task_e, A.indices, n_tasks, bank_rows)
    acc["instr"] += np.bincount(
        task_e, weights=pair_len * (costs.instr_per_product + passes[e_row] - 1) + costs.instr_per_pair * passes[e_row], minlength=n_tasks
    ).astype(np.int64)
    # the task holding a row's last entry scans and clears the table and writes C[i, :]
    has = a_len > 0
    r = rows[has]
    lt = task_e[A.indptr[1:][has] - 1]  # local task id
    scan = slots[r] * passes[r]
    bc = lambda w: np.bincount(lt, weights=w, minlength=n_tasks).astype(np.int64)  # noqa: E731
    acc["sp_reads"] += bc(scan)
    acc["sp_writes"] += bc(scan)
    acc["instr"] += bc(scan * costs.instr_per_slot_scan + c_len[r] * costs.instr_per_output + costs.instr_per_row * passes[r])
    write_c(runs, lt + task_offset, r)
    weight = np.bincount(task_e, weights=w_e, minlength=n_tasks)
    return n_tasks, core, weight, acc, {"table_slots_max": float(budget), "rows_split": float((passes > 1).sum()),
                                   "extra_pass_products": float(((passes - 1) * flops_row).sum()), "task_work": target}


def _structure(A: sp.csr_array, B: sp.csr_array, C: sp.csr_array, counts: bool):
    """Structural pattern of A·B: the outputs a kernel produces before it can know a sum is 0.

    Returns ``(indptr, indices, matches)``; ``matches`` (products per output, only when
    ``counts``) is ``None`` otherwise.  C drops exact zeros (cancellation, explicitly stored
    zeros, underflow); a kernel still inserts/merges those keys, so the schedule uses this
    pattern for the work and C for the writes.  When every stored value is a positive float
    whose products cannot underflow, no output can be zero and C's own pattern is used.
    """
    exact = A.nnz == 0 or B.nnz == 0 or (
        C.dtype.kind == "f" and float(A.data.min()) > 0 and float(B.data.min()) > 0
        and float(A.data.min()) * float(B.data.min()) > np.finfo(C.dtype).tiny
    )
    if exact and not counts:
        return C.indptr, C.indices, None
    Ap = sp.csr_array((np.ones(A.nnz), A.indices, A.indptr), shape=A.shape)
    Bp = sp.csr_array((np.ones(B.nnz), B.indices, B.indptr), shape=B.shape)
    S = spgemm_numeric(Ap, Bp)
    return S.indptr, S.indices, (np.rint(S.data).astype(np.int64) if counts else None)


def build_spgemm(
    A, B, dataflow: str, shape: FabricShape, costs: SpgemmCosts = SpgemmCosts()
) -> tuple[Program, sp.csr_array]:
    """The schedule of C = A·B for ``dataflow`` and the numeric C (sorted CSR)."""
    if dataflow not in SPGEMM_DATAFLOWS:
        raise InputError(f"dataflow: unknown SpGEMM dataflow {dataflow!r}; expected one of {', '.join(SPGEMM_DATAFLOWS)}")
    A, B = check_operands(A, B)
    C = spgemm_numeric(A, B, dataflow)
    n, n_cols = A.shape[0], B.shape[1]
    a_len = np.diff(A.indptr).astype(np.int64)
    b_len = np.diff(B.indptr).astype(np.int64)
    c_len = np.diff(C.indptr).astype(np.int64)
    pair_len = b_len[A.indices]  # products of each (i, k)
    rows = np.arange(n, dtype=np.int64)
    flops_row = np.bincount(np.repeat(rows, a_len), weights=pair_len, minlength=n).astype(np.int64)
    lay = _Layout()
    a_ptr, a_idx, a_val = _alloc_csr(lay, "A", A)
    b_ptr, b_idx, b_val = _alloc_csr(lay, "B", B)
    c_ptr = lay.alloc("C.ptr", n + 1)
    c_idx = lay.alloc("C.idx", C.nnz)
    c_val = lay.alloc("C.val", C.nnz)
    stats = {"flops": float(flops_row.sum()), "nnz_a": float(A.nnz), "nnz_b": float(B.nnz), "nnz_c": float(C.nnz)}

    def write_c(runs, task, r):
        runs.add(task, c_ptr + r + 1, 1, WRITE, UNCACHED)
        runs.add(task, c_idx + C.indptr[r], c_len[r], WRITE, CACHED)
        runs.add(task, c_val + C.indptr[r], c_len[r], WRITE, CACHED)

    if dataflow == "rowwise-hash":
        runs = _RunBuilder(0)

        def read_b(task, e):
            k = A.indices[e].astype(np.int64)
            runs.add(task, b_ptr + k, 2, READ, UNCACHED)
            runs.add(task, b_idx + B.indptr[k], b_len[k], READ, CACHED)
            runs.add(task, b_val + B.indptr[k], b_len[k], READ, CACHED)

        bank_rows = _bank_hist_rows(B, shape.sp_banks)
        s_len = np.diff(_structure(A, B, C, counts=False)[0]).astype(np.int64)
        nt, core, weight, acc, st = _hash_phase(A, n_cols, flops_row, s_len, c_len, pair_len, bank_rows, shape, costs, runs, 0, read_b, write_c, (a_ptr, a_idx, a_val))
        stats.update(st, outputs_structural=float(s_len.sum()))
        runs.n_tasks = nt
        return _program("spgemm", dataflow, ("multiply",), np.zeros(nt), weight, runs, acc, lay, stats, core), C

    if dataflow == "inner":
        Bt = sp.csc_array(B)
        Bt.sort_indices()
        bt_ptr = lay.alloc("Bcsc.ptr", B.shape[1] + 1)
        bt_idx = lay.alloc("Bcsc.idx", B.nnz)
        bt_val = lay.alloc("Bcsc.val", B.nnz)
        col_len = np.diff(Bt.indptr).astype(np.int64)
        # candidate outputs: the structural pattern of A·B (given to the baseline for free)
        s_ptr, s_idx, matches = _structure(A, B, C, counts=True)
        o_row = np.repeat(rows, np.diff(s_ptr))
        j = s_idx.astype(np.int64)
        if j.size == C.nnz:
            is_nz = np.ones(j.size, bool)
        else:  # outputs that summed to exactly 0 are merged but not written
            key_c = np.repeat(rows, c_len) * n_cols + C.indices
            key_s = o_row * n_cols + j
            at = np.minimum(np.searchsorted(key_c, key_s), max(key_c.size - 1, 0))
            is_nz = key_c[at] == key_s if key_c.size else np.zeros(j.size, bool)
        c_pos = np.cumsum(is_nz) - is_nz  # position in C of each candidate (if written)
        merge = a_len[o_row] + col_len[j]
        target = _target(float(merge.sum()), shape, costs)
        task_o = _chunk(merge.astype(np.float64) + 1, target)
        nt = int(task_o[-1]) + 1 if task_o.size else 0
        acc = _new_acc(nt, shape.sp_banks)
        runs = _RunBuilder(nt)
        f, l = _group_first_last(task_o, o_row)
        tr, rr = task_o[f], o_row[f]
        # every (task, row) piece copies A[i, :] into the scratchpad
        runs.add(tr, a_ptr + rr, 2, READ, UNCACHED)
        runs.add(tr, a_idx + A.indptr[rr], a_len[rr], READ, CACHED)
        runs.add(tr, a_val + A.indptr[rr], a_len[rr], READ, CACHED)
        runs.add(task_o, bt_ptr + j, 2, READ, UNCACHED)
        runs.add(task_o, bt_idx + Bt.indptr[j], col_len[j], READ, CACHED)
        runs.add(task_o, bt_val + Bt.indptr[j], col_len[j], READ, CACHED)
        # C entries of the piece (its nonzero outputs): one write run each for indices and values
        n_write = c_pos[l] + is_nz[l] - c_pos[f]
        runs.add(tr, c_idx + c_pos[f], n_write, WRITE, CACHED)
        runs.add(tr, c_val + c_pos[f], n_write, WRITE, CACHED)
        # matches of output (i, j) = contributions; Σ over a row's outputs = flops_i
        bc = lambda w: np.bincount(task_o, weights=w, minlength=nt).astype(np.int64)  # noqa: E731
        acc["sp_writes"] += np.bincount(tr, weights=2 * a_len[rr], minlength=nt).astype(np.int64)
        acc["sp_reads"] += bc(a_len[o_row] + matches)
        acc["instr"] += bc(costs.instr_per_merge_step * merge + 2 * matches + costs.instr_per_pair + costs.instr_per_output)
        acc["instr"] += np.bincount(tr, weights=costs.instr_per_row + 2 * a_len[rr], minlength=nt).astype(np.int64)
        stats.update(outputs_structural=float(j.size), redundant_b_words=float(2 * col_len[j].sum()), merge_steps=float(merge.sum()), task_work=target)
        weight = np.bincount(task_o, weights=merge + 1, minlength=nt)
        return _program("spgemm", dataflow, ("multiply",), np.zeros(nt), weight, runs, acc, lay, stats), C

    # outer product: multiply phase over A's columns (CSC entries), then a hash merge per row
    At = sp.csc_array(A)
    At.sort_indices()
    at_ptr = lay.alloc("Acsc.ptr", A.shape[1] + 1)
    at_idx = lay.alloc("Acsc.idx", A.nnz)
    at_val = lay.alloc("Acsc.val", A.nnz)
    counters = lay.alloc("partials.count", n)
    part = lay.alloc("partials", 2 * int(flops_row.sum()))
    K = A.shape[1]
    acol_len = np.diff(At.indptr).astype(np.int64)
    row_base = 2 * (np.cumsum(flops_row) - flops_row)
    excl = np.cumsum(pair_len) - pair_len
    within = excl - np.repeat(np.r_[excl, 0][A.indptr[:-1]], a_len)
    off_csr = row_base[np.repeat(rows, a_len)] + 2 * within  # partial list slot of CSR entry e
    pos = sp.csc_array(sp.csr_array((np.arange(A.nnz, dtype=np.float64) + 1, A.indices, A.indptr), shape=A.shape))
    pos.sort_indices()
    csr_of_csc = (pos.data - 1).astype(np.int64)
    e_k = np.repeat(np.arange(K, dtype=np.int64), acol_len)
    e_i = At.indices.astype(np.int64)
    w1 = (b_len[e_k] + 1).astype(np.float64)
    target1 = _target(float(w1.sum()), shape, costs)
    task1 = _chunk(w1, target1)
    nt1 = int(task1[-1]) + 1 if task1.size else 0
    acc = _new_acc(nt1, shape.sp_banks)
    runs = _RunBuilder(0)
    f, l = _group_first_last(task1, e_k)
    tk, kk = task1[f], e_k[f]
    runs.add(tk, at_ptr + kk, 2, READ, UNCACHED)
    runs.add(tk, at_idx + f, l - f + 1, READ, CACHED)
    runs.add(tk, at_val + f, l - f + 1, READ, CACHED)
    runs.add(tk, b_ptr + kk, 2, READ, UNCACHED)
    runs.add(tk, b_idx + B.indptr[kk], b_len[kk], READ, CACHED)
    runs.add(tk, b_val + B.indptr[kk], b_len[kk], READ, CACHED)
    runs.add(task1, counters + e_i, 1, ATOMIC, UNCACHED)
    runs.add(task1, part + off_csr[csr_of_csc], 2 * b_len[e_k], WRITE, CACHED)
    acc["instr"] += np.bincount(task1, weights=b_len[e_k] * costs.instr_per_partial + costs.instr_per_pair, minlength=nt1).astype(np.int64)
    acc["instr"] += np.bincount(tk, weights=np.full(tk.size, costs.instr_per_row), minlength=nt1).astype(np.int64)
    weight1 = np.bincount(task1, weights=w1, minlength=nt1)

    def read_partials(task, e):
        runs.add(task, part + off_csr[e], 2 * pair_len[e], READ, CACHED)

    bank_rows = _bank_hist_rows(B, shape.sp_banks)
    # the merge phase walks A's row i to find its partial-product segments (one per k)
    s_len = np.diff(_structure(A, B, C, counts=False)[0]).astype(np.int64)
    nt2, core2, weight2, acc2, st = _hash_phase(A, n_cols, flops_row, s_len, c_len, pair_len, bank_rows, shape, costs, runs, nt1, read_partials, write_c, (a_ptr, a_idx, a_val))
    nt = nt1 + nt2
    acc = {k: np.concatenate([acc[k], acc2[k]]) for k in acc}
    runs.n_tasks = nt
    stats.update(st, outputs_structural=float(s_len.sum()))
    stats.update(partial_words=float(2 * flops_row.sum()), multiply_task_work=target1)
    phase = np.r_[np.zeros(nt1), np.ones(nt2)]
    core = np.r_[np.full(nt1, -1, np.int64), core2]
    return _program("spgemm", dataflow, ("multiply", "merge"), phase, np.r_[weight1, weight2], runs, acc, lay, stats, core), C
