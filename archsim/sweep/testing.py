"""A synthetic simulator for testing the sweep machinery without a real model.

`synthetic_simulate` has the signature of `archsim.api.simulate` and returns a deterministic
`RunResult` computed from the config's numbers (any config kind), the workload and the seed.
Extra workload keys drive faults, so that tests can exercise the runner end to end:

* ``sleep_s``: sleep that long (makes a sweep slow enough to be killed mid-way);
* ``fail``: raise ``RuntimeError`` (a point that raises is recorded, the sweep goes on);
* ``die_once``: a file path; if it does not exist, create it and SIGKILL the current process
  (a worker dies mid-point once; the retry succeeds).

It is deliberately not registered anywhere: a sweep uses it only when it is passed as
``simulate_fn``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from typing import Any, Mapping

from archsim.results import RunResult

__all__ = ["synthetic_simulate"]


def _num(cfg: Mapping[str, Any], dotted: str, default: float) -> float:
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return float(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else default


def synthetic_simulate(config: Any, workload: Mapping[str, Any], *, seed: int = 0) -> RunResult:
    cfg = config if isinstance(config, Mapping) else config.model_dump(mode="json")
    wl = dict(workload)
    if wl.get("sleep_s"):
        time.sleep(float(wl["sleep_s"]))
    if wl.get("die_once"):
        marker = str(wl["die_once"])
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pass
        else:
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)
    if wl.get("fail"):
        raise RuntimeError(f"synthetic failure for workload {json.dumps(wl, sort_keys=True)}")
    rows = _num(cfg, "array.rows", 32)
    cols = _num(cfg, "array.cols", 32)
    clock = _num(cfg, "clock_hz", 1e9)
    bw = _num(cfg, "dram.channels", 1) * _num(cfg, "dram.channel_bytes_per_s", 1e10) / clock
    buf = _num(cfg, "buffers.weight_bytes", 1 << 18) + _num(cfg, "buffers.act_bytes", 1 << 18)
    sp = str(wl.get("sparsity", "dense"))
    density = 1.0
    if ":" in sp:
        n, m = (int(x) for x in sp.split(":"))
        density = n / m
    macs = float(wl.get("macs", 1e9)) * density
    compute = macs / (rows * cols)
    traffic = 4e7 * (1.0 + (1 << 20) / buf) * (0.5 + density / 2)
    h = int(hashlib.sha256(json.dumps([cfg, wl, seed], sort_keys=True, default=str).encode()).hexdigest()[:8], 16)
    jitter = 1.0 + (h % 1000) / 1e5
    cycles = int(max(compute, traffic / bw) * jitter) + 1000
    energy = {
        "array": macs * 0.5,
        "sram": traffic * 0.2 * (1 + buf / (1 << 22)),
        "dram": traffic * 20.0,
        "leakage": cycles * rows * cols * 1e-3,
    }
    return RunResult(
        simulator="synthetic",
        workload=json.dumps(wl, sort_keys=True),
        total_cycles=cycles,
        clock_hz=clock,
        phase_cycles={"FF": cycles // 3, "BP": cycles // 3, "WU": cycles - 2 * (cycles // 3)},
        unit_busy_cycles={"array": int(min(cycles, compute))},
        bytes_moved={"dram_read": int(traffic)},
        energy_pj=energy,
        metrics={"macs": macs},
        area={"array_mm2": rows * cols * 0.002, "buffers_mm2": buf / (1 << 20) * 0.8},
        schedule="synthetic",
        config_hash=hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16],
        seed=seed,
        version="synthetic",
    )
