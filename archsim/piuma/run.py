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
* ``max_input_bytes``: refuse a matrix (file or R-MAT) that needs more memory than this to load
  (default: the memory still available); ``allow_nonfinite``: accept NaN/Inf values (default
  false: refused)

`run_piuma` returns the `RunResult` and the computed output (C or y).
"""

from __future__ import annotations

import time
from dataclasses import fields, replace
from typing import Any

import numpy as np

from archsim.config import config_hash
from archsim.energy import energy_breakdown, load_energy_table
from archsim.piuma.config import PiumaConfig
from archsim.piuma.fabric import Topology, new_cache_state, task_demands
from archsim.piuma.model import PhaseFeed, SimBlock, auto_bucket_cycles, simulate_blocks
from archsim.results import RunResult
from dataflow.piuma import (
    PARTITIONS,
    SPGEMM_DATAFLOWS,
    SPMV_DATAFLOWS,
    Assignment,
    SpgemmCosts,
    SpmvCosts,
    partition,
    plan_spgemm,
    plan_spmv,
    spmv_numeric,
    time_slices,
)
from workloads.errors import InputError, did_you_mean

__all__ = ["simulate_piuma", "run_piuma", "load_workload_matrix", "KERNELS", "OutputSink", "check_workload_keys"]

KERNELS = ("spgemm", "spmv")
_KEYS = {"kernel", "dataflow", "matrix", "matrix_b", "rmat_scale", "rmat_edge_factor", "rmat_permute", "partition", "task_nnz",
         "max_input_bytes", "allow_nonfinite"}
RMAT_BYTES_PER_EDGE = 64  # generation temporaries + CSR, R-MAT's peak per edge (measured: see BENCHMARKS.md)


def _read_options(workload: dict[str, Any]) -> dict[str, Any]:
    mb = workload.get("max_input_bytes")
    if mb is not None and (not isinstance(mb, (int, float)) or isinstance(mb, bool) or mb <= 0):
        raise InputError(f"workload.max_input_bytes: expected a number > 0, got {mb!r}")
    nf = workload.get("allow_nonfinite", False)
    if not isinstance(nf, bool):
        raise InputError(f"workload.allow_nonfinite: expected true or false, got {nf!r}")
    return {"max_bytes": None if mb is None else int(mb), "allow_nonfinite": nf}


def load_workload_matrix(workload: dict[str, Any], seed: int):
    """The matrix A of a workload and its name (bundled name, path or ``rmat-s<scale>``)."""
    from workloads.graphs import load_matrix, rmat
    from workloads.graphs.mtx import check_size

    opts = _read_options(workload)
    if workload.get("rmat_scale") is not None:
        if workload.get("matrix") is not None:
            raise InputError("workload: give either matrix or rmat_scale, not both")
        scale = workload["rmat_scale"]
        ef = workload.get("rmat_edge_factor", 16)
        if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale <= 24:
            raise InputError(f"workload.rmat_scale: expected an int in 1..24, got {scale!r}")
        if not isinstance(ef, int) or isinstance(ef, bool) or not 1 <= ef <= 1024:
            raise InputError(f"workload.rmat_edge_factor: expected an int in 1..1024, got {ef!r}")
        check_size(f"R-MAT scale {scale} (edge factor {ef}: {ef << scale} edges)", RMAT_BYTES_PER_EDGE * (ef << scale), opts["max_bytes"])
        permute = workload.get("rmat_permute", True)
        if not isinstance(permute, bool):
            raise InputError(f"workload.rmat_permute: expected true or false, got {permute!r}")
        return rmat(scale, ef, seed=seed, permute=permute), f"rmat-s{scale}-ef{ef}" + ("" if permute else "-noperm")
    if workload.get("matrix") is None:
        raise InputError("workload: matrix or rmat_scale is required")
    name = str(workload["matrix"])
    return load_matrix(name, **opts), name


def check_workload_keys(workload: dict[str, Any]) -> tuple[str, str, str]:
    """Validate a PIUMA workload mapping's keys and names; return (kernel, dataflow, partition)."""
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


