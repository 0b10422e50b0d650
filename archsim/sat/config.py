"""Typed configuration of the SAT-style accelerator (``kind: sat``).

Every field has its unit in its name.  The preset ``configs/sat.yaml`` cites a source for each
default or marks it "assumption".  Derived values (bytes per cycle, shapes handed to the
`dataflow` package) are properties, never YAML expressions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from archsim.config import StrictModel
from dataflow.sat import ArrayShape, MemoryShape

__all__ = ["SatConfig"]


class ArrayConfig(StrictModel):
    rows: int = Field(gt=0, le=1024)
    cols: int = Field(gt=0, le=1024)
    multipliers_per_pe: int = Field(gt=0, le=64)
    window: int = Field(gt=0, le=256)
    operand_bytes: int = Field(gt=0, le=8)
    psum_bytes: int = Field(gt=0, le=8)
    acc_latency_cycles: int = Field(ge=1, le=64)
    overlap_tiles: bool = True

    @model_validator(mode="after")
    def _window(self) -> "ArrayConfig":
        if self.window < self.multipliers_per_pe:
            raise ValueError(f"window ({self.window}) must be >= multipliers_per_pe "
                             f"({self.multipliers_per_pe})")
        return self


class BufferConfig(StrictModel):
    weight_bytes: int = Field(gt=0)
    act_bytes: int = Field(gt=0)
    out_bytes: int = Field(gt=0)


class CommandDramConfig(StrictModel):
    """The command-level DRAM model (`archsim.dram`) behind ``dram.model: command``."""

    preset: str = "DDR4_2400_x8_1R"
    #: field string MSB->LSB; channel lowest = blocks striped over the channels every burst
    address_map: str = "ro ra ba co bg ch"
    #: ``aggregate``: blocks at the command model's measured streaming efficiency (fast);
    #: ``exact``: every burst through the command-level channels (slow, for small runs)
    fidelity: Literal["aggregate", "exact"] = "aggregate"
    controller_latency_tck: int = Field(0, ge=0)

    def dram_config(self, channels: int):
        from archsim.dram.config import load_preset

        return load_preset(self.preset, {"organisation": {"channels": channels},
                                         "controller": {"address_map": self.address_map,
                                                        "controller_latency_tck":
                                                            self.controller_latency_tck}})

    @field_validator("preset")
    @classmethod
    def _preset(cls, v: str) -> str:
        from archsim.dram.config import load_preset

        load_preset(v)  # unknown preset: the error lists the valid names
        return v

    @field_validator("address_map")
    @classmethod
    def _map(cls, v: str) -> str:
        from archsim.dram.addrmap import parse_fields

        parse_fields(v)
        return v


class DramConfig(StrictModel):
    channels: int = Field(gt=0, le=64)
    channel_bytes_per_s: float = Field(gt=0)
    latency_cycles: int = Field(ge=0)
    #: ``bandwidth``: one FIFO server at channels x channel_bytes_per_s with a fixed latency;
    #: ``command``: the command-level model of `archsim.dram` (see ``command``)
    model: Literal["bandwidth", "command"] = "bandwidth"
    command: CommandDramConfig = CommandDramConfig()


class PruningUnitConfig(StrictModel):
    lanes: int = Field(gt=0)
    latency_cycles: int = Field(ge=0)


class WeightUpdateConfig(StrictModel):
    lanes: int = Field(gt=0)
    master_bytes_per_param: int = Field(gt=0)


class VectorUnitConfig(StrictModel):
    lanes: int = Field(gt=0)
    ops_per_element: int = Field(ge=0)


class ScheduleConfig(StrictModel):
    dataflow: Literal["auto", "ws", "os"] = "auto"
    interleave: bool = True
    pregenerate: bool = True


class SatConfig(StrictModel):
    kind: Literal["sat"]
    version: Literal[1]
    name: str
    clock_hz: float = Field(gt=0)
    array: ArrayConfig
    buffers: BufferConfig
    dram: DramConfig
    pruning_unit: PruningUnitConfig
    weight_update: WeightUpdateConfig
    vector_unit: VectorUnitConfig
    schedule: ScheduleConfig = ScheduleConfig()
    energy_table: str

    @property
    def dram_bytes_per_cycle(self) -> float:
        return self.dram.channels * self.dram.channel_bytes_per_s / self.clock_hz

    @property
    def array_shape(self) -> ArrayShape:
        a = self.array
        return ArrayShape(rows=a.rows, cols=a.cols, multipliers_per_pe=a.multipliers_per_pe,
                          window=a.window, acc_latency_cycles=a.acc_latency_cycles,
                          overlap_tiles=a.overlap_tiles)

    @property
    def memory_shape(self) -> MemoryShape:
        return MemoryShape(
            weight_buffer_bytes=self.buffers.weight_bytes,
            act_buffer_bytes=self.buffers.act_bytes,
            out_buffer_bytes=self.buffers.out_bytes,
            operand_bytes=self.array.operand_bytes,
            psum_bytes=self.array.psum_bytes,
            dram_bytes_per_cycle=self.dram_bytes_per_cycle,
            out_elements_per_cycle=(self.vector_unit.lanes / self.vector_unit.ops_per_element
                                    if self.vector_unit.ops_per_element else 1e9),
        )

    @property
    def dataflows(self) -> tuple[str, ...]:
        return ("ws", "os") if self.schedule.dataflow == "auto" else (self.schedule.dataflow,)
