"""Workloads: *what* is computed — DNN training GEMMs with N:M sparsity, sparse matrices, graphs.

This package knows nothing about hardware.  Its subpackages:

* `workloads.dnn`: layers with exact shapes, the model zoo (`get_model`) and the lowering of a
  model to its training GEMMs (`training_gemms`: FF, BP, WU per layer).
* `workloads.sparsity`: N:M ratios, magnitude masks, BDWP masks, the compressed form.
* `workloads.graphs`: Matrix Market I/O, R-MAT and uniform generators, bundled real matrices
  (imported on first use, since it needs scipy).
* `workloads.errors`: `InputError`, the one exception for user mistakes.
"""

from __future__ import annotations

from workloads.dnn import Gemm, Layer, Model, get_model, training_gemms
from workloads.errors import InputError
from workloads.sparsity import NM, bdwp_masks, nm_mask, parse_nm

__all__ = [
    "InputError",
    "NM",
    "parse_nm",
    "nm_mask",
    "bdwp_masks",
    "Layer",
    "Model",
    "get_model",
    "Gemm",
    "training_gemms",
    "read_mtx",
    "load_matrix",
    "rmat",
]

_LAZY = {"read_mtx", "load_matrix", "rmat"}


def __getattr__(name: str):
    if name in _LAZY:
        from workloads import graphs

        return getattr(graphs, name)
    raise AttributeError(f"module 'workloads' has no attribute {name!r}")