class _Totals:
    """Sums over every block of a streamed run: ``dem[name]`` for every per-task array of the
    demands, ``v[name]`` for the programs' counters, ``stats`` for their schedule statistics
    (``*_max`` keys: maximum)."""

    def __init__(self) -> None:
        self.dem: dict[str, float] = {}
        self.v = dict.fromkeys(("sp_reads", "sp_writes", "sp_atomics", "instr", "tasks"), 0.0)
        self.stats: dict[str, float] = {}

    def add(self, prog, dem) -> None:
        for f in fields(dem):
            arr = getattr(dem, f.name)
            if isinstance(arr, np.ndarray) and arr.ndim == 1:
                self.dem[f.name] = self.dem.get(f.name, 0.0) + float(arr.sum())
        v = self.v
        for key in ("sp_reads", "sp_writes", "sp_atomics", "instr"):
            v[key] += float(getattr(prog, key).sum())
        v["tasks"] += prog.n_tasks
        for key, x in prog.stats.items():
            if key.endswith("_max"):
                self.stats[key] = max(self.stats.get(key, 0.0), float(x))
            else:
                self.stats[key] = self.stats.get(key, 0.0) + float(x)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (uint64 in, uint64 out)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class OutputSink:
    """Receives C block by block: counts and checksums it, and writes it to ``path`` (Matrix
    Market, streamed: each block is formatted by scipy's fast_matrix_market writer and
    appended; the size line is patched at the end) and/or keeps it (``keep``, small inputs).

    The checksum is order-independent (a sum mod 2^52 of a hash of row, column and the
    value's bits), so it identifies C whatever the block order."""

    SIZE_WIDTH = 64

    def __init__(self, shape: tuple[int, int], dtype, *, keep: bool, path=None) -> None:
        self.shape, self.dtype, self.keep = shape, dtype, keep
        self.nnz = 0
        self._sum = np.uint64(0)
        self.blocks: list = []
        self.path = path
        self._f = None
        if path is not None:
            try:
                self._f = open(path, "wb")
            except OSError as exc:
                raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
            self._f.write(b"%%MatrixMarket matrix coordinate real general\n")
            self._size_at = self._f.tell()
            self._f.write(b" " * self.SIZE_WIDTH + b"\n")

    def add(self, blk) -> None:
        n = blk.rows.size
        if n == 0:
            return
        self.nnz += n
        key = blk.rows.astype(np.uint64) * np.uint64(self.shape[1]) + blk.cols.astype(np.uint64)
        bits = np.ascontiguousarray(blk.vals, dtype=np.float64).view(np.uint64)
        with np.errstate(over="ignore"):
            self._sum = np.uint64((int(self._sum) + int(_mix64(_mix64(key) ^ bits).sum(dtype=np.uint64))) % (1 << 64))
        if self.keep:
            self.blocks.append(blk)
        if self._f is not None:
            import io

            import scipy.io as sio
            import scipy.sparse as sp

            buf = io.BytesIO()
            sio.mmwrite(buf, sp.coo_array((blk.vals.astype(np.float64), (blk.rows, blk.cols)), shape=self.shape), symmetry="general")
            data = buf.getvalue()
            cut = 0
            for _ in range(3):  # header, comment, size line
                cut = data.index(b"\n", cut) + 1
            self._f.write(memoryview(data)[cut:])

    @property
    def checksum(self) -> int:
        return int(self._sum) & ((1 << 52) - 1)

    def close(self) -> None:
        if self._f is not None:
            self._f.seek(self._size_at)
            self._f.write(f"{self.shape[0]} {self.shape[1]} {self.nnz}".encode().ljust(self.SIZE_WIDTH))
            self._f.close()
            self._f = None

    def matrix(self):
        from dataflow.piuma.spgemm import assemble

        return assemble(self.blocks, self.shape, self.dtype)


