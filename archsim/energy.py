"""Energy as action counts × per-action energy (Accelergy-style table model).

The table is a YAML file whose every entry carries its energy in picojoules and its source::

    version: 1
    name: horowitz-45nm
    entries:
      fp16_mul: {pj: 1.1, source: "Horowitz, ISSCC 2014, 45 nm, 0.9 V"}

`EnergyTable.load` validates it (unknown keys, missing ``source``, negative energies are
errors).  `energy_breakdown` multiplies a result's ``{component: {action: count}}`` by the
table.  An action without an entry is an `InputError`: there is never a silent default.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from pydantic import Field, ValidationError

from archsim.config import CONFIG_DIR, NonNegativeFloat, StrictModel, read_yaml
from workloads.errors import InputError

__all__ = ["EnergyTable", "energy_breakdown", "load_energy_table", "resolve_table", "table_digest"]


def resolve_table(path: str | Path) -> Path:
    """Where a config's ``energy_table`` value points: a bundled table (``energy/horowitz_45nm.yaml``)
    resolves from the package, never from the working directory; any other value is a user's path."""
    p = Path(path)
    bundled = CONFIG_DIR / p
    if not p.is_absolute() and bundled.is_file():
        return bundled
    return p


def table_digest(path: str | Path) -> str:
    """SHA-256 of the table file's bytes (``"missing"`` when it cannot be read): part of
    `archsim.config.config_hash`, so two results share a hash only if their energies come from
    the same table content."""
    p = resolve_table(path)
    try:
        st = p.stat()
    except OSError:
        return "missing"
    return _digest(str(p.resolve()), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=64)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    import hashlib

    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read(16 * 1024 * 1024)).hexdigest()
    except OSError:
        return "missing"


class _Entry(StrictModel):
    pj: NonNegativeFloat
    source: str = Field(min_length=3)


class _TableFile(StrictModel):
    version: int = Field(ge=1, le=1)
    name: str
    entries: dict[str, _Entry]


@dataclass(frozen=True)
class EnergyTable:
    """Per-action energies in pJ, each with its source."""

    name: str
    pj: Mapping[str, float]
    source: Mapping[str, str]

    @classmethod
    def load(cls, path: str | Path) -> "EnergyTable":
        # A bundled table (``energy/horowitz_45nm.yaml``) resolves from the package, never from
        # the working directory; any other value is a user's path.
        p = resolve_table(path)
        raw = read_yaml(p, "energy table")
        try:
            f = _TableFile.model_validate(raw)
        except ValidationError as err:
            e = err.errors()[0]
            loc = ".".join(str(x) for x in e["loc"])
            msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
            raise InputError(f"{p}: {loc}: {msg}") from None
        return cls(
            name=f.name,
            pj={k: v.pj for k, v in f.entries.items()},
            source={k: v.source for k, v in f.entries.items()},
        )

    def energy(self, action: str, count: float, component: str = "") -> float:
        try:
            return self.pj[action] * count
        except KeyError:
            where = f" (component {component!r})" if component else ""
            raise InputError(
                f"energy table {self.name!r}: no entry for action {action!r}{where}"
            ) from None


@lru_cache(maxsize=16)
def load_energy_table(path: str) -> EnergyTable:
    """Cached `EnergyTable.load` (tables are read once per process in sweeps)."""
    return EnergyTable.load(path)


def energy_breakdown(
    action_counts: Mapping[str, Mapping[str, float]], table: EnergyTable
) -> dict[str, float]:
    """``{component: pJ}``: Σ over the component's actions of count × energy per action."""
    return {
        comp: float(sum(table.energy(a, n, comp) for a, n in actions.items()))
        for comp, actions in action_counts.items()
    }
