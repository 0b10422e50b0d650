"""Loaded-latency curves derived by running the command-level model, and cheap models built on them.

* `loaded_latency_curve(cfg, pattern)` runs open-loop request streams (random or sequential, reads
  or a read/write mix) at a ladder of offered loads through `simulate` and returns a
  `LatencyCurve`: achieved throughput and mean/p99 latency per offered load, plus the saturated
  throughput.  Curves are cached per (preset, pattern, sizes, seed).
* `LatencyCurve.latency_ns(load)` interpolates: a fast simulator can charge queueing delay below
  saturation without running the command model (PIUMA's controllers; ``load`` is the fraction of
  the channel's peak data rate in use).
* `stream_time_tck(cfg, nbytes, ...)` is the per-block aggregation used by the SAT wiring: the time
  to move a contiguous block, from the command model's saturated efficiency of the pattern.
* `compare_with_bandwidth_server(cfg, addrs, ...)` runs an access stream through the command
  model and through a bandwidth server (peak rate + fixed latency) and reports both, for the
  PIUMA SpMV ladder comparison.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from archsim.dram import patterns as P
from archsim.dram.config import DramConfig
from archsim.dram.model import simulate

__all__ = ["LatencyCurve", "loaded_latency_curve", "stream_efficiency", "stream_time_tck",
           "compare_with_bandwidth_server", "DEFAULT_LOADS"]

DEFAULT_LOADS = (0.02, 0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass(frozen=True)
class LatencyCurve:
    """Latency vs offered load of one preset and access pattern (loads: fraction of peak)."""

    preset: str
    pattern: str
    offered: tuple[float, ...]
    achieved: tuple[float, ...]
    latency_mean_ns: tuple[float, ...]
    latency_p99_ns: tuple[float, ...]
    saturation: float  # achieved fraction of peak with the queue kept full
    unloaded_ns: float

    def latency_ns(self, load: float) -> float:
        """Mean latency at a load (fraction of peak); loads at or past saturation return the
        highest latency measured below it (the caller is saturated: queueing is unbounded)."""
        ach = np.asarray(self.achieved)
        lat = np.asarray(self.latency_mean_ns)
        ok = ach < 0.98 * self.saturation
        ok[0] = True
        x, y = ach[ok], lat[ok]
        order = np.argsort(x)
        x, y = x[order], y[order]
        if load <= x[0]:
            return float(y[0])
        return float(np.interp(min(load, x[-1]), x, y))

    def to_dict(self) -> dict:
        return asdict(self)


def _key(cfg: DramConfig) -> str:
    return json.dumps(cfg.model_dump(), sort_keys=True)


@lru_cache(maxsize=64)
def _curve(cfg_json: str, pattern: str, loads: tuple, requests: int, seed: int,
           write_fraction: float, size_bytes: int | None) -> LatencyCurve:
    cfg = DramConfig.model_validate(json.loads(cfg_json))
    bl = cfg.burst_tck / cfg.controller.subranks
    offered, achieved, mean, p99 = [], [], [], []
    tck = cfg.timing.tCK_ns
    chans = cfg.organisation.channels
    for load in loads:
        if not 0 < load <= 1:
            raise ValueError(f"loads must be in (0, 1], got {load}")
        gap = bl / load / chans  # fractional: arrivals at floor(i * gap)
        n = requests if gap < 200 else max(500, requests // 8)
        a, _ = _pattern(cfg, pattern, n, seed, 0)
        arr = np.floor(np.arange(n) * gap).astype(np.int64)
        w = P.mix_writes(n, seed + 1, write_fraction) if write_fraction > 0 else None
        r = simulate(cfg, a, w, arr, size_bytes)
        rl = r.latency_tck if w is None else r.latency_tck[~w]
        offered.append(load)
        achieved.append(r.stats.efficiency)
        mean.append(float(rl.mean()) * tck)
        p99.append(float(np.percentile(rl, 99)) * tck)
    a, _ = _pattern(cfg, pattern, requests, seed, 0)
    w = P.mix_writes(requests, seed + 1, write_fraction) if write_fraction > 0 else None
    sat = simulate(cfg, a, w, None, size_bytes).stats.efficiency
    a, arr = _pattern(cfg, pattern, 500, seed, 2000)
    unloaded = float(simulate(cfg, a, None, arr, size_bytes).latency_tck.mean()) * tck
    return LatencyCurve(cfg.name, pattern, tuple(offered), tuple(achieved), tuple(mean),
                        tuple(p99), sat, unloaded)


def _pattern(cfg, pattern, n, seed, gap):
    if pattern == "random":
        return P.uniform_random(n, seed, gap_tck=gap, align_bytes=cfg.access_bytes)
    if pattern == "sequential":
        return P.sequential(n, gap_tck=gap, step_bytes=cfg.access_bytes)
    raise ValueError(f"pattern must be 'random' or 'sequential', got {pattern!r}")


def loaded_latency_curve(cfg: DramConfig, pattern: str = "random", *,
                         loads: tuple[float, ...] = DEFAULT_LOADS, requests: int = 8000,
                         seed: int = 1, write_fraction: float = 0.0,
                         size_bytes: int | None = None) -> LatencyCurve:
    """Run the command model at each offered load (fraction of the channel's peak) and return the
    curve.  ``requests`` per point (loads below ~2 % use 1/8 of it); deterministic in ``seed``."""
    return _curve(_key(cfg), pattern, tuple(loads), requests, seed, write_fraction, size_bytes)


@lru_cache(maxsize=64)
def _stream_eff(cfg_json: str, write_fraction: float, requests: int) -> float:
    cfg = DramConfig.model_validate(json.loads(cfg_json))
    a, _ = P.sequential(requests, step_bytes=cfg.access_bytes)
    w = None
    if write_fraction >= 1.0:
        w = np.ones(requests, bool)
    elif write_fraction > 0:
        # interleaved streams: a read stream and a write stream in separate regions, mixed
        w = P.mix_writes(requests, 1, write_fraction)
        a = np.where(w, a + (1 << 33), a)
    return simulate(cfg, a, w).stats.efficiency


def stream_efficiency(cfg: DramConfig, write_fraction: float = 0.0, requests: int = 20000) -> float:
    """Saturated efficiency (fraction of peak) of contiguous streaming through ``cfg``'s address
    map, reads only, writes only or mixed — measured once with the command model and cached."""
    return _stream_eff(_key(cfg), round(float(write_fraction), 2), requests)


def stream_time_tck(cfg: DramConfig, nbytes: int, write_fraction: float = 0.0) -> float:
    """Clocks to move ``nbytes`` of a contiguous block at the command model's streaming rate
    (all channels of ``cfg`` share it)."""
    o = cfg.organisation
    rate = o.channels * cfg.organisation.burst_bytes / o.burst_tck  # bytes per tCK at peak
    return nbytes / (rate * stream_efficiency(cfg, write_fraction))


def compare_with_bandwidth_server(cfg: DramConfig, addrs, sizes=None, writes=None,
                                  arrivals=None, *, latency_tck: float | None = None) -> dict:
    """One access stream through the command model and through a bandwidth server.

    The server moves ``sizes`` bytes at the channels' peak rate in FIFO order and adds a fixed
    latency (default: the preset's closed-bank read, tRCD + CL + tBURST).  Returns both makespans
    (tCK and s), the ratio, and the command model's statistics — the PIUMA SpMV ladder compares
    the two this way (8 B accesses cost a burst in the command model, 8 B of bandwidth in the server).
    """
    r = simulate(cfg, addrs, writes, arrivals, sizes)
    o = cfg.organisation
    n = len(r.done_tck)
    sizes_arr = (np.full(n, cfg.access_bytes) if sizes is None
                 else np.broadcast_to(np.asarray(sizes), (n,)))
    arr = np.zeros(n) if arrivals is None else np.asarray(arrivals, dtype=float)
    rate = o.channels * cfg.organisation.burst_bytes / o.burst_tck
    lat = cfg.closed_forms()["closed_bank_read_tck"] if latency_tck is None else latency_tck
    free = 0.0
    end = 0.0
    for t, s in zip(arr, sizes_arr):
        free = max(free, t) + s / rate
        end = max(end, free + lat)
    cmd_end = float(r.done_tck.max()) if n else 0.0
    tck = cfg.timing.tCK_ns * 1e-9
    return {"command_tck": cmd_end, "bandwidth_server_tck": end,
            "command_s": cmd_end * tck, "bandwidth_server_s": end * tck,
            "command_over_server": cmd_end / end if end else float("nan"),
            "stats": r.stats.to_dict()}
