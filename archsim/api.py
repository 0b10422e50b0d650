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

__all__ = ["simulate", "check_workload", "with_area"]


def simulate(config: BaseModel | Mapping[str, Any], workload: Mapping[str, Any], *, seed: int = 0) -> RunResult:
    if not isinstance(config, BaseModel):
        config = parse_config(dict(config))
    run = simulator(getattr(config, "kind", None))
    return run(config, dict(workload), seed=seed)


def check_workload(config: BaseModel | Mapping[str, Any], workload: Mapping[str, Any]) -> None:
    """Validate a workload for a config without simulating it (cheap: no schedule, no matrix
    read): unknown keys, the model name, N:M sparsity, GEMM sizes, kernels and dataflows, a
    matrix that does not exist, an R-MAT scale over the work budget.  Raises `InputError`.

    Sweeps call it for every distinct workload before anything runs.
    """
    if not isinstance(config, BaseModel):
        config = parse_config(dict(config))
    kind = getattr(config, "kind", None)
    w = dict(workload)
    if kind == "sat":
        from archsim.sat.run import parse_workload
        from workloads.dnn import get_model

        parsed = parse_workload(w)
        model = parsed.get("model")
        if isinstance(model, str) and model.lower().endswith(".onnx"):
            from pathlib import Path

            if not Path(model).is_file():
                raise InputError(f"workload.model: {model}: ONNX file not found")
        elif model is not None:
            get_model(model)
        return
    if kind == "piuma":
        from archsim import budget
        from archsim.piuma.run import check_workload_keys

        kernel, _, _ = check_workload_keys(w)
        if w.get("rmat_scale") is not None:
            scale = w["rmat_scale"]
            if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale <= 24:
                raise InputError(f"workload.rmat_scale: expected an int in 1..24, got {scale!r}")
            budget.check_rmat(scale, int(w.get("rmat_edge_factor", 16) or 16), kernel,
                              what=f"workload.rmat_scale {scale}")
        elif w.get("matrix") is None:
            raise InputError("workload: matrix or rmat_scale is required")
        for key in ("matrix", "matrix_b"):
            name = w.get(key)
            if name is None:
                continue
            from workloads.graphs import bundled_names

            name = str(name)
            if name not in bundled_names():
                from pathlib import Path

                if not Path(name).is_file():
                    import difflib

                    near = difflib.get_close_matches(name, bundled_names(), n=1)
                    hint = f"; did you mean {near[0]!r}?" if near else ""
                    raise InputError(f"workload.{key}: {name!r} is neither a bundled matrix nor a file{hint}")
                budget.check_matrix(name, kernel, what=f"workload.{key} {name}")
        return
    simulator(kind)  # an unknown kind is an InputError naming it


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
