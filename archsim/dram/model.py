"""Batch front end: run a request array through the command-level model, collect statistics.

`simulate` takes byte addresses, read/write flags, arrival clocks and request sizes (numpy
arrays), splits requests into bursts (a request smaller than the access unit occupies a whole
burst and the difference is counted as wasted bytes; a larger one becomes consecutive bursts),
routes each burst to its channel by the address map, runs one `Channel` per channel and returns
a `DramResult`: per-request completion clocks and a `DramStats` summary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from archsim.dram.addrmap import AddressMap
from archsim.dram.channel import Channel
from archsim.dram.config import DramConfig
from workloads.errors import InputError

__all__ = ["DramStats", "DramResult", "simulate", "stats_of"]


@dataclass(frozen=True)
class DramStats:
    """Summary of one run (all channels).  Clocks are tCK of the preset; efficiency is the
    fraction of the data bus(es) busy over the run (achieved / peak bandwidth)."""

    preset: str
    channels: int
    requests: int
    reads: int
    writes: int
    bursts: int
    useful_bytes: int
    burst_bytes: int
    wasted_bytes: int
    cycles_tck: int
    seconds: float
    efficiency: float
    bandwidth_bytes_per_s: float
    useful_bandwidth_bytes_per_s: float
    row_hits: int
    row_misses: int
    row_conflicts: int
    read_latency_mean_tck: float
    read_latency_p50_tck: float
    read_latency_p99_tck: float
    read_latency_mean_ns: float
    #: mean read latency from entering the controller's queue (DRAMsim3's definition; equals
    #: the above unless the queue was full when the request arrived)
    read_latency_accepted_mean_tck: float
    write_latency_mean_tck: float
    read_queue_mean: float
    write_queue_mean: float
    commands: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DramResult:
    stats: DramStats
    #: per request: clock its data returned (reads) or was written (writes), controller latency in
    done_tck: np.ndarray
    #: per request: done - arrival
    latency_tck: np.ndarray


def _as_arrays(addrs, writes, arrivals, sizes, access_bytes):
    addrs = np.asarray(addrs, dtype=np.int64)
    n = len(addrs)
    writes = np.zeros(n, dtype=bool) if writes is None else np.asarray(writes, dtype=bool)
    arrivals = np.zeros(n, dtype=np.int64) if arrivals is None else np.asarray(arrivals, dtype=np.int64)
    sizes = (np.full(n, access_bytes, dtype=np.int64) if sizes is None
             else np.broadcast_to(np.asarray(sizes, dtype=np.int64), (n,)).copy())
    if not (len(writes) == len(arrivals) == len(sizes) == n):
        raise InputError("simulate: addrs, writes, arrivals and sizes must have equal lengths")
    if n and (np.any(np.diff(arrivals) < 0) or arrivals[0] < 0):
        raise InputError("simulate: arrival clocks must be >= 0 and non-decreasing")
    if np.any(sizes <= 0):
        raise InputError("simulate: request sizes must be > 0")
    if np.any(addrs < 0):
        raise InputError("simulate: addresses must be >= 0")
    return addrs, writes, arrivals, sizes


def simulate(cfg: DramConfig, addrs, writes=None, arrivals=None, sizes=None) -> DramResult:
    """Run requests through the command-level model (one `Channel` per channel).

    ``addrs`` byte addresses; ``writes`` bool flags (default all reads); ``arrivals`` clocks
    (tCK, non-decreasing; default 0 = saturated: each request enters as soon as its queue has
    room); ``sizes`` bytes per request (default one access unit = one burst).
    """
    A = cfg.access_bytes
    addrs, writes, arrivals, sizes = _as_arrays(addrs, writes, arrivals, sizes, A)
    n = len(addrs)
    # split into bursts: burst k of request i covers [start + k·A, ...)
    start = addrs - addrs % A
    nb = (addrs + sizes - 1) // A - addrs // A + 1
    parent = np.repeat(np.arange(n), nb)
    off = np.arange(len(parent)) - np.repeat(np.cumsum(nb) - nb, nb)
    baddr = np.repeat(start, nb) + off * A
    amap = AddressMap.for_config(cfg)
    f = amap.decode(baddr)
    o = cfg.organisation
    S = cfg.controller.subranks
    bank = ((f["ra"] * S + f["sr"]) * o.bank_groups + f["bg"]) * o.banks_per_group + f["ba"]
    bw = np.repeat(writes, nb)
    barr = np.repeat(arrivals, nb)
    done = np.empty(len(parent), dtype=np.int64)
    enq = np.empty(len(parent), dtype=np.int64)
    chans = []
    for ch in range(o.channels):
        sel = np.nonzero(f["ch"] == ch)[0] if o.channels > 1 else np.arange(len(parent))
        c = Channel(cfg)
        c.extend(barr[sel].tolist(), bank[sel].tolist(), f["ro"][sel].tolist(), bw[sel].tolist())
        c.run()
        done[sel] = c.done
        enq[sel] = c.enq
        chans.append(c)
    req_done = np.zeros(n, dtype=np.int64)
    np.maximum.at(req_done, parent, done)
    req_enq = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(req_enq, parent, enq)
    lat = req_done - arrivals
    useful = int(sizes.sum())
    stats = stats_of(cfg, chans, n_requests=n, reads=int((~writes).sum()),
                     useful_bytes=useful, read_latency=lat[~writes], write_latency=lat[writes],
                     read_latency_accepted=(req_done - req_enq)[~writes])
    return DramResult(stats, req_done, lat)


def stats_of(cfg: DramConfig, chans: list[Channel], *, n_requests: int, reads: int,
             useful_bytes: int, read_latency, write_latency,
             read_latency_accepted=None) -> DramStats:
    """`DramStats` from finished channels and per-request latencies (clocks)."""
    A = cfg.access_bytes
    bursts = sum(c.completed for c in chans)
    end = max((c.last_data for c in chans), default=0)
    t0 = min((c.t_first for c in chans if c.t_first is not None), default=0)
    cycles = max(1, end - t0)
    tck_s = cfg.timing.tCK_ns * 1e-9
    seconds = cycles * tck_s
    busy = bursts * cfg.burst_tck / cfg.controller.subranks
    cmds: dict[str, int] = {}
    for c in chans:
        for k, v in c.cmds.items():
            cmds[k] = cmds.get(k, 0) + v
    rl = np.asarray(read_latency, dtype=np.float64)
    ra = rl if read_latency_accepted is None else np.asarray(read_latency_accepted, np.float64)
    wl = np.asarray(write_latency, dtype=np.float64)
    occ_r = sum(c.occ_int[0] for c in chans) / cycles / max(1, len(chans))
    occ_w = sum(c.occ_int[1] for c in chans) / cycles / max(1, len(chans))
    o = cfg.organisation
    return DramStats(
        preset=cfg.name, channels=o.channels, requests=n_requests, reads=reads,
        writes=n_requests - reads, bursts=bursts, useful_bytes=useful_bytes,
        burst_bytes=bursts * A, wasted_bytes=max(0, bursts * A - useful_bytes),
        cycles_tck=int(cycles), seconds=seconds,
        efficiency=busy / (cycles * len(chans)) if chans else 0.0,
        bandwidth_bytes_per_s=bursts * A / seconds,
        useful_bandwidth_bytes_per_s=useful_bytes / seconds,
        row_hits=sum(c.row_hits for c in chans), row_misses=sum(c.row_misses for c in chans),
        row_conflicts=sum(c.row_conflicts for c in chans),
        read_latency_mean_tck=float(rl.mean()) if len(rl) else 0.0,
        read_latency_p50_tck=float(np.percentile(rl, 50)) if len(rl) else 0.0,
        read_latency_p99_tck=float(np.percentile(rl, 99)) if len(rl) else 0.0,
        read_latency_mean_ns=float(rl.mean()) * cfg.timing.tCK_ns if len(rl) else 0.0,
        read_latency_accepted_mean_tck=float(ra.mean()) if len(ra) else 0.0,
        write_latency_mean_tck=float(wl.mean()) if len(wl) else 0.0,
        read_queue_mean=occ_r, write_queue_mean=occ_w, commands=cmds,
    )
