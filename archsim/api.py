"""One entry point for every simulator: ``simulate(config, workload, seed) -> RunResult``.

The sweep layer and the CLI call this and never import a simulator directly, so a design point
does not need to know which simulator it runs; the config's ``kind`` picks the simulator from
`archsim.registry` (the same registry that validated the config).  ``config`` is a validated config model (or a
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
from archsim.registry import simulator
from archsim.results import RunResult
from workloads.errors import InputError

__all__ = ["simulate", "with_area"]


def simulate(config: BaseModel | Mapping[str, Any], workload: Mapping[str, Any], *, seed: int = 0) -> RunResult:
    if not isinstance(config, BaseModel):
        config = parse_config(dict(config))
    run = simulator(getattr(config, "kind", None))
    return run(config, dict(workload), seed=seed)


def with_area(config: BaseModel | Mapping[str, Any], result: RunResult, *, target: str = "auto",
              cache_dir: str = "out/area_cache") -> RunResult:
    """``result`` with the synthesised area of ``config``'s circuit attached (SAT only: the
    array's RTL; see `archsim.sat.area`).  Each shape is synthesised once per ``cache_dir``."""
    if not isinstance(config, BaseModel):
        config = parse_config(dict(config))
    if getattr(config, "kind", None) != "sat":
        raise InputError(f"area: only SAT configs have an RTL to synthesise, not {config.kind!r}")
    from archsim.sat.area import with_area as _sat_with_area

    return _sat_with_area(result, config, target=target, cache_dir=cache_dir)
