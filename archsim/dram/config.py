"""Typed DRAM presets (``kind: dram``): organisation, JEDEC timings in tCK, controller policy.

A preset is a YAML file in ``archsim/configs/dram/`` (package data, read through
``importlib.resources``); every number in it cites the line of the reference it comes from
(``/work/shared/data/dram/README.md`` §2) or says "assumption".  `load_preset` validates it
(unknown keys rejected, JEDEC orderings checked, e.g. ``tRC >= tRAS + tRP``) and applies
overrides such as ``{"timing": {"tFAW_tck": 44}}`` or ``{"controller": {"address_map": ...}}``.
All timings are integers in clocks (tCK) of the channel's command clock.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from archsim.config import StrictModel
from workloads.errors import InputError

__all__ = ["DramConfig", "Organisation", "Timing", "Controller", "load_preset", "preset_names",
           "parse_preset", "deep_merge"]


class Organisation(StrictModel):
    """What one channel (a DDR5 32-bit sub-channel, an HBM channel) is made of."""

    standard: Literal["DDR4", "DDR5", "HBM2"]
    channels: int = Field(1, ge=1, le=64)
    channel_width_bits: int = Field(gt=0)
    burst_length: int = Field(gt=0)
    device_width_bits: int = Field(gt=0)
    ranks: int = Field(1, ge=1, le=8)
    bank_groups: int = Field(ge=1, le=16)
    banks_per_group: int = Field(ge=1, le=16)
    rows: int = Field(gt=0)
    columns: int = Field(gt=0)
    #: data beats per clock (2 for every double-data-rate device here)
    beats_per_tck: int = Field(2, ge=1, le=2)

    @model_validator(mode="after")
    def _powers_of_two(self) -> "Organisation":
        for name in ("channels", "ranks", "bank_groups", "banks_per_group", "rows", "columns",
                     "burst_length"):
            v = getattr(self, name)
            if v & (v - 1):
                raise ValueError(f"{name} must be a power of two (got {v})")
        if self.columns < self.burst_length:
            raise ValueError(f"columns ({self.columns}) must be >= burst_length ({self.burst_length})")
        return self

    @property
    def burst_bytes(self) -> int:
        return self.channel_width_bits * self.burst_length // 8

    @property
    def burst_tck(self) -> int:
        return self.burst_length // self.beats_per_tck

    @property
    def banks(self) -> int:
        return self.ranks * self.bank_groups * self.banks_per_group

    @property
    def row_bytes(self) -> int:
        """Bytes of one open row across the rank (page size × devices)."""
        return self.columns // self.burst_length * self.burst_bytes


class Timing(StrictModel):
    """JEDEC timing parameters, integer clocks (tCK)."""

    tCK_ns: float = Field(gt=0)
    CL_tck: int = Field(ge=1)
    CWL_tck: int = Field(ge=1)
    tRCD_tck: int = Field(ge=1)
    tRP_tck: int = Field(ge=1)
    tRAS_tck: int = Field(ge=1)
    tRC_tck: int = Field(ge=1)
    tCCD_S_tck: int = Field(ge=1)
    tCCD_L_tck: int = Field(ge=1)
    #: same-bank-group write-to-write spacing (DDR5 tCCD_L_WR); defaults to tCCD_L
    tCCD_L_WR_tck: int | None = Field(None, ge=1)
    tRRD_S_tck: int = Field(ge=1)
    tRRD_L_tck: int = Field(ge=1)
    tFAW_tck: int = Field(ge=1)
    tWR_tck: int = Field(ge=1)
    tWTR_S_tck: int = Field(ge=0)
    tWTR_L_tck: int = Field(ge=0)
    tRTP_tck: int = Field(ge=1)
    tPPD_tck: int = Field(0, ge=0)
    tREFI_tck: int = Field(ge=1)
    tRFC_tck: int = Field(ge=1)
    tRTRS_tck: int = Field(1, ge=0)
    #: extra bus gap of a read followed by a write: RD->WR = CL + tBURST + this - CWL
    rd_to_wr_gap_tck: int = Field(2, ge=0)
    refresh: bool = True

    @model_validator(mode="after")
    def _jedec_order(self) -> "Timing":
        checks = [
            ("tRC_tck", self.tRC_tck >= self.tRAS_tck + self.tRP_tck,
             f"must be >= tRAS + tRP ({self.tRAS_tck} + {self.tRP_tck} = "
             f"{self.tRAS_tck + self.tRP_tck}), got {self.tRC_tck}"),
            ("tRAS_tck", self.tRAS_tck >= self.tRCD_tck,
             f"must be >= tRCD ({self.tRCD_tck}), got {self.tRAS_tck}"),
            ("tCCD_L_tck", self.tCCD_L_tck >= self.tCCD_S_tck,
             f"must be >= tCCD_S ({self.tCCD_S_tck}), got {self.tCCD_L_tck}"),
            ("tRRD_L_tck", self.tRRD_L_tck >= self.tRRD_S_tck,
             f"must be >= tRRD_S ({self.tRRD_S_tck}), got {self.tRRD_L_tck}"),
            ("tWTR_L_tck", self.tWTR_L_tck >= self.tWTR_S_tck,
             f"must be >= tWTR_S ({self.tWTR_S_tck}), got {self.tWTR_L_tck}"),
            ("tFAW_tck", self.tFAW_tck >= self.tRRD_S_tck,
             f"must be >= tRRD_S ({self.tRRD_S_tck}), got {self.tFAW_tck}"),
            ("tREFI_tck", self.tREFI_tck > self.tRFC_tck,
             f"must be > tRFC ({self.tRFC_tck}), got {self.tREFI_tck}"),
        ]
        if self.tCCD_L_WR_tck is not None:
            checks.append(("tCCD_L_WR_tck", self.tCCD_L_WR_tck >= self.tCCD_L_tck,
                           f"must be >= tCCD_L ({self.tCCD_L_tck}), got {self.tCCD_L_WR_tck}"))
        for name, ok, msg in checks:
            if not ok:
                raise ValueError(f"JEDEC ordering: {name} {msg}")
        return self


class Controller(StrictModel):
    """Memory-controller policy (per channel)."""

    read_queue: int = Field(32, ge=1, le=4096)
    write_queue: int = Field(32, ge=1, le=4096)
    write_high_watermark: float = Field(0.8, gt=0, le=1)
    write_low_watermark: float = Field(0.2, ge=0, lt=1)
    page_policy: Literal["open", "closed"] = "open"
    #: Ramulator 2's active buffer: a request whose ACT has issued leaves its queue (freeing the
    #: slot) and is served first in either read/write mode
    active_buffer: bool = True
    #: DRAMsim3-style field string, MSB -> LSB, fields ro ch ra bg ba co (spaces optional)
    address_map: str = "ro ch ra ba bg co"
    #: fixed controller/PHY pipeline time added to every completion (not device timing)
    controller_latency_tck: int = Field(0, ge=0)
    #: PIUMA-style fine-grain access: ``burst`` = a small request costs a full burst (standard);
    #: ``subrank`` = speculative: ``subranks`` narrow device groups with their own data lines,
    #: sharing the command bus and the rank's tRRD/tFAW window.
    fine_grain: Literal["burst", "subrank"] = "burst"
    subranks: int = Field(1, ge=1, le=16)

    @field_validator("address_map")
    @classmethod
    def _map(cls, v: str) -> str:
        from archsim.dram.addrmap import parse_fields

        try:
            parse_fields(v)
        except InputError as exc:
            raise ValueError(str(exc).replace(f"address_map {v!r}: ", "")) from None
        return v

    @model_validator(mode="after")
    def _watermarks(self) -> "Controller":
        if self.write_low_watermark >= self.write_high_watermark:
            raise ValueError("write_low_watermark must be < write_high_watermark")
        if self.subranks & (self.subranks - 1):
            raise ValueError(f"subranks must be a power of two (got {self.subranks})")
        return self


class DramConfig(StrictModel):
    kind: Literal["dram"]
    version: Literal[1]
    name: str
    organisation: Organisation
    timing: Timing
    controller: Controller = Controller()

    @model_validator(mode="after")
    def _subrank(self) -> "DramConfig":
        c, o = self.controller, self.organisation
        if c.fine_grain == "subrank" and c.subranks < 2:
            raise ValueError("controller.subranks must be >= 2 with fine_grain: subrank")
        if c.fine_grain == "burst" and c.subranks != 1:
            raise ValueError("controller.subranks is only used with fine_grain: subrank")
        if c.subranks > 1 and o.burst_bytes % c.subranks:
            raise ValueError(f"controller.subranks ({c.subranks}) must divide the burst "
                             f"({o.burst_bytes} B)")
        return self

    # ------------------------------------------------------------ derived
    @property
    def burst_tck(self) -> int:
        return self.organisation.burst_tck

    @property
    def access_bytes(self) -> int:
        """Bytes moved by one data burst (one sub-rank's share with ``fine_grain: subrank``)."""
        return self.organisation.burst_bytes // self.controller.subranks

    @property
    def peak_bytes_per_s(self) -> float:
        """Peak data rate of one channel (all sub-ranks together)."""
        o = self.organisation
        return o.burst_bytes / (o.burst_tck * self.timing.tCK_ns * 1e-9)

    @property
    def clock_hz(self) -> float:
        return 1e9 / self.timing.tCK_ns

    def closed_forms(self) -> dict[str, float]:
        """The README §3.1 closed forms for this preset (tCK unless named otherwise)."""
        t, b = self.timing, self.burst_tck
        avail = 1 - t.tRFC_tck / t.tREFI_tck if t.refresh else 1.0
        rnd = min(1.0, 4 * b / max(t.tFAW_tck, 4 * t.tRRD_S_tck)) * avail
        return {
            "row_hit_read_tck": t.CL_tck + b,
            "closed_bank_read_tck": t.tRCD_tck + t.CL_tck + b,
            "row_conflict_read_tck": t.tRP_tck + t.tRCD_tck + t.CL_tck + b,
            "refresh_availability": avail,
            "same_bg_stream_bound": b / max(b, t.tCCD_L_tck),
            "random_read_bound": rnd,
        }


def deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _preset_dir():
    return resources.files("archsim") / "configs" / "dram"


@lru_cache(maxsize=None)
def preset_names() -> tuple[str, ...]:
    """Names of the bundled DRAM presets."""
    return tuple(sorted(p.name[:-5] for p in _preset_dir().iterdir() if p.name.endswith(".yaml")))


def _format(err: ValidationError, where: str) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ()))
    msg = first.get("msg", "invalid value")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if first.get("type") == "extra_forbidden":
        msg = "unknown key"
    # a JEDEC-ordering message names its own field
    if msg.startswith("JEDEC ordering: "):
        field, _, rest = msg[len("JEDEC ordering: "):].partition(" ")
        loc = ".".join(p for p in (loc, field) if p)
        msg = f"JEDEC ordering: {rest}"
    return f"{where}: {loc}: {msg}" if loc else f"{where}: {msg}"


def parse_preset(data: Any, *, where: str = "dram preset",
                 overrides: dict | None = None) -> DramConfig:
    """Validate a mapping (a preset's YAML content) into a `DramConfig`."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping, got {type(data).__name__}")
    if overrides:
        data = deep_merge(data, overrides)
    try:
        return DramConfig.model_validate(data)
    except ValidationError as exc:
        raise InputError(_format(exc, where)) from None


def load_preset(name_or_path: str, overrides: dict | None = None) -> DramConfig:
    """A bundled preset by name (see `preset_names`) or a YAML file path, with overrides."""
    from pathlib import Path

    from archsim.config import read_yaml

    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path:
        data, where = read_yaml(Path(name_or_path), "dram preset"), name_or_path
    else:
        if name_or_path not in preset_names():
            raise InputError(f"unknown DRAM preset {name_or_path!r}; valid: "
                             f"{', '.join(preset_names())}")
        import yaml

        text = (_preset_dir() / f"{name_or_path}.yaml").read_text()
        data, where = yaml.safe_load(text), f"dram preset {name_or_path}"
    return parse_preset(data, where=where, overrides=overrides)

