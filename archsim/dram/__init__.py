"""Command-level DRAM model shared by the simulators (issue #15).

Public API (details in each module):

* `load_preset(name, overrides)` / `preset_names()`: validated `DramConfig` presets
  (``DDR4_2400_x8_1R``, ``DDR4_2400_x4_1R``, ``DDR4_2400_x16_1R``, ``DDR5_4400_x8_subch``,
  ``HBM2_2000``) from ``archsim/configs/dram/``.
* `simulate(cfg, addrs, writes, arrivals, sizes) -> DramResult`: the batch function over a
  request array (per-request completion clocks + `DramStats`).
* `Channel`: the per-channel command-level engine (push requests, ``advance(t)``), used by the
  SimPy adapter `DramPort`.
"""

from archsim.dram.addrmap import AddressMap
from archsim.dram.channel import Channel
from archsim.dram.config import DramConfig, load_preset, preset_names
from archsim.dram.model import DramResult, DramStats, simulate

__all__ = ["AddressMap", "Channel", "DramConfig", "DramResult", "DramStats", "load_preset",
           "preset_names", "simulate"]
