"""Typed configuration of the SAT-style accelerator (``kind: sat``).

Every field has its unit in its name.  The preset ``configs/sat.yaml`` cites a source for each
default or marks it "assumption".  Derived values (bytes per cycle, shapes handed to the
`dataflow` package) are properties, never YAML expressions.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

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


#: ``lanes: auto`` ties a unit's width to the array (see `SatConfig.vector_lanes` & co.).
Lanes = Union[Annotated[int, Field(gt=0)], Literal["auto"]]


class PruningUnitConfig(StrictModel):
    lanes: Lanes
    latency_cycles: int = Field(ge=0)


class WeightUpdateConfig(StrictModel):
    lanes: Lanes
    master_bytes_per_param: int = Field(gt=0)


class VectorUnitConfig(StrictModel):
    lanes: Lanes
    ops_per_element: int = Field(ge=0)


class LoweringConfig(StrictModel):
    """How a model becomes GEMMs (`workloads.dnn.lowering`): the BP form and the first layer."""

    bp_form: Literal["col2im", "implicit_gemm"] = "col2im"
    first_layer_bp: Literal["skip", "compute"] = "skip"


class ScheduleConfig(StrictModel):
    dataflow: Literal["auto", "ws", "os"] = "auto"
    interleave: bool = True
    pregenerate: bool = True
    #: per GEMM, simulate this many of the best plans by estimate and keep the fastest
    #: (1: the estimate alone decides); see `archsim.sat.run.choose_plans`
    simulate_top_k: int = Field(default=3, ge=1, le=8)
    #: simulated cycles within this fraction of the fastest candidate's are a tie, which the
    #: candidate with the least energy wins
    simulate_tie_fraction: float = Field(default=0.002, ge=0, le=0.1)


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
    lowering: LoweringConfig = LoweringConfig()
    energy_table: str

    # Widths of the units around the array.  ``auto`` scales them with the array's columns (the
    # number of outputs a WS tile emits per cycle), so a bigger array does not silently starve
    # on a unit sized for a smaller one; an explicit integer is kept as given (and
    # `archsim.sat.run` flags it in ``RunResult.warnings`` when it becomes the bottleneck).
    @property
    def vector_lanes(self) -> int:
        """``auto``: ``cols × ops_per_element`` (keeps pace with ``cols`` outputs per cycle)."""
        v = self.vector_unit
        return max(1, self.array.cols * max(v.ops_per_element, 1)) if v.lanes == "auto" else v.lanes

    @property
    def pruning_lanes(self) -> int:
        """``auto``: ``cols`` (one group of M per column per cycle)."""
        p = self.pruning_unit.lanes
        return self.array.cols if p == "auto" else p

    @property
    def weight_update_lanes(self) -> int:
        """``auto``: ``max(1, cols // 2)`` FP32 lanes."""
        w = self.weight_update.lanes
        return max(1, self.array.cols // 2) if w == "auto" else w

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
            out_elements_per_cycle=(self.vector_lanes / self.vector_unit.ops_per_element
                                    if self.vector_unit.ops_per_element else 1e9),
        )

    @property
    def dataflows(self) -> tuple[str, ...]:
        return ("ws", "os") if self.schedule.dataflow == "auto" else (self.schedule.dataflow,)
