"""`RunResult`: the one result type every simulator returns, with provenance.

A result is plain data (frozen dataclass of ints, floats, strings and flat dicts), so it can be
written as JSON, stored one row per point in a sweep store and plotted without touching the
simulator.  Conventions:

* ``total_cycles`` at ``clock_hz``; ``seconds`` is derived.
* ``phase_cycles``: cycles attributed to each phase (SAT: the training passes ``FF``, ``BP``,
  ``WU``; PIUMA: kernel phases).  ``layer_cycles``: per layer (or per row block), per phase.
* ``unit_busy_cycles``: cycles each unit was busy; ``utilization`` = busy / total.
* ``bytes_moved``: bytes per memory level and direction (``dram_read``, ``sram_write`` ...).
* ``action_counts``: ``{component: {action: count}}``, the input of the energy model.
* ``energy_pj``: ``{component: picojoules}`` from `archsim.energy`.
* ``metrics``: further named scalars (speedup, bandwidth fraction, atomics ...), units in names.
* ``warnings``: conditions worth a user's attention (one line each).
* provenance: ``simulator``, ``workload``, ``schedule``, ``config_hash``, ``seed``, ``version``.
* ``timings_s``: wall-clock seconds of the run's steps (``schedule``, ``simulate`` ...).  They
  describe the host, not the simulated hardware: they are kept apart, left out of `to_dict` /
  `to_json` (two identical runs give byte-identical JSON), of `flat_metrics` (sweep stores) and
  of equality; pass ``timings=True`` to `to_dict` / `to_json` to include them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["RunResult", "package_version"]


def package_version() -> str:
    """Version of the installed distribution (``0+unknown`` when run from a bare checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("archsim")
    except PackageNotFoundError:  # pragma: no cover - only in an uninstalled checkout
        return "0+unknown"


@dataclass(frozen=True)
class RunResult:
    simulator: str
    workload: str
    total_cycles: int
    clock_hz: float
    phase_cycles: dict[str, int] = field(default_factory=dict)
    layer_cycles: dict[str, dict[str, int]] = field(default_factory=dict)
    unit_busy_cycles: dict[str, int] = field(default_factory=dict)
    bytes_moved: dict[str, int] = field(default_factory=dict)
    action_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    energy_pj: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    area: dict[str, float] = field(default_factory=dict)
    #: conditions a user should know about (e.g. a fixed-width unit that held the array back)
    warnings: list[str] = field(default_factory=list)
    schedule: str = ""
    config_hash: str = ""
    seed: int | None = None
    version: str = field(default_factory=package_version)
    timings_s: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def seconds(self) -> float:
        return self.total_cycles / self.clock_hz

    @property
    def total_energy_pj(self) -> float:
        return float(sum(self.energy_pj.values()))

    @property
    def utilization(self) -> dict[str, float]:
        t = max(self.total_cycles, 1)
        return {unit: busy / t for unit, busy in self.unit_busy_cycles.items()}

    def to_dict(self, *, timings: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not timings:
            d.pop("timings_s", None)
        d["seconds"] = self.seconds
        d["total_energy_pj"] = self.total_energy_pj
        d["utilization"] = self.utilization
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunResult":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_json(self, *, timings: bool = False, **kw: Any) -> str:
        return json.dumps(self.to_dict(timings=timings), sort_keys=True, **kw)

    def flat_metrics(self) -> dict[str, float | int | str | None]:
        """One flat row of scalars (for stores and tables): ``energy_pj.array`` etc."""
        row: dict[str, Any] = {
            "simulator": self.simulator,
            "workload": self.workload,
            "schedule": self.schedule,
            "total_cycles": self.total_cycles,
            "clock_hz": self.clock_hz,
            "seconds": self.seconds,
            "total_energy_pj": self.total_energy_pj,
            "config_hash": self.config_hash,
            "seed": self.seed,
            "version": self.version,
        }
        if self.warnings:
            row["warnings"] = " | ".join(self.warnings)
        for prefix, mapping in (
            ("phase_cycles", self.phase_cycles),
            ("unit_busy_cycles", self.unit_busy_cycles),
            ("utilization", self.utilization),
            ("bytes", self.bytes_moved),
            ("energy_pj", self.energy_pj),
            ("metrics", self.metrics),
            ("area", self.area),
        ):
            for k, v in mapping.items():
                row[f"{prefix}.{k}"] = v
        return row
