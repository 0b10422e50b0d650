"""The one registry of simulators: ``kind -> (config model, simulate function)``.

A config's ``kind`` key (``kind: sat`` in YAML) names its simulator.  `archsim.config` validates
a mapping with the model registered here, and `archsim.api.simulate` runs it with the function
registered here; nothing else dispatches on ``kind``.  Entries are ``"module:attribute"`` strings
imported on first use, so this module imports nothing (no cycle: the simulators' config modules
import `archsim.config`, never the other way round) and ``archsim --help`` stays light.

Adding a simulator: one line in `SIMULATORS`; its config model must have a ``kind:
Literal["<kind>"]`` field, and its simulate function the signature
``simulate(config, workload: dict, *, seed: int) -> RunResult``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any, Callable

from workloads.errors import InputError

__all__ = ["SimulatorEntry", "SIMULATORS", "kinds", "config_model", "simulator"]


@dataclass(frozen=True)
class SimulatorEntry:
    """Where a simulator's config model and simulate function live (``module:attribute``)."""

    config: str
    simulate: str


SIMULATORS: dict[str, SimulatorEntry] = {
    "sat": SimulatorEntry("archsim.sat.config:SatConfig", "archsim.sat.run:simulate_sat"),
    "piuma": SimulatorEntry("archsim.piuma.config:PiumaConfig", "archsim.piuma.run:simulate_piuma"),
}


def kinds() -> list[str]:
    """The registered kinds, sorted."""
    return sorted(SIMULATORS)


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(import_module(module), attr)


def _entry(kind: str, where: str) -> SimulatorEntry:
    try:
        return SIMULATORS[kind]
    except (KeyError, TypeError):
        raise InputError(f"{where}: kind: expected one of {kinds()}, got {kind!r}") from None


def config_model(kind: str, *, where: str = "config") -> type:
    """The pydantic model of ``kind`` (an `InputError` naming ``where`` for an unknown kind)."""
    return _load(_entry(kind, where).config)


def simulator(kind: str, *, where: str = "config") -> Callable[..., Any]:
    """The simulate function of ``kind``."""
    return _load(_entry(kind, where).simulate)