def _spgemm_costs(cfg: PiumaConfig) -> SpgemmCosts:
    k = cfg.spgemm
    return SpgemmCosts(hash=k.hash, probing=k.probing, load_factor=k.load_factor, table_fraction=k.table_fraction,
                       capacity_policy=k.capacity_policy, table_sizing=k.table_sizing)


def _feed(cfg: PiumaConfig, plan, ph: int, part: str, sink: OutputSink | None, totals: _Totals, block_runs: int) -> PhaseFeed:
    """Phase ``ph`` of ``plan`` as a `PhaseFeed`: partitioned over all threads, cut into time
    slices of about ``block_runs`` runs, each built (program, C part, demands) on demand."""
    T = cfg.threads
    weight = plan.weight[ph]
    assignment = partition(np.arange(plan.n_tasks(ph)), weight, T, part)
    n_blocks = max(1, min(int(np.ceil(plan.est_runs(ph) / max(block_runs, 1))), max(plan.n_tasks(ph), 1)))
    slices = time_slices(assignment, weight, n_blocks)
    static = assignment.thread_ptr is not None
    lean = cfg.sim.detail != "access"
    cache_state = new_cache_state(cfg)
    thread_blocks = None
    if static:
        has = np.array([np.diff(s.thread_ptr) > 0 for s in slices])  # (blocks, threads)
        thread_blocks = [np.flatnonzero(has[:, t]).tolist() for t in range(T)]

    def build(b: int) -> SimBlock:
        sl = slices[b]
        slices[b] = None  # built once
        tasks = np.sort(sl.tasks)
        prog, _ = plan.block(ph, tasks, emit=None if sink is None else sink.add)
        local = np.searchsorted(tasks, sl.tasks)
        if static:
            ptr = sl.thread_ptr
            a = Assignment(assignment.mode, T, local, ptr)
            blk_tasks = [local[ptr[t]:ptr[t + 1]].tolist() for t in range(T)]
            queues = None
        else:
            a = Assignment("dynamic", T, local, None)
            q = sl.queue_of_task
            if q is None or (q < 0).all():
                queues = {None: local.tolist()}
            else:
                queues = {(None if int(c) < 0 else int(c)): local[q == c].tolist() for c in np.unique(q)}
            blk_tasks = None
        dem = task_demands(prog, cfg, a, cache_state)
        totals.add(prog, dem)
        if lean:  # the task level needs only per-task arrays from here on: drop the runs
            prog, dem = _without_runs(prog), replace(dem, run_hits=np.zeros(0, dem.run_hits.dtype))
        if not static:  # the access level reads the queues from the assignment
            a = Assignment("dynamic", T, local, None, q if q is not None else np.full(local.size, -1, np.int64))
        return SimBlock(prog, dem, blk_tasks, queues, a)

    return PhaseFeed(plan.phases[ph], n_blocks, build, thread_blocks)


def _without_runs(prog):
    """``prog`` without its run arrays (a block's runs are most of its memory: about 18 bytes
    per run, 3 runs per candidate output of the inner product) once its demands are known."""
    none = lambda a: np.zeros(0, a.dtype)  # noqa: E731 (a copy: a view would keep the runs alive)
    return replace(prog, run_ptr=np.zeros(prog.n_tasks + 1, np.int64), run_addr=none(prog.run_addr),
                   run_len=none(prog.run_len), run_kind=none(prog.run_kind), run_mode=none(prog.run_mode))


def _prebuilt(build, first: SimBlock):
    """``build`` that returns the already built ``first`` for block 0 (once)."""
    held = [first]

    def get(b: int) -> SimBlock:
        if b == 0 and held:
            return held.pop()
        return build(b)

    return get


