"""Workloads: *what* is computed — DNN training GEMMs with N:M sparsity, sparse matrices, graphs.

This package knows nothing about hardware.  Its subpackages:

* `workloads.dnn`: layers with exact shapes, the model zoo (`get_model`) and the lowering of a
  model to its training GEMMs (`training_gemms`: FF, BP, WU per layer).
* `workloads.sparsity`: N:M ratios, magnitude masks, BDWP masks, the compressed form.
* `workloads.graphs`: Matrix Market I/O, R-MAT and uniform generators, bundled real matrices.
* `workloads.errors`: `InputError`, the one exception for user mistakes.

Everything but `InputError` is imported on first use (PEP 562): ``import workloads.errors`` (which
every layer does) must not pull in numpy or scipy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from workloads.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from workloads.dnn import Gemm, Layer, Model, get_model, training_gemms
    from workloads.graphs import load_matrix, read_mtx, rmat
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

_LAZY = {
    "NM": "workloads.sparsity",
    "parse_nm": "workloads.sparsity",
    "nm_mask": "workloads.sparsity",
    "bdwp_masks": "workloads.sparsity",
    "Layer": "workloads.dnn",
    "Model": "workloads.dnn",
    "get_model": "workloads.dnn",
    "Gemm": "workloads.dnn",
    "training_gemms": "workloads.dnn",
    "read_mtx": "workloads.graphs",
    "load_matrix": "workloads.graphs",
    "rmat": "workloads.graphs",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workloads' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
