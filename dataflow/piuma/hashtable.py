"""The functional model of the SpGEMM kernels' scratchpad hash tables (SMASH-style row-wise).

What is modelled
----------------
Row ``i`` of C = A·B is accumulated in a hash table of ``slots[i]`` slots (a power of two, 16
bytes each: column id + value) that lives in the scratchpad of the core running the row.  The
products ``A[i,k]·B[k,j]`` are inserted in the order the kernel makes them: ``k`` ascending
(``A[i,:]`` in order), then ``j`` in ``B[k,:]``'s stored order.  A product whose column ``j`` is
already in the table is added to that slot's value (one scratchpad atomic); a new ``j`` claims a
slot.  When a row's table would be too large for its share of the scratchpad the row is
processed in ``passes[i]`` column ranges of equal width (``j · passes // n_cols``), one table per
pass.  After the last product the table is scanned in slot order and the nonzero sums are
emitted; exact zeros (cancellation, stored zeros) are dropped.

* **Hash functions** (``hash``): ``multiplicative`` (Knuth: the top ``log2(slots)`` bits of the
  low 32 bits of ``j · 2654435769``) or ``mod`` (``j mod slots``, the low bits).
* **Probing** (``probing``): ``robin-hood``: linear probing with Robin Hood insertion (a key
  displaces a resident that sits closer to its home slot; ties keep the resident, columns
  compared).  The resulting table is unique for a set of keys whatever the insertion order —
  each cluster holds its keys sorted by home slot, then column — so it is computed for all rows
  of a block at once with one sort and a running maximum (vectorised, no per-key loop).  Plain
  first-come linear probing occupies exactly the same slots and has the same total
  displacement over the distinct keys (both depend only on the key set); it differs only in
  which keys carry the displacement, so its lookups of repeated keys would cost differently.
* **Counted per row**: probes (each product's search visits ``displacement + 1`` slots: one
  atomic at the key's slot plus ``displacement`` probe reads), collisions (distinct keys not in
  their home slot), the longest displacement, keys per table and the table's load, and the
  home-slot bank of every atomic (slot index modulo the scratchpad's banks: tables are aligned
  to their power-of-two size, which is at least the bank count).  Overflow is impossible by
  construction (the sizing guarantees at most ``load_factor · slots`` keys per table); it is
  still counted (keys a table receives beyond ``slots - 1``) and reported.
* **Values**: each slot starts at 0 and adds its products in insertion order (ascending ``k``),
  exactly the additions scipy's SMMP kernel performs for ``C[i, j]``, so C is bit-identical to
  scipy's for float data (and exact for integer data).  Integer matrices accumulate in int64.

Memory: the products of one group of rows (``block`` of the streaming driver) at a time, plus
one dense ``rows x n_cols`` marker of at most ``MARK_ENTRIES`` entries (groups are cut so that
``rows · n_cols`` fits), never an array of the whole product count or of nnz(C).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from dataflow.piuma.common import expand_ranges

__all__ = ["HASHES", "PROBINGS", "home_slot", "RowsProduct", "multiply_rows", "SLOT_BYTES", "MARK_ENTRIES", "row_groups"]

HASHES = ("multiplicative", "mod")
PROBINGS = ("robin-hood",)
SLOT_BYTES = 16  # column id + value
MARK_ENTRIES = 1 << 21  # rows x n_cols entries of the dense key marker of one group (cache-resident)
GROUP_PRODUCTS = 1 << 20  # products processed at once


def home_slot(cols: np.ndarray, slots: np.ndarray, hash_fn: str, bits: np.ndarray | None = None) -> np.ndarray:
    """Home slot of column ``cols`` in a table of ``slots`` (power of two) slots (``bits`` =
    log2(slots) if the caller has it)."""
    c = np.asarray(cols, dtype=np.uint64)
    s = np.asarray(slots, dtype=np.uint64)
    if hash_fn == "mod":
        return (c & (s - np.uint64(1))).astype(np.int64)
    if hash_fn == "multiplicative":
        h = ((c & np.uint64(0xFFFFFFFF)) * np.uint64(2654435769)) & np.uint64(0xFFFFFFFF)
        if bits is None:
            bits = np.log2(np.asarray(slots, dtype=np.float64)).astype(np.uint64)
        return (h >> (np.uint64(32) - bits)).astype(np.int64)
    raise ValueError(f"unknown hash function {hash_fn!r}")


@dataclass(frozen=True)
class RowsProduct:
    """Rows ``rows`` of C = A·B as the hash tables produce them, with what the tables did.

    Per row (aligned with ``rows``): ``keys`` (distinct columns = structural outputs), ``slots``
    (of each of its tables),
    ``probe_reads`` (Σ displacement over the row's products), ``collisions``, ``max_disp``,
    ``overflow``, ``max_keys_per_table``, ``products``, and ``bank_hist`` (rows x banks: atomics
    per home bank).  Outputs: ``c_ptr`` / ``c_idx`` / ``c_val`` (local CSR of the rows, columns
    ascending, exact zeros dropped).  With ``keep_keys``: ``key_ptr`` / ``key_col`` (every
    structural output, columns ascending), ``key_matches`` (products per output) and
    ``key_nz`` (output is nonzero) for the inner product's candidate lists.
    """

    rows: np.ndarray
    keys: np.ndarray
    slots: np.ndarray
    products: np.ndarray
    probe_reads: np.ndarray
    collisions: np.ndarray
    max_disp: np.ndarray
    overflow: np.ndarray
    max_keys_per_table: np.ndarray
    bank_hist: np.ndarray
    c_ptr: np.ndarray
    c_idx: np.ndarray
    c_val: np.ndarray
    key_ptr: np.ndarray | None = None
    key_col: np.ndarray | None = None
    key_matches: np.ndarray | None = None
    key_nz: np.ndarray | None = None


def row_groups(rows: np.ndarray, flops_row: np.ndarray, n_cols: int,
               max_products: int = GROUP_PRODUCTS, mark_entries: int = MARK_ENTRIES) -> list[np.ndarray]:
    """Cut ``rows`` (in order) into groups of at most ``mark_entries // n_cols`` rows and about
    ``max_products`` products (a row is never split)."""
    if rows.size == 0:
        return []
    max_rows = max(1, mark_entries // max(n_cols, 1))
    f = flops_row[rows].astype(np.float64)
    cum = np.cumsum(f) - f
    g = (cum // max(max_products, 1)).astype(np.int64)
    cut = np.r_[True, g[1:] != g[:-1]]
    idx = np.arange(rows.size)
    gid = np.cumsum(cut) - 1
    first = np.flatnonzero(cut)
    within = idx - first[gid]
    gid = gid * (rows.size // max_rows + 1) + within // max_rows  # also cut every max_rows rows
    cut = np.r_[True, gid[1:] != gid[:-1]]
    bounds = np.r_[np.flatnonzero(cut), rows.size]
    return [rows[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


class _Scratch:
    """Dense marker and key map reused across groups (allocated once, lazily)."""

    def __init__(self) -> None:
        self.mark = None
        self.kmap = None

    def get(self, n: int):
        if self.mark is None or self.mark.size < n:
            self.mark = np.zeros(max(n, 1), bool)
            self.kmap = np.empty(max(n, 1), np.int32)
        return self.mark, self.kmap


_SCRATCH = _Scratch()


def multiply_rows(
    A: sp.csr_array, B: sp.csr_array, rows: np.ndarray, slots_row: np.ndarray, passes_row: np.ndarray,
    hash_fn: str, banks: int, *, keep_keys: bool = False, exact_load: float | None = None,
) -> RowsProduct:
    """Rows ``rows`` (ascending, distinct) of A·B through their hash tables (see module doc).

    ``slots_row`` / ``passes_row`` are indexed by global row id.  The caller keeps ``rows`` to a
    group from `row_groups` (bounded products and marker).  With ``exact_load`` (symbolic
    sizing: the kernel counted the row's distinct columns first), a single-pass row's table has
    ``next_pow2(keys / exact_load)`` slots (at least ``banks``, at most ``slots_row``) instead."""
    n_cols = B.shape[1]
    R = rows.size
    a_r = (A.indptr[1:][rows] - A.indptr[:-1][rows]).astype(np.int64)
    e = expand_ranges(A.indptr[:-1][rows], a_r)
    k = A.indices[e]
    bl = (B.indptr[1:][k] - B.indptr[:-1][k]).astype(np.int64)
    # products in insertion order: (row, k ascending, B[k, :] order); marker index row·n_cols + j
    # fits int32 (groups keep rows·n_cols <= MARK_ENTRIES)
    p = expand_ranges(B.indptr[:-1][k], bl)
    e_base = np.repeat(np.arange(R, dtype=np.int32) * np.int32(n_cols), a_r)
    flat = np.repeat(e_base, bl)
    flat += B.indices[p]
    dtype = np.result_type(A.dtype, B.dtype)
    p_val = np.repeat(A.data[e].astype(dtype, copy=False), bl)
    p_val *= B.data[p]
    del p, e, k, e_base
    mark, kmap = _SCRATCH.get(R * n_cols)
    mark[flat] = True
    keys = np.flatnonzero(mark[: R * n_cols])
    mark[keys] = False
    nk = keys.size
    kmap[keys] = np.arange(nk, dtype=np.int32)
    kid = kmap[flat]
    del flat
    mult = np.bincount(kid, minlength=nk)  # products per key
    products = np.bincount(np.repeat(np.arange(R), a_r), weights=bl, minlength=R).astype(np.int64)
    krow = keys // n_cols
    kcol = keys - krow * n_cols
    del keys
    S_row = slots_row[rows].astype(np.int64)
    P_row = passes_row[rows].astype(np.int64)
    if exact_load is not None:
        kr = np.bincount(krow, minlength=R).astype(np.float64)
        exact = (2.0 ** np.ceil(np.log2(np.maximum(np.ceil(kr / exact_load), 1.0)))).astype(np.int64)
        S_row = np.where(P_row == 1, np.clip(exact, banks, S_row), S_row)
    S = S_row[krow]
    kpass = kcol * P_row[krow] // max(n_cols, 1)
    tab_off = np.cumsum(P_row) - P_row  # first table of each row
    tab = tab_off[krow] + kpass
    n_tab = int(P_row.sum())
    S_tab = np.repeat(S_row, P_row)
    tbase = 3 * (np.cumsum(S_tab) - S_tab)
    home = home_slot(kcol, S, hash_fn, bits=np.log2(S_row).astype(np.uint64)[krow])
    # Robin Hood layout: keys sorted by (table, home, column); two laps of each table so the
    # keys that run past the end wrap to its start
    v = tbase[tab] + home
    order = np.argsort(v * max(n_cols, 1) + kcol)  # (table, home, column): ties by column
    vs, Ss, ts = v[order], S[order], tab[order]
    cnt_tab = np.bincount(ts, minlength=n_tab)
    s_tab = np.cumsum(cnt_tab) - cnt_tab
    i = np.arange(nk, dtype=np.int64)
    d1 = i + s_tab[ts]
    d2 = d1 + cnt_tab[ts]
    vals = np.empty(2 * nk, np.int64)
    vals[d1] = vs
    vals[d2] = vs + Ss
    r = np.arange(2 * nk, dtype=np.int64)
    pos2 = np.maximum.accumulate(vals - r) + r if nk else r
    pos = np.empty(nk, np.int64)
    pos[order] = (pos2[d2] - tbase[ts] - Ss) % Ss
    del vals, r, pos2, d1, d2, vs, ts
    disp = (pos - home) % S
    # per-row statistics
    keys_row = np.bincount(krow, minlength=R)
    coll = np.bincount(krow, weights=disp > 0, minlength=R).astype(np.int64)
    maxd = np.zeros(R, np.int64)
    np.maximum.at(maxd, krow, disp) if nk else None
    over_tab = np.maximum(cnt_tab - (S_tab - 1), 0)
    max_keys_tab = cnt_tab
    row_of_tab = np.repeat(np.arange(R), P_row)
    overflow = np.bincount(row_of_tab, weights=over_tab, minlength=R).astype(np.int64)
    mkt = np.zeros(R, np.int64)
    np.maximum.at(mkt, row_of_tab, max_keys_tab) if n_tab else None
    # every product of a key probes the key's displacement and hits the bank of its slot
    probe_reads = np.bincount(krow, weights=disp * mult, minlength=R).astype(np.int64)
    bank = pos & (banks - 1)
    bank_hist = np.bincount(krow * banks + bank, weights=mult, minlength=R * banks).reshape(R, banks).astype(np.int64)
    # values: every slot starts at 0 and adds its products in insertion order
    if np.issubdtype(dtype, np.integer) or dtype == np.bool_:
        acc = np.zeros(nk, np.int64)
        np.add.at(acc, kid, p_val.astype(np.int64))
    else:
        acc = np.bincount(kid, weights=p_val, minlength=nk).astype(dtype, copy=False) if nk else np.zeros(0, dtype)
    matches = mult if keep_keys else None
    del kid, p_val
    nz = acc != 0
    c_ptr = np.zeros(R + 1, np.int64)
    np.cumsum(np.bincount(krow[nz], minlength=R), out=c_ptr[1:])
    key_ptr = None
    if keep_keys:
        key_ptr = np.zeros(R + 1, np.int64)
        np.cumsum(keys_row, out=key_ptr[1:])
    return RowsProduct(
        rows=rows, keys=keys_row.astype(np.int64), slots=S_row, products=products, probe_reads=probe_reads, collisions=coll,
        max_disp=maxd, overflow=overflow, max_keys_per_table=mkt, bank_hist=bank_hist,
        c_ptr=c_ptr, c_idx=kcol[nz], c_val=acc[nz],
        key_ptr=key_ptr, key_col=kcol if keep_keys else None, key_matches=matches, key_nz=nz if keep_keys else None,
    )
