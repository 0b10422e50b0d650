"""The SAT pipeline as explicit steps: load → schedule → simulate → energy → `RunResult`.

>>> from archsim.config import load_config
>>> r = simulate_sat(load_config("sat"), {"gemm": [256, 256, 256], "sparsity": "2:8"})
>>> r.metrics["effective_macs"] == 256**3 // 4
True
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from archsim.config import config_hash
from archsim.energy import energy_breakdown, load_energy_table
from archsim.results import RunResult
from archsim.sat.config import SatConfig
from archsim.sat.model import SatModel
from dataflow.sat import GemmSpec, Schedule, schedule_gemms, schedule_training
from workloads.errors import InputError
from workloads.sparsity import parse_nm

__all__ = ["simulate_sat", "make_schedule", "run_schedule", "parse_workload", "attach_area"]

_KEYS = {"model", "batch", "sparsity", "gemm", "dataflow"}


def _plain_int(x: Any) -> int:
    """An int, or a string of ASCII digits; never a bool, a float or ``'١٢'``."""
    if isinstance(x, bool):
        raise TypeError
    if isinstance(x, int):
        return x
    if isinstance(x, str) and x.strip().isascii() and x.strip().lstrip("+-").isdigit():
        return int(x)
    raise ValueError


def parse_workload(workload: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a SAT workload mapping (unknown keys, sizes, sparsity) into plain values."""
    unknown = set(workload) - _KEYS
    if unknown:
        raise InputError(f"workload: unknown key {sorted(unknown)[0]!r}; expected {sorted(_KEYS)}")
    w = dict(workload)
    w["sparsity"] = parse_nm(w.get("sparsity", "dense"))
    if ("model" in w) == ("gemm" in w):
        raise InputError("workload: give exactly one of 'model' or 'gemm'")
    if "gemm" in w:
        g = w["gemm"]
        if isinstance(g, str):
            g = g.split(",")
        try:
            if isinstance(g, (str, bytes)) or len(g) != 3:
                raise TypeError
            dims = [_plain_int(x) for x in g]
        except (TypeError, ValueError):
            raise InputError(f"workload.gemm: expected three integers M,K,N, got {g!r}") from None
        if len(dims) != 3:
            raise InputError(f"workload.gemm: expected three integers M,K,N, got {g!r}")
        for name, v in zip("MKN", dims):
            if v < 1:
                raise InputError(f"workload.gemm: {name} must be >= 1, got {v}")
        w["gemm"] = tuple(dims)
    else:
        if not isinstance(w["model"], str) or not w["model"]:
            raise InputError(f"workload.model: expected a zoo name or an .onnx path, got "
                             f"{w['model']!r}")
        batch = w.get("batch", 32)
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise InputError(f"workload.batch: must be an integer >= 1, got {batch!r}")
        w["batch"] = batch
    df = w.get("dataflow")
    if df is not None and df not in ("ws", "os", "auto"):
        raise InputError(f"workload.dataflow: expected ws, os or auto, got {df!r}")
    return w


def make_schedule(cfg: SatConfig, workload: Mapping[str, Any]) -> Schedule:
    """Offline schedule for a workload on a config (a pure function of both)."""
    w = parse_workload(workload)
    nm = w["sparsity"]
    dataflows = cfg.dataflows
    if w.get("dataflow") in ("ws", "os"):
        dataflows = (w["dataflow"],)
    kw = dict(dataflows=dataflows, interleave=cfg.schedule.interleave,
              pregenerate=cfg.schedule.pregenerate, prune_lanes=cfg.pruning_unit.lanes)
    shape, mem = cfg.array_shape, cfg.memory_shape
    if "gemm" in w:
        m, k, n = w["gemm"]
        spec = GemmSpec(layer="gemm", pass_="FF", m=m, k=k, n=n, prunable=True)
        return schedule_gemms([spec], nm, shape, mem, workload=f"gemm{m}x{k}x{n}", batch=1,
                              strict=True, **kw)
    from workloads.dnn import load_model

    return schedule_training(load_model(w["model"], batch=w["batch"]), w["batch"], nm, shape,
                             mem, **kw)


