"""Block transfers for simulators that move whole buffers (the SAT model): two fidelities.

A *block* is ``nbytes`` of contiguous addresses of one stream (activations, weights, master
weights...), read or written.  `BlockDram` keeps one address cursor per stream (so consecutive
blocks of a stream are consecutive in memory) and times each block in one of two ways:

* ``exact``: every burst of the block goes through the command-level `Channel` of its channel
  (address map of the preset), run to completion when the block is requested; blocks requested
  while earlier ones are in flight queue behind them in the channels' input FIFOs.  The result is
  command-accurate (refresh, bank groups, turnarounds, row misses at block boundaries) but costs
  one engine step per command: ~10^5 bursts/s, too slow for whole training iterations.
* ``aggregate`` (the fast path): a FIFO server whose rate per direction is the command model's
  measured streaming efficiency for that direction and address map (`stream_efficiency`, run once
  and cached), plus the closed-bank read latency (tRCD + CL + tBURST) and controller latency per
  block.  Its error against ``exact`` is measured in ``benchmarks/dram_sat.py``.

Times returned are in the caller's clock (``env_clock_hz``).
"""

from __future__ import annotations

import math

import numpy as np

from archsim.dram.addrmap import AddressMap
from archsim.dram.channel import Channel
from archsim.dram.config import DramConfig
from archsim.dram.loaded import stream_efficiency

__all__ = ["BlockDram"]

_REGION_BYTES = 1 << 30  # each stream cycles through its own 1 GiB region


class BlockDram:
    def __init__(self, cfg: DramConfig, env_clock_hz: float, fidelity: str = "aggregate") -> None:
        if fidelity not in ("aggregate", "exact"):
            raise ValueError(f"fidelity must be 'aggregate' or 'exact', got {fidelity!r}")
        self.cfg = cfg
        self.fidelity = fidelity
        self.ratio = cfg.clock_hz / env_clock_hz  # tCK per caller cycle
        o = cfg.organisation
        self.peak_bytes_per_tck = o.channels * o.burst_bytes / o.burst_tck
        self.latency_tck = (cfg.closed_forms()["closed_bank_read_tck"]
                            + cfg.controller.controller_latency_tck)
        self.cursor: dict[str, int] = {}
        self.base: dict[str, int] = {}
        self.free_at = 0.0  # aggregate: server free (caller cycles)
        self.bursts = 0
        if fidelity == "aggregate":
            self.eff = {False: stream_efficiency(cfg, 0.0), True: stream_efficiency(cfg, 1.0)}
        else:
            self.amap = AddressMap.for_config(cfg)
            self.channels = [Channel(cfg) for _ in range(o.channels)]
            self._S = cfg.controller.subranks

    def _addr(self, stream: str, nbytes: int) -> int:
        if stream not in self.base:
            self.base[stream] = len(self.base) * _REGION_BYTES
            self.cursor[stream] = 0
        A = self.cfg.access_bytes
        cur = self.cursor[stream]
        if cur + nbytes > _REGION_BYTES:
            cur = 0
        self.cursor[stream] = cur + -(-nbytes // A) * A
        return self.base[stream] + cur

    def transfer(self, now: float, nbytes: float, write: bool, stream: str,
                 ready: float | None = None) -> tuple[float, float]:
        """(start, end) in caller cycles of a block requested at ``now`` (ready at ``ready``)."""
        nbytes = int(math.ceil(nbytes))
        ready = now if ready is None else ready
        if nbytes <= 0:
            return ready, ready
        addr = self._addr(stream, nbytes)
        A = self.cfg.access_bytes
        n = -(-nbytes // A)
        self.bursts += n
        if self.fidelity == "aggregate":
            start = max(ready, self.free_at)
            dur = nbytes / (self.peak_bytes_per_tck * self.eff[bool(write)]) / self.ratio
            self.free_at = start + dur
            return start, self.free_at + self.latency_tck / self.ratio
        t = math.ceil(ready * self.ratio - 1e-9)
        f = self.amap.decode(addr + np.arange(n, dtype=np.int64) * A)
        o = self.cfg.organisation
        bank = (((f["ra"] * self._S + f["sr"]) * o.bank_groups + f["bg"]) * o.banks_per_group
                + f["ba"])
        end = t
        for ch, c in enumerate(self.channels):
            sel = np.nonzero(f["ch"] == ch)[0] if len(self.channels) > 1 else np.arange(n)
            if not len(sel):
                continue
            k0 = len(c.r_arr)
            c.extend([t] * len(sel), bank[sel].tolist(), f["ro"][sel].tolist(), [write] * len(sel))
            c.run()
            end = max(end, max(c.done[k0:]))
            c.compact()
        return ready, end / self.ratio

    def stats(self) -> dict:
        """Command counts, row-buffer outcomes and bus efficiency of the exact engines."""
        if self.fidelity != "exact":
            return {"fidelity": "aggregate", "bursts": self.bursts,
                    "read_efficiency": self.eff[False], "write_efficiency": self.eff[True]}
        cmds: dict[str, int] = {}
        for c in self.channels:
            for k, v in c.cmds.items():
                cmds[k] = cmds.get(k, 0) + v
        end = max(c.last_data for c in self.channels) or 1
        return {"fidelity": "exact", "bursts": self.bursts, "commands": cmds,
                "row_hits": sum(c.row_hits for c in self.channels),
                "row_misses": sum(c.row_misses for c in self.channels),
                "row_conflicts": sum(c.row_conflicts for c in self.channels),
                "bus_busy_fraction": self.bursts * self.cfg.burst_tck / (end * len(self.channels))}
