"""The numbers a simulated kernel returns: C = A·B and y = A·x, computed as the dataflows do.

``spgemm_numeric`` runs the row-wise kernel's functional model (`dataflow.piuma.hashtable`):
every row's products go through its scratchpad hash table in the kernel's insertion order and
the table's sums are C.  Every SpGEMM dataflow sums the contributions to one output ``C[i, j]``
in ascending ``k`` starting from zero (see `dataflow.piuma.spgemm`), which is also the order of
scipy's SMMP kernel, so the result is bit-identical to scipy's product for float data.  Exact
zeros are dropped, as scipy does.  It holds C whole: for large inputs use the streaming
driver (`archsim.piuma.run`), which never does.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from dataflow.piuma.common import expand_ranges

__all__ = ["spgemm_numeric", "spmv_numeric", "expand_ranges"]

CHUNK = 1 << 22  # nonzeros per block of `spmv_numeric`


def spgemm_numeric(A: sp.csr_array, B: sp.csr_array, dataflow: str = "rowwise-hash") -> sp.csr_array:
    """C = A·B (sorted CSR) by the hash tables of the row-wise kernel (``dataflow`` is accepted
    for clarity: every dataflow's C is the same)."""
    from dataflow.piuma.program import FabricShape
    from dataflow.piuma.spgemm import build_spgemm

    return build_spgemm(A, B, "rowwise-hash", FabricShape())[1]


def spmv_numeric(A: sp.csr_array, x: np.ndarray) -> np.ndarray:
    """y = A·x.  Each row's products are summed by ``np.add.reduceat``, which uses pairwise
    summation: not the thread's left-to-right stored order, so y may differ from a sequential
    sum in the last bits (well within 1e-12 relative)."""
    dtype = np.result_type(A.dtype, x.dtype)
    n = A.shape[0]
    y = np.zeros(n, dtype)
    # blocks of about CHUNK nonzeros (whole rows), so the products are never all held at once
    cuts = np.unique(np.r_[0, np.searchsorted(A.indptr, np.arange(CHUNK, A.nnz, CHUNK), side="right") - 1, n])
    for r0, r1 in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
        lo, hi = int(A.indptr[r0]), int(A.indptr[r1])
        if hi == lo:
            continue
        prod = A.data[lo:hi].astype(dtype) * x[A.indices[lo:hi]]
        starts = A.indptr[r0:r1] - lo
        nonempty = np.diff(A.indptr[r0:r1 + 1]) > 0
        y[r0:r1][nonempty] = np.add.reduceat(prod, starts[nonempty])
    return y
