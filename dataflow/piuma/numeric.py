"""The numbers a simulated kernel returns: C = A·B and y = A·x, computed as the dataflows do.

Every SpGEMM dataflow here sums the contributions to one output ``C[i, j]`` in ascending ``k``,
starting from zero: the row-wise kernel walks ``A[i, :]`` in order and adds ``A[i,k]·B[k,j]``
into row ``i``'s hash table as products arrive; the outer product appends partial products to
row ``i``'s list in ``k`` order (its multiply phase runs over ``k``) and the merge phase adds
them in list order; the inner product merges the sorted index lists of ``A[i, :]`` and
``B[:, j]``.  So the three dataflows produce bit-identical C, and `spgemm_numeric` computes it
once with scipy's SMMP kernel, which performs exactly these additions in this order (the hash
table's slot bookkeeping only affects timing and is modelled in the program).  Exact zeros from
cancellation are dropped, as scipy does.

The kernel is run on CSC operands (``Cᵀ = Bᵀ·Aᵀ`` row by row: column ``j`` of C accumulates
``B[k, j]·A[:, k]`` for ascending ``k``; the products are the same floating-point numbers as
``A[i, k]·B[k, j]``) in blocks of rows of A, and each block is turned into CSR by the
linear-time CSC→CSR transpose, which leaves the column indices sorted.  This avoids a
comparison sort of every row of C (at R-MAT scale 16: 23 s instead of 35 s for C, same peak
memory) and keeps the extra memory to one block.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["spgemm_numeric", "spmv_numeric", "expand_ranges"]

BLOCK_FLOPS = 1 << 24  # products per row block of `_smmp_sorted`


def expand_ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + n)`` for every (s, n), vectorised."""
    lens = np.asarray(lens, dtype=np.int64)
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    excl = np.cumsum(lens) - lens
    return np.repeat(np.asarray(starts, dtype=np.int64) - excl, lens) + np.arange(total, dtype=np.int64)


def _smmp_sorted(A: sp.csr_array, B: sp.csr_array, dtype, flops: int, block_flops: int = BLOCK_FLOPS) -> sp.csr_array:
    """A·B with sorted indices by scipy's SMMP kernel, block of rows by block (see module doc).

    The output arrays are allocated for ``flops`` entries (an upper bound of nnz(C)); pages
    never written are never resident, and the arrays are shrunk in place at the end.
    """
    n_rows, n_cols = A.shape[0], B.shape[1]
    Bc = sp.csc_array(B)
    Bc.sort_indices()
    b_len = np.diff(B.indptr)
    row_flops = np.zeros(n_rows, np.int64)
    if A.nnz:
        row_flops = np.bincount(np.repeat(np.arange(n_rows), np.diff(A.indptr)), weights=b_len[A.indices], minlength=n_rows).astype(np.int64)
    idx_dtype = np.int32 if max(n_cols, flops, n_rows) < 2**31 - 1 else np.int64
    indices = np.empty(flops, idx_dtype)
    data = np.empty(flops, dtype)
    indptr = np.zeros(n_rows + 1, idx_dtype)
    cum = np.cumsum(row_flops)
    cuts = np.unique(np.r_[0, np.searchsorted(cum, np.arange(block_flops, flops, block_flops), side="right"), n_rows])
    pos = 0
    for r0, r1 in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
        Cb = sp.csr_array(sp.csc_array(A[r0:r1]) @ Bc)  # CSC product, then linear transpose to CSR
        k = Cb.nnz
        indices[pos:pos + k] = Cb.indices
        data[pos:pos + k] = Cb.data
        indptr[r0 + 1:r1 + 1] = Cb.indptr[1:] + pos
        pos += k
        del Cb
    indices.resize(pos, refcheck=False)
    data.resize(pos, refcheck=False)
    C = sp.csr_array((data, indices, indptr), shape=(n_rows, n_cols), copy=False)
    C.has_sorted_indices = True
    return C


def spgemm_numeric(A: sp.csr_array, B: sp.csr_array, dataflow: str = "rowwise-hash") -> sp.csr_array:
    """C = A·B with sorted indices, accumulated in ascending ``k`` as every dataflow does (see
    module doc; ``dataflow`` is accepted for clarity, the result does not depend on it)."""
    dtype = np.result_type(A.dtype, B.dtype)
    b_len = np.diff(B.indptr)
    flops = int(b_len[A.indices].sum()) if A.nnz else 0
    return _smmp_sorted(A, B, dtype, flops)


def spmv_numeric(A: sp.csr_array, x: np.ndarray) -> np.ndarray:
    """y = A·x, each row summed in stored order (as a thread walks its row)."""
    dtype = np.result_type(A.dtype, x.dtype)
    prod = A.data.astype(dtype) * x[A.indices]
    y = np.zeros(A.shape[0], dtype)
    nonempty = np.diff(A.indptr) > 0
    if prod.size:
        y[nonempty] = np.add.reduceat(prod, A.indptr[:-1][nonempty])
    return y
