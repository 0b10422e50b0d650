"""Typed configuration of the PIUMA-like graph fabric (``kind: piuma``).

Fields carry their units in their names; the preset ``configs/piuma.yaml`` cites the PIUMA
paper (arXiv 2010.06277) or the Hot Chips 2023 disclosure for each default it can, and says
"assumption" for the rest.  Derived values (threads, controllers, the `FabricShape` handed to
the dataflow layer) are properties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from archsim.config import StrictModel
from archsim.piuma.kernel_config import SpgemmKernelConfig, StreamConfig

if TYPE_CHECKING:  # imported in `shape`: loading any config must not pull in scipy
    from dataflow.piuma import FabricShape

__all__ = ["PiumaConfig", "DramConfig", "NetworkConfig", "CacheConfig", "DmaConfig", "SimConfig"]


class DramConfig(StrictModel):
    """One memory controller per core; every access moves ``access_bytes`` (8).

    ``latency_cycles`` is the *unloaded* round trip at the controller; queueing below
    saturation is added by ``queue_model`` (`archsim.piuma.queueing`).  ``interleave_words``:
    consecutive words per controller before the address moves to the next one (8 = one cache
    line per controller, so a line fill is one request to one controller)."""

    bytes_per_cycle_per_controller: float = Field(gt=0, le=1024)
    latency_cycles: int = Field(ge=1, le=10_000)
    access_bytes: Literal[8] = 8
    atomic_occupancy: float = Field(ge=1, le=16)  # access slots a remote atomic holds
    mapping: Literal["interleaved", "block"] = "interleaved"
    interleave_words: int = Field(default=8, ge=1, le=4096)
    queue_model: Literal["md1", "none", "ddr5-curve"] = "md1"

    @model_validator(mode="after")
    def _pow2(self) -> "DramConfig":
        if self.interleave_words & (self.interleave_words - 1):
            raise ValueError(f"interleave_words must be a power of two, got {self.interleave_words}")
        return self


class NetworkConfig(StrictModel):
    """On-die 2D mesh of ``mesh_rows x mesh_cols`` routers (XY routing); cores sit at
    ``core_routers`` (row-major router ids; empty, or fewer than the cores: the cores fill whole
    rows between an I/O row on top and one at the bottom, ``mesh_cols`` wide), the other
    routers feed the optical I/O.  Dies are joined all-to-all: one optical link per ordered die
    pair, attached at an I/O router of each die, made of ``optical_ports_per_die // (dies - 1)``
    ports of ``optical_port_bytes_per_cycle`` each (a die's ports spread over its peers).
    Messages: a read request is ``header_bytes``; a response or a write carries ``header_bytes``
    + 8 bytes per word."""

    mesh_rows: int = Field(default=0, ge=0, le=64)  # 0 = as many rows as the cores need
    mesh_cols: int = Field(ge=1, le=64)
    core_routers: list[int] = Field(default_factory=list)
    hop_latency_cycles: int = Field(ge=0, le=1000)
    link_bytes_per_cycle: float = Field(gt=0)
    die_link_latency_cycles: int = Field(ge=0, le=100_000)
    optical_ports_per_die: int = Field(ge=1, le=4096)
    optical_port_bytes_per_cycle: float = Field(gt=0)
    header_bytes: int = Field(default=8, ge=0, le=64)


class CacheConfig(StrictModel):
    """Per-pipeline, non-coherent, direct-mapped data cache."""

    bytes_per_pipeline: int = Field(ge=64)
    line_bytes: int = Field(ge=8, le=512)

    @model_validator(mode="after")
    def _pow2(self) -> "CacheConfig":
        for name in ("bytes_per_pipeline", "line_bytes"):
            v = getattr(self, name)
            if v & (v - 1):
                raise ValueError(f"{name} must be a power of two, got {v}")
        if self.line_bytes % 8 or self.bytes_per_pipeline < self.line_bytes:
            raise ValueError("line_bytes must be a multiple of 8 and <= bytes_per_pipeline")
        return self


class DmaConfig(StrictModel):
    """Per-core DMA engine: gather/scatter/copy of 8-byte elements, non-blocking."""

    requests_per_cycle: float = Field(gt=0, le=64)
    max_outstanding: int = Field(ge=1, le=65536)


class SimConfig(StrictModel):
    """Simulation level and granularity.

    ``detail``: ``task`` (fast: one SimPy event per task, `archsim.piuma.model`) or ``access``
    (reference: one SimPy event per memory access / scratchpad op / DMA word at every server
    it visits, `archsim.piuma.detail`; small inputs only, refused above ``detail_max_ops``).
    ``bucket_cycles``: width of the fast mode's reservation buckets (0 = automatic, from the
    program alone so that it does not move with hardware parameters).  ``queue_rho_max``: the
    fast model's M/G/1 waits use utilisations up to this value; above it the calendars'
    stretching stands for the saturated queue (checked against ``access``).  ``contention``:
    how the fast level shares the fabric among running tasks: ``fluid`` (default; fair sharing
    from approximate mean-value analysis, `archsim.piuma.fluid`) or ``calendar`` (first-come
    reservation calendars + M/G/1 waits; ``bucket_cycles`` and ``queue_rho_max`` apply to it
    only)."""

    bucket_cycles: int = Field(ge=0, le=1 << 20)
    detail: Literal["task", "access"] = "task"
    detail_max_ops: int = Field(default=20_000_000, ge=1)
    queue_rho_max: float = Field(default=0.8, gt=0.0, lt=1.0)
    contention: Literal["fluid", "calendar"] = "fluid"


class PiumaConfig(StrictModel):
    kind: Literal["piuma"]
    version: int = Field(ge=1, le=1)
    name: str = "piuma"
    clock_hz: float = Field(gt=0)
    dies: int = Field(ge=1, le=64)
    cores_per_die: int = Field(ge=1, le=256)
    mtp_per_core: int = Field(ge=0, le=64)
    threads_per_mtp: int = Field(ge=1, le=256)
    stp_per_core: int = Field(ge=0, le=64)
    issue_per_cycle_per_pipeline: float = Field(gt=0, le=8)
    scratchpad_bytes: int = Field(ge=1024)
    sp_banks: int = Field(ge=1, le=1024)
    sp_latency_cycles: int = Field(ge=1, le=1000)
    sp_atomic_cycles: int = Field(ge=1, le=64)  # bank occupancy of a scratchpad atomic
    dram: DramConfig
    network: NetworkConfig
    cache: CacheConfig
    dma: DmaConfig
    sim: SimConfig
    spgemm: SpgemmKernelConfig = SpgemmKernelConfig()
    stream: StreamConfig = StreamConfig()
    energy_table: str = "energy/piuma_7nm.yaml"

    @model_validator(mode="after")
    def _checks(self) -> "PiumaConfig":
        if self.mtp_per_core + self.stp_per_core < 1:
            raise ValueError("a core needs at least one pipeline (mtp_per_core + stp_per_core >= 1)")
        if self.sp_banks & (self.sp_banks - 1):
            raise ValueError(f"sp_banks must be a power of two, got {self.sp_banks}")
        net = self.network
        if net.core_routers:
            rows = net.mesh_rows or max(net.core_routers) // net.mesh_cols + 1
            if len(set(net.core_routers)) != len(net.core_routers) or min(net.core_routers) < 0 or max(net.core_routers) >= rows * net.mesh_cols:
                raise ValueError(f"network.core_routers must be distinct router ids in 0..{rows * net.mesh_cols - 1}")
        return self

    @property
    def cores(self) -> int:
        return self.dies * self.cores_per_die

    @property
    def pipelines_per_core(self) -> int:
        return self.mtp_per_core + self.stp_per_core

    @property
    def threads_per_core(self) -> int:
        return self.mtp_per_core * self.threads_per_mtp + self.stp_per_core

    @property
    def threads(self) -> int:
        return self.cores * self.threads_per_core

    @property
    def controllers(self) -> int:
        return self.cores

    @property
    def die_link_bytes_per_cycle(self) -> float:
        """Bandwidth of the optical link of one ordered die pair (one direction)."""
        net = self.network
        return net.optical_port_bytes_per_cycle * max(1, net.optical_ports_per_die // max(self.dies - 1, 1))

    @property
    def peak_bytes_per_cycle(self) -> float:
        return self.controllers * self.dram.bytes_per_cycle_per_controller

    @property
    def shape(self) -> FabricShape:
        from dataflow.piuma.program import FabricShape

        return FabricShape(
            cores=self.cores,
            threads_per_core=self.threads_per_core,
            scratchpad_bytes=self.scratchpad_bytes,
            sp_banks=self.sp_banks,
            cache_line_bytes=self.cache.line_bytes,
        )
