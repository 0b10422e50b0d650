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
    """One memory controller per core; every access moves ``access_bytes`` (8)."""

    bytes_per_cycle_per_controller: float = Field(gt=0, le=1024)
    latency_cycles: int = Field(ge=1, le=10_000)
    access_bytes: Literal[8] = 8
    atomic_occupancy: float = Field(ge=1, le=16)  # access slots a remote atomic holds
    mapping: Literal["interleaved", "block"] = "interleaved"


class NetworkConfig(StrictModel):
    """On-die 2D mesh (XY routing) and one optical link per router position between dies."""

    mesh_cols: int = Field(ge=1, le=64)
    hop_latency_cycles: int = Field(ge=0, le=1000)
    link_bytes_per_cycle: float = Field(gt=0)
    die_link_latency_cycles: int = Field(ge=0, le=100_000)
    die_link_bytes_per_cycle: float = Field(gt=0)
    request_bytes: int = Field(ge=8, le=64)  # bytes a memory request moves per hop (data + header)


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
    """Simulation granularity: width of the reservation buckets of every shared resource
    (0 = automatic: about 1/16 of the median task's unloaded duration)."""

    bucket_cycles: int = Field(ge=0, le=1 << 20)


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
