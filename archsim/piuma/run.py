"""``simulate_piuma(cfg, workload, seed) -> RunResult``: load → schedule → simulate → energy.

Workload keys (unknown keys are an `InputError`):

* ``kernel``: ``spgemm`` (C = A·B, B = A unless ``matrix_b``) or ``spmv`` (y = A·x, x seeded)
* ``dataflow``: ``rowwise-hash`` | ``inner`` | ``outer`` for SpGEMM; ``base`` | ``cached`` |
  ``dma`` | ``cache-all`` for SpMV (defaults: ``rowwise-hash`` / ``dma``)
* ``matrix``: a bundled name (`workloads.graphs.bundled_names`) or a Matrix Market path; or
  ``rmat_scale`` (+ ``rmat_edge_factor``, default 16; ``rmat_permute``, default ``True``:
  Graph500's random relabelling of the vertices, ``False`` keeps the raw Kronecker labels with
  the hubs at the lowest ids), generated with the run's seed
* ``matrix_b``: optional second operand for SpGEMM
* ``partition``: ``nnz`` (default) | ``cyclic`` | ``dynamic``
* ``task_nnz``: SpMV nonzeros per task (default 0 = automatic)

`run_piuma` returns the `RunResult` and the computed output (C or y).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from archsim.config import config_hash
from archsim.energy import energy_breakdown, load_energy_table
from archsim.piuma.config import PiumaConfig
from archsim.piuma.fabric import Topology, task_demands
from archsim.piuma.model import simulate_program
from archsim.results import RunResult
from dataflow.piuma import (
    PARTITIONS,
    SPGEMM_DATAFLOWS,
    SPMV_DATAFLOWS,
    SpmvCosts,
    build_spgemm,
    build_spmv,
    partition,
)
from workloads.errors import InputError, did_you_mean

__all__ = ["simulate_piuma", "run_piuma", "load_workload_matrix", "KERNELS"]

KERNELS = ("spgemm", "spmv")
_KEYS = {"kernel", "dataflow", "matrix", "matrix_b", "rmat_scale", "rmat_edge_factor", "rmat_permute", "partition", "task_nnz"}


def load_workload_matrix(workload: dict[str, Any], seed: int):
    """The matrix A of a workload and its name (bundled name, path or ``rmat-s<scale>``)."""
    from workloads.graphs import load_matrix, rmat

    if workload.get("rmat_scale") is not None:
        if workload.get("matrix") is not None:
            raise InputError("workload: give either matrix or rmat_scale, not both")
        scale = workload["rmat_scale"]
        ef = workload.get("rmat_edge_factor", 16)
        if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale <= 24:
            raise InputError(f"workload.rmat_scale: expected an int in 1..24, got {scale!r}")
        permute = workload.get("rmat_permute", True)
        if not isinstance(permute, bool):
            raise InputError(f"workload.rmat_permute: expected true or false, got {permute!r}")
        return rmat(scale, ef, seed=seed, permute=permute), f"rmat-s{scale}-ef{ef}" + ("" if permute else "-noperm")
    if workload.get("matrix") is None:
        raise InputError("workload: matrix or rmat_scale is required")
    name = str(workload["matrix"])
    return load_matrix(name), name


def _check(workload: dict[str, Any]) -> tuple[str, str, str]:
    unknown = sorted(set(workload) - _KEYS)
    if unknown:
        raise InputError(f"workload: unknown key {unknown[0]!r}; expected some of {', '.join(sorted(_KEYS))}")
    kernel = workload.get("kernel", "spgemm")
    if kernel not in KERNELS:
        raise InputError(f"workload.kernel: unknown kernel {kernel!r}{did_you_mean(kernel, KERNELS)} (expected one of {', '.join(KERNELS)})")
    flows = SPGEMM_DATAFLOWS if kernel == "spgemm" else SPMV_DATAFLOWS
    dataflow = workload.get("dataflow") or ("rowwise-hash" if kernel == "spgemm" else "dma")
    if dataflow not in flows:
        raise InputError(f"workload.dataflow: unknown {kernel} dataflow {dataflow!r}{did_you_mean(dataflow, flows)} (expected one of {', '.join(flows)})")
    part = workload.get("partition", "nnz")
    if part not in PARTITIONS:
        raise InputError(f"workload.partition: unknown partition {part!r}{did_you_mean(part, PARTITIONS)} (expected one of {', '.join(PARTITIONS)})")
    return kernel, dataflow, part


def run_piuma(cfg: PiumaConfig, workload: dict[str, Any], *, seed: int = 0):
    """Simulate and return ``(RunResult, output)``: output is C (csr_array) or y (ndarray)."""
    if not isinstance(cfg, PiumaConfig):
        raise InputError(f"config: expected a piuma config, got {type(cfg).__name__}")
    workload = dict(workload)
    kernel, dataflow, part = _check(workload)
    wall0 = time.perf_counter()
    A, name = load_workload_matrix(workload, seed)
    shape = cfg.shape
    if kernel == "spgemm":
        if workload.get("matrix_b") is not None:
            from workloads.graphs import load_matrix

            B = load_matrix(str(workload["matrix_b"]))
        else:
            if A.shape[0] != A.shape[1]:
                raise InputError(f"matrix: A·A needs a square matrix, {name} is {A.shape[0]}x{A.shape[1]}")
            B = A
        prog, out = build_spgemm(A, B, dataflow, shape)
    else:
        rpt = workload.get("task_nnz", 0)
        if not isinstance(rpt, int) or isinstance(rpt, bool) or rpt < 0:
            raise InputError(f"workload.task_nnz: expected an int >= 0, got {rpt!r}")
        x = np.random.default_rng(seed).random(A.shape[1])
        prog, out = build_spmv(A, x, dataflow, shape, SpmvCosts(task_nnz=rpt))
    wall_schedule = time.perf_counter() - wall0
    pin = dict(core=prog.core, threads_per_core=cfg.threads_per_core)
    assignments = [partition(prog.phase_tasks(p), prog.weight, cfg.threads, part, **pin) for p in range(len(prog.phases))]
    # cache simulation needs one assignment covering all tasks: concatenate phases
    from dataflow.piuma.partition import Assignment

    if part == "dynamic":
        whole = Assignment("dynamic", cfg.threads, np.concatenate([a.tasks for a in assignments]), None)
    else:
        whole = partition(np.arange(prog.n_tasks), prog.weight, cfg.threads, part, **pin)
    topo = Topology.build(cfg)
    dem = task_demands(prog, cfg, whole)
    wall1 = time.perf_counter()
    wall_demands = wall1 - wall0 - wall_schedule
    sim = simulate_program(prog, cfg, assignments, dem, topo)
    wall_sim = time.perf_counter() - wall1
    return _result(cfg, prog, dem, sim, name, kernel, dataflow, part, seed, wall_schedule, wall_sim, wall_demands), out


def simulate_piuma(cfg: PiumaConfig, workload: dict[str, Any], *, seed: int = 0) -> RunResult:
    """Dispatch target of `archsim.api.simulate` for ``kind: piuma``."""
    return run_piuma(cfg, workload, seed=seed)[0]


def _result(cfg, prog, dem, sim, name, kernel, dataflow, part, seed, wall_schedule, wall_sim, wall_demands=0.0) -> RunResult:
    total = max(int(np.ceil(sim.total_cycles)), 1)
    read_words = float(dem.read_words.sum())
    write_words = float(dem.write_words.sum())
    dram_bytes = 8.0 * (read_words + write_words)
    counts = {
        "dram": {
            "dram_read_word": int(read_words - dem.atomics.sum()),
            "dram_write_word": int(write_words - dem.atomics.sum()),
            "dram_atomic": int(dem.atomics.sum() + sim.queue_grabs),
        },
        "scratchpad": {
            "sp_read": int(prog.sp_reads.sum()),
            "sp_write": int(prog.sp_writes.sum()),
            "sp_atomic": int(prog.sp_atomics.sum()),
        },
        "pipelines": {"instruction": int(prog.instr.sum())},
        "caches": {"cache_access": int(dem.cache_words.sum())},
        "dma": {"dma_request": int(dem.dma_words.sum())},
        "network": {"mesh_byte_hop": int(sim.link_bytes), "die_link_byte": int(sim.die_link_bytes)},
    }
    table = load_energy_table(cfg.energy_table)
    energy = energy_breakdown(counts, table)
    res = sim.extra["resources"]
    per_unit = lambda key, n: int(sim.resource_busy[key] / max(n, 1))  # noqa: E731
    busy = {
        "dram_controller_avg": per_unit("dram_controllers", res["controllers"]),
        "dram_controller_max": int(sim.resource_busy["dram_controller_max"]),
        "mesh_link_max": int(sim.resource_busy["mesh_link_max"]),
        "pipeline_issue_avg": per_unit("pipelines_issue", res["pipelines"]),
        "sp_bank_avg": per_unit("sp_banks", res["banks"]),
        "mesh_link_avg": per_unit("mesh_links", res["mesh_links"]),
        "die_link_avg": per_unit("die_links", res["die_links"]),
        "dma_engine_avg": per_unit("dma_engines", res["dma"]),
        "thread_avg": int(sim.thread_busy_cycles / cfg.threads),
    }
    peak = cfg.peak_bytes_per_cycle
    achieved = dram_bytes / total
    metrics = {
        "achieved_bytes_per_cycle": achieved,
        "peak_bytes_per_cycle": peak,
        "bandwidth_fraction_of_peak": achieved / peak,
        "thread_utilization": sim.thread_busy_cycles / (cfg.threads * total),
        "issue_utilization": float(prog.instr.sum()) / (cfg.cores * cfg.pipelines_per_core * cfg.issue_per_cycle_per_pipeline * total),
        "sp_atomics": float(prog.sp_atomics.sum()),
        "sp_bank_conflicts": sim.bank_conflicts,
        "sp_bank_stall_cycles": sim.bank_stall_cycles,
        "network_bytes": sim.link_byte_hops,
        "die_link_bytes": sim.die_link_bytes,
        "remote_atomics": float(dem.atomics.sum() + sim.queue_grabs),
        # gathers: single-word cached reads looked up in the cache; hit rate over those only
        "cache_gather_hit_rate": float(dem.cache_hits.sum()) / max(float(dem.cache_gathers.sum()), 1.0),
        # all cached words: a word is served without a fill of its own unless it starts a fill
        "cache_hit_rate": 1.0 - float(dem.cache_fills.sum()) / max(float(dem.cache_words.sum()), 1.0),
        "queue_wait_fraction": float(sim.extra.get("queue_wait_fraction", 0.0)),
        "flops": prog.stats.get("flops", 0.0),
        "tasks": float(prog.n_tasks),
        "sim_events": float(sim.events),
        "bucket_cycles": float(sim.extra.get("bucket_cycles", 0)),
    }
    # Wall-clock seconds describe the host, not the fabric: kept apart from the metrics so two
    # identical runs give identical results (RunResult.timings_s).
    timings = {
        "wall_schedule_s": wall_schedule,  # load/generate the matrix, numeric output, program
        "wall_demands_s": wall_demands,  # partition + per-task demands (archsim.piuma.fabric)
        "wall_sim_s": wall_sim,  # SimPy
        "events_per_s": sim.events / max(wall_sim, 1e-9),
    }
    for k, v in prog.stats.items():
        metrics.setdefault(f"schedule_{k}", float(v))
    return RunResult(
        simulator="piuma",
        workload=f"{kernel}:{name}",
        total_cycles=total,
        clock_hz=cfg.clock_hz,
        phase_cycles={k: int(round(v)) for k, v in sim.phase_cycles.items()},
        layer_cycles={},
        unit_busy_cycles=busy,
        bytes_moved={
            "dram_read": int(8 * read_words),
            "dram_write": int(8 * write_words),
            "network_byte_hops": int(sim.link_byte_hops),
            "sp_access": int(8 * (prog.sp_reads.sum() + prog.sp_writes.sum() + prog.sp_atomics.sum())),
        },
        action_counts=counts,
        energy_pj=energy,
        metrics=metrics,
        schedule=f"{kernel}/{dataflow}/{part}",
        config_hash=config_hash(cfg),
        seed=seed,
        timings_s=timings,
    )
