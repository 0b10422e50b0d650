"""One entry point for every simulator: ``simulate(config, workload, seed) -> RunResult``.

The sweep layer and the CLI call this and never import a simulator directly, so a design point
does not need to know which simulator it runs.  ``config`` is a validated config model (or a
mapping with a ``kind`` key, validated here); ``workload`` is a plain mapping whose keys the
simulator checks (unknown keys are an `InputError`):

* SAT:   ``{"model": "resnet50", "batch": 32, "sparsity": "2:8"}`` (``model`` may also be
         a path ending in ``.onnx``: the graph is imported, `workloads.dnn.import_onnx`) or
         ``{"gemm": [m, k, n], "sparsity": "dense", "dataflow": "ws"}``
* PIUMA: ``{"kernel": "spgemm", "dataflow": "rowwise-hash", "matrix": "power"}`` or
         ``{"kernel": "spmv", "dataflow": "dma", "rmat_scale": 12}``
"""

from __future__ import annotations

from typing import Any, Mapping

from pydantic import BaseModel

from archsim.config import parse_config
from archsim.results import RunResult
from workloads.errors import InputError

__all__ = ["simulate"]


def simulate(config: BaseModel | Mapping[str, Any], workload: Mapping[str, Any], *, seed: int = 0) -> RunResult:
    if not isinstance(config, BaseModel):
        config = parse_config(dict(config))
    kind = getattr(config, "kind", None)
    if kind == "sat":
        from archsim.sat.run import simulate_sat

        return simulate_sat(config, dict(workload), seed=seed)
    if kind == "piuma":
        from archsim.piuma.run import simulate_piuma

        return simulate_piuma(config, dict(workload), seed=seed)
    raise InputError(f"config: kind: no simulator for {kind!r}")