def run_piuma(cfg: PiumaConfig, workload: dict[str, Any], *, seed: int = 0, keep_output: bool = True, save_output=None):
    """Simulate and return ``(RunResult, output)``.

    The kernel is planned over the whole input, then built, simulated and dropped block by
    block (`archsim.piuma.model.simulate_blocks`): memory holds A, B, the plan (O(nnz(A))) and
    the blocks in flight, never the products or C whole.  C goes block by block to an
    `OutputSink`: counted and checksummed (``metrics``), written to ``save_output`` (Matrix
    Market, streamed) if given, and assembled and returned only if ``keep_output`` (small
    inputs); otherwise ``output`` is None.  SpMV returns y (O(rows)).
    """
    if not isinstance(cfg, PiumaConfig):
        raise InputError(f"config: expected a piuma config, got {type(cfg).__name__}")
    workload = dict(workload)
    kernel, dataflow, part = check_workload_keys(workload)
    wall0 = time.perf_counter()
    A, name = load_workload_matrix(workload, seed)
    shape = cfg.shape
    sink = None
    y = None
    if kernel == "spgemm":
        if workload.get("matrix_b") is not None:
            from workloads.graphs import load_matrix

            B = load_matrix(str(workload["matrix_b"]), **_read_options(workload))
        else:
            if A.shape[0] != A.shape[1]:
                raise InputError(f"matrix: A·A needs a square matrix, {name} is {A.shape[0]}x{A.shape[1]}")
            B = A
        plan = plan_spgemm(A, B, dataflow, shape, _spgemm_costs(cfg))
        del A, B
        sink = OutputSink(plan.out_shape, plan.out_dtype, keep=keep_output, path=save_output)
    else:
        rpt = workload.get("task_nnz", 0)
        if not isinstance(rpt, int) or isinstance(rpt, bool) or rpt < 0:
            raise InputError(f"workload.task_nnz: expected an int >= 0, got {rpt!r}")
        plan = plan_spmv(A, dataflow, shape, SpmvCosts(task_nnz=rpt))
        del A
        x = np.random.default_rng(seed).random(plan.A.shape[1])
        y = spmv_numeric(plan.A, x)
        del x
    wall_plan = time.perf_counter() - wall0
    topo = Topology.build(cfg)
    totals = _Totals()
    # the per-access reference level runs each phase whole (small inputs only: sim.detail_max_ops)
    block_runs = cfg.stream.block_runs if cfg.sim.detail != "access" else 1 << 62
    feeds = [_feed(cfg, plan, ph, part, sink, totals, block_runs) for ph in range(len(plan.phases))]
    first = feeds[0].build(0)
    feeds[0].build = _prebuilt(feeds[0].build, first)
    # automatic bucket width: from the first block, scaled to the whole run
    W = cfg.sim.bucket_cycles or auto_bucket_cycles(first.prog, first.dem, cfg, work_scale=float(feeds[0].n_blocks))
    sim = simulate_blocks(feeds, cfg, topo, W, first)
    wall_total = time.perf_counter() - wall0
    output = y
    if sink is not None:
        sink.close()
        output = sink.matrix() if keep_output else None
    res = _result(cfg, plan, totals, sim, name, kernel, dataflow, part, seed, wall_plan, wall_total - wall_plan, sink, y)
    return res, output


def simulate_piuma(cfg: PiumaConfig, workload: dict[str, Any], *, seed: int = 0) -> RunResult:
    """Dispatch target of `archsim.api.simulate` for ``kind: piuma``."""
    return run_piuma(cfg, workload, seed=seed, keep_output=False)[0]


