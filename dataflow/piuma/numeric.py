"""The numbers a simulated kernel returns: C = A·B and y = A·x, computed as the dataflows do.

Every SpGEMM dataflow here sums the contributions to one output ``C[i, j]`` in ascending ``k``:
the row-wise kernel walks ``A[i, :]`` in order and adds ``A[i,k]·B[k,j]`` into row ``i``'s hash
table as products arrive; the outer product appends partial products to row ``i``'s list in
``k`` order (its multiply phase runs over ``k``) and the merge phase adds them in list order; the
inner product merges the sorted index lists of ``A[i, :]`` and ``B[:, j]``.  `spgemm_numeric`
generates the products in the dataflow's own generation order (``(i, k, j)`` row-wise and inner,
``(k, i, j)`` outer) and accumulates them per output key in arrival order (a stable keyed
reduction: what the hash table / merge does, without its slot bookkeeping, which only affects
timing and is modelled in the program).  Exact zeros from cancellation are dropped, as scipy
does.

Above ``expand_limit`` products, expanding every product costs more memory and time than the
simulation itself; then the product is taken from scipy's SMMP kernel, which is itself row-wise
Gustavson summing each output in ascending ``k`` — the same additions in the same order.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["spgemm_numeric", "spmv_numeric", "expand_ranges", "EXPAND_LIMIT"]

EXPAND_LIMIT = 8_000_000


def expand_ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + n)`` for every (s, n), vectorised."""
    lens = np.asarray(lens, dtype=np.int64)
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    excl = np.cumsum(lens) - lens
    return np.repeat(np.asarray(starts, dtype=np.int64) - excl, lens) + np.arange(total, dtype=np.int64)


def _keyed_sum(i: np.ndarray, j: np.ndarray, v: np.ndarray, shape, dtype) -> sp.csr_array:
    n_rows, n_cols = shape
    if i.size == 0:
        return sp.csr_array((np.zeros(0, dtype), np.zeros(0, np.int32), np.zeros(n_rows + 1, np.int32)), shape=shape)
    key = i.astype(np.int64) * n_cols + j
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    vals = np.add.reduceat(v[order], starts)
    keys = ks[starts]
    nz = vals != 0
    vals, keys = vals[nz], keys[nz]
    rows, cols = np.divmod(keys, n_cols)
    indptr = np.zeros(n_rows + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return sp.csr_array((vals.astype(dtype, copy=False), cols, indptr), shape=shape)


def spgemm_numeric(A: sp.csr_array, B: sp.csr_array, dataflow: str, *, expand_limit: int = EXPAND_LIMIT) -> sp.csr_array:
    """C = A·B with sorted indices, accumulated in the dataflow's order (see module doc)."""
    dtype = np.result_type(A.dtype, B.dtype)
    shape = (A.shape[0], B.shape[1])
    b_len = np.diff(B.indptr)
    a_rows = np.repeat(np.arange(A.shape[0], dtype=np.int64), np.diff(A.indptr))
    flops = int(b_len[A.indices].sum()) if A.nnz else 0
    if flops > expand_limit:
        C = sp.csr_array(A @ B)
        C.sort_indices()
        return C
    if dataflow == "outer":
        # generation order (k, i, j): columns of A (CSC) against rows of B
        At = sp.csc_array(A)
        At.sort_indices()
        k_e = np.repeat(np.arange(A.shape[1], dtype=np.int64), np.diff(At.indptr))
        i_e, a_e = At.indices.astype(np.int64), At.data
    else:
        k_e, i_e, a_e = A.indices.astype(np.int64), a_rows, A.data
    lens = b_len[k_e]
    idx = expand_ranges(B.indptr[k_e], lens)
    i = np.repeat(i_e, lens)
    j = B.indices[idx].astype(np.int64)
    v = np.repeat(a_e.astype(dtype), lens) * B.data[idx].astype(dtype)
    return _keyed_sum(i, j, v, shape, dtype)


def spmv_numeric(A: sp.csr_array, x: np.ndarray) -> np.ndarray:
    """y = A·x, each row summed in stored order (as a thread walks its row)."""
    dtype = np.result_type(A.dtype, x.dtype)
    prod = A.data.astype(dtype) * x[A.indices]
    y = np.zeros(A.shape[0], dtype)
    nonempty = np.diff(A.indptr) > 0
    if prod.size:
        y[nonempty] = np.add.reduceat(prod, A.indptr[:-1][nonempty])
    return y
