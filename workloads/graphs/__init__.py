"""Sparse matrices and graphs: ``scipy.sparse.csr_array`` in, ``csr_array`` out.

* `read_mtx` / `write_mtx`: Matrix Market files with one-line errors naming the file and line.
* `rmat`, `uniform_random`: synthetic generators, randomness only from their ``seed``.
* `bundled_names`, `load_matrix`: small real matrices shipped with the package, or any path.
"""

from workloads.graphs.bundled import bundled_names, load_matrix
from workloads.graphs.generators import rmat, uniform_random
from workloads.graphs.mtx import read_mtx, write_mtx

__all__ = ["read_mtx", "write_mtx", "rmat", "uniform_random", "bundled_names", "load_matrix"]
