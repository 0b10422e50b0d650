"""Command-level DRAM model shared by the simulators (DDR4, DDR5 sub-channels, HBM2).

What is modelled, at which granularity
--------------------------------------
One event per DRAM *command* (ACT, PRE, RD, WR, PREA/REF) per channel, each at the earliest clock
all JEDEC constraints allow, idle time skipped (`archsim.dram.channel`): per-bank open row and
earliest ACT/PRE/RD/WR, per-bank-group tCCD_L/tRRD_L/tWTR_L, per-rank tRRD_S/tFAW/tCCD_S and
all-bank refresh, data-bus turnaround and rank switches, one command per clock.  The controller
has read/write queues with write-drain watermarks, FR-FCFS, open or closed page, an address map
given as a DRAMsim3-style field string (``"ro ch ra ba bg co"``, MSB -> LSB) and a separate
``controller_latency_tck``.  Validated against DRAMsim3 and Ramulator 2.1 figures
(``tests/test_dram.py``; tables in BENCHMARKS.md).

Public API
----------
Configuration
    `load_preset(name, overrides)` -> `DramConfig`; `preset_names()`: ``DDR4_2400_x8_1R``,
    ``DDR4_2400_x4_1R``, ``DDR4_2400_x16_1R``, ``DDR5_4400_x8_subch`` (``timing.tFAW_tck`` 32 or
    44), ``HBM2_2000``.  Overrides are nested dicts, e.g. ``{"timing": {"tFAW_tck": 44},
    "controller": {"address_map": "ro ch ra ba co bg", "controller_latency_tck": 13}}``.
    ``controller.fine_grain: subrank`` with ``subranks: 8`` is PIUMA's *speculative* native-8 B
    mode (independent narrow sub-ranks, shared command bus and tFAW window); the default
    ``burst`` charges a whole burst for a small request and counts the wasted bytes.
Batch function over a request array
    ``simulate(cfg, addrs, writes=None, arrivals=None, sizes=None)`` -> `DramResult` with
    ``done_tck`` / ``latency_tck`` per request and `DramStats` (efficiency, bandwidth, useful
    bandwidth, wasted bytes, row hits/misses/conflicts, read latency mean/p50/p99, queue
    occupancy, command counts for energy).  Arrivals in tCK, non-decreasing; 0 = saturated.
SimPy
    ``port = DramPort(env, cfg, env_clock_hz=...)``; ``yield port.read(addr, nbytes)`` /
    ``port.write(...)`` / ``port.access(addr, nbytes, write)``: an event fired at data return;
    one process per channel sleeps until its next legal command (identical completions to
    `simulate`, tested).  ``port.stats()`` -> `DramStats`.
Cheap models derived from the command model (for fast simulators)
    ``loaded_latency_curve(cfg, "random"|"sequential", loads=..., write_fraction=...)`` ->
    `LatencyCurve`; ``curve.latency_ns(load)`` interpolates mean latency at a load (fraction of
    peak) below saturation (``curve.saturation``), so a fast model can charge queueing delay.
    ``stream_efficiency(cfg, write_fraction)``: saturated efficiency of contiguous streaming.
    `BlockDram`: whole-buffer block transfers, ``exact`` (every burst) or ``aggregate`` (streaming
    efficiency; the SAT model's ``dram.model: command``).
    ``compare_with_bandwidth_server(cfg, addrs, sizes, writes, arrivals)``: the same stream through
    the command model and a peak-rate bandwidth server (the PIUMA SpMV ladder comparison).
Traces and CLI
    `read_trace` / `write_trace` (DRAMsim3 format ``0xADDR READ|WRITE cycle``);
    ``archsim dram run TRACE --preset NAME --json OUT``, ``archsim dram presets``,
    ``archsim dram curve --preset NAME``.

Example
-------
>>> from archsim.dram import load_preset, simulate
>>> cfg = load_preset("DDR4_2400_x8_1R")
>>> # closed bank, row hit, row conflict (same bank, another row) on an idle channel
>>> simulate(cfg, [0, 64, 1 << 20], arrivals=[0, 100, 1000]).latency_tck.tolist()
[38, 21, 55]

The names above are imported on first use (PEP 562), so registering ``archsim dram`` in the
command line costs no numpy, pydantic or SimPy.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: public name -> module that defines it
_LAZY = {
    "AddressMap": "archsim.dram.addrmap",
    "BlockDram": "archsim.dram.blocks",
    "Channel": "archsim.dram.channel",
    "DramConfig": "archsim.dram.config",
    "load_preset": "archsim.dram.config",
    "preset_names": "archsim.dram.config",
    "LatencyCurve": "archsim.dram.loaded",
    "compare_with_bandwidth_server": "archsim.dram.loaded",
    "loaded_latency_curve": "archsim.dram.loaded",
    "stream_efficiency": "archsim.dram.loaded",
    "DramResult": "archsim.dram.model",
    "DramStats": "archsim.dram.model",
    "simulate": "archsim.dram.model",
    "DramPort": "archsim.dram.port",
    "read_trace": "archsim.dram.trace",
    "write_trace": "archsim.dram.trace",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'archsim.dram' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