def run_schedule(cfg: SatConfig, schedule: Schedule, *, seed: int = 0,
                 on_gemm_done: Callable[[int], None] | None = None) -> RunResult:
    """Simulate a schedule and assemble the `RunResult` (cycles, traffic, energy, provenance).

    ``on_gemm_done(plan_index)`` is called as the array finishes each GEMM (progress display)."""
    from archsim.budget import check_sat_schedule

    check_sat_schedule(schedule)  # refuse what could never finish, before building anything
    stats = SatModel(cfg, schedule, on_gemm_done=on_gemm_done).run()
    total = int(math.ceil(stats.total_cycles))
    plans = schedule.plans
    phase: dict[str, int] = {"FF": 0, "BP": 0, "WU": 0, "drain": 0}
    layers: dict[str, dict[str, int]] = {}
    prev = 0.0
    for p, end in zip(plans, stats.gemm_array_end):
        seg = end - prev
        prev = end
        phase[p.pass_] = phase.get(p.pass_, 0) + seg
        layers.setdefault(p.layer, {}).setdefault(p.pass_, 0)
        layers[p.layer][p.pass_] += seg
    phase["drain"] = total - prev
    phase = {k: int(round(v)) for k, v in phase.items()}
    layers = {l: {k: int(round(v)) for k, v in d.items()} for l, d in layers.items()}
    # Keep phases summing to the total after rounding.
    phase["drain"] += total - sum(phase.values())
    busy = {k: int(round(v)) for k, v in stats.busy.items()}
    busy.setdefault("array", 0)
    actions = {c: {a: int(round(n)) for a, n in d.items()} for c, d in stats.actions.items()}
    table = load_energy_table(cfg.energy_table)
    energy = energy_breakdown(actions, table)
    macs = sum(p.macs for p in plans)
    eff = sum(p.macs * p.sparsity.n // p.sparsity.m for p in plans)
    a = cfg.array
    peak = a.rows * a.cols * a.multipliers_per_pe
    dram_bytes = stats.bytes.get("dram_read", 0) + stats.bytes.get("dram_write", 0)
    metrics = {
        "dense_macs": macs,
        "effective_macs": eff,
        "tiles": stats.tiles,
        "array_stall_input_cycles": int(round(stats.stall.get("array_input", 0))),
        "array_stall_output_cycles": int(round(stats.stall.get("array_output", 0))),
        "multiplier_utilization": eff / (peak * max(total, 1)),
        "dram_bytes_per_cycle": dram_bytes / max(total, 1),
        "dram_bandwidth_fraction": dram_bytes / max(total, 1) / cfg.dram_bytes_per_cycle,
        "gemms": len(plans),
    }
    for ps in ("FF", "BP", "WU"):
        metrics[f"array_busy_cycles.{ps}"] = busy.pop(f"array.{ps}", 0)
    return RunResult(
        simulator="sat",
        workload=_workload_name(schedule),
        total_cycles=total,
        clock_hz=cfg.clock_hz,
        phase_cycles=phase,
        layer_cycles=layers,
        unit_busy_cycles=busy,
        bytes_moved={k: int(round(v)) for k, v in stats.bytes.items()},
        action_counts=actions,
        energy_pj=energy,
        metrics=metrics,
        schedule=f"offline(dataflow={cfg.schedule.dataflow},interleave={schedule.interleave},"
                 f"pregenerate={schedule.pregenerate})",
        config_hash=config_hash(cfg),
        seed=seed,
    )


def _workload_name(s: Schedule) -> str:
    if s.workload.startswith("gemm"):
        return f"{s.workload}/{s.sparsity}"
    return f"{s.workload}/b{s.batch}/{s.sparsity}"


def simulate_sat(cfg: SatConfig, workload: Mapping[str, Any], *, seed: int = 0) -> RunResult:
    """Schedule and simulate one SAT workload (the `archsim.api.simulate` entry for ``sat``)."""
    if not isinstance(cfg, SatConfig):
        raise InputError("config: expected a 'sat' config")
    return run_schedule(cfg, make_schedule(cfg, workload), seed=seed)


def attach_area(result: RunResult, cfg: SatConfig, synth: Mapping[str, Any],
                *, where: str = "area") -> RunResult:
    """A copy of ``result`` carrying the synthesis figures of the array it ran on.

    ``synth`` is what `rtl.export.synth_stats` returns, or the JSON that
    ``archsim rtl synth --json`` writes (``{"params": ..., "results": [...]}``).  The circuit
    must be the config's array: same rows and cols, ``n`` = multipliers per PE and ``m`` =
    window; otherwise an `InputError` names the mismatch.  Numeric figures (``luts``, ``ffs``,
    ``dsps``, ``cells``, ``ff_bits``, ``multipliers`` ...) land in ``result.area`` as
    ``<target>.<figure>``.
    """
    from dataclasses import replace

    entries = list(synth.get("results", [synth]))
    params = dict(synth.get("params") or (entries[0].get("params") if entries else {}) or {})
    a = cfg.array
    want = {"rows": a.rows, "cols": a.cols, "n": a.multipliers_per_pe, "m": a.window}
    for key, value in want.items():
        if params.get(key) != value:
            raise InputError(f"{where}: synthesised array has {key}={params.get(key)!r}, the config "
                             f"needs {value} (rows, cols, n = multipliers_per_pe, m = window)")
    area = dict(result.area)
    for entry in entries:
        target = entry.get("target", "synth")
        for k, v in entry.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                area[f"{target}.{k}"] = v
    if len(area) == len(result.area):
        raise InputError(f"{where}: no synthesis figures found")
    return replace(result, area=area)