def _result(cfg, plan, tot: _Totals, sim, name, kernel, dataflow, part, seed, wall_schedule, wall_sim, sink, y) -> RunResult:
    total = max(int(np.ceil(sim.total_cycles)), 1)
    v = tot.v
    d = tot.dem
    read_words = d["read_words"]
    write_words = d["write_words"]
    dram_bytes = 8.0 * (read_words + write_words)
    counts = {
        "dram": {
            "dram_read_word": int(read_words - d["atomics"]),
            "dram_write_word": int(write_words - d["atomics"]),
            "dram_atomic": int(d["atomics"] + sim.queue_grabs),
        },
        "scratchpad": {
            "sp_read": int(v["sp_reads"]),
            "sp_write": int(v["sp_writes"]),
            "sp_atomic": int(v["sp_atomics"]),
        },
        "pipelines": {"instruction": int(v["instr"])},
        "caches": {"cache_access": int(d["cache_words"])},
        "dma": {"dma_request": int(d["dma_words"])},
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
    sp_peak = np.asarray(sim.extra["sp_peak_bytes"], dtype=np.float64)
    metrics = {
        "achieved_bytes_per_cycle": achieved,
        "peak_bytes_per_cycle": peak,
        "bandwidth_fraction_of_peak": achieved / peak,
        "thread_utilization": sim.thread_busy_cycles / (cfg.threads * total),
        "issue_utilization": v["instr"] / (cfg.cores * cfg.pipelines_per_core * cfg.issue_per_cycle_per_pipeline * total),
        "sp_atomics": v["sp_atomics"],
        "sp_bank_conflicts": sim.bank_conflicts,
        "sp_bank_stall_cycles": sim.bank_stall_cycles,
        "sp_peak_bytes_max": float(sp_peak.max(initial=0.0)),
        "sp_capacity_bytes": float(cfg.scratchpad_bytes),
        "sp_wait_cycles": float(sim.extra["sp_wait_cycles"]),
        "network_bytes": sim.link_byte_hops,
        "die_link_bytes": sim.die_link_bytes,
        "remote_atomics": d["atomics"] + sim.queue_grabs,
        # gathers: single-word cached reads looked up in the cache; hit rate over those only
        "cache_gather_hit_rate": d["cache_hits"] / max(d["cache_gathers"], 1.0),
        # all cached words: a word is served without a fill of its own unless it starts a fill
        "cache_hit_rate": 1.0 - d["cache_fills"] / max(d["cache_words"], 1.0),
        "queue_wait_fraction": float(sim.extra.get("queue_wait_fraction", 0.0)),
        "flops": plan.stats.get("flops", 0.0),
        "tasks": v["tasks"],
        "sim_events": float(sim.events),
        "bucket_cycles": float(sim.extra.get("bucket_cycles", 0)),
        "stream_blocks": float(sim.extra["blocks"]),
        "stream_blocks_live_max": float(sim.extra["blocks_live_max"]),
    }
    # Wall-clock seconds describe the host, not the fabric: kept apart from the metrics so two
    # identical runs give identical results (RunResult.timings_s).
    timings = {
        "wall_schedule_s": wall_schedule,  # load/generate the matrix, plan (and SpMV's y)
        "wall_sim_s": wall_sim,  # blocks: programs, C, demands, SimPy
        "events_per_s": sim.events / max(wall_sim, 1e-9),
    }
    if cfg.cores <= 64:
        for c, b in enumerate(sp_peak):
            metrics[f"sp_peak_bytes_core{c}"] = float(b)
    if sink is not None:
        metrics["output_nnz"] = float(sink.nnz)
        metrics["output_checksum"] = float(sink.checksum)
    for k, x in {**plan.stats, **tot.stats}.items():
        metrics.setdefault(f"schedule_{k}", float(x))
    return RunResult(
        simulator="piuma",
        workload=f"{kernel}:{name}",
        total_cycles=total,
        clock_hz=cfg.clock_hz,
        phase_cycles={k: int(round(x)) for k, x in sim.phase_cycles.items()},
        layer_cycles={},
        unit_busy_cycles=busy,
        bytes_moved={
            "dram_read": int(8 * read_words),
            "dram_write": int(8 * write_words),
            "network_byte_hops": int(sim.link_byte_hops),
            "sp_access": int(8 * (v["sp_reads"] + v["sp_writes"] + v["sp_atomics"])),
        },
        action_counts=counts,
        energy_pj=energy,
        metrics=metrics,
        schedule=f"{kernel}/{dataflow}/{part}",
        config_hash=config_hash(cfg),
        seed=seed,
        timings_s=timings,
    )
