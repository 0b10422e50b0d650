"""archsim: cycle-level SimPy models of sparse hardware (SAT-style N:M training accelerator,
PIUMA-like graph fabric), their energy, results, sweeps and plots.

The public API is small: load a config, run a simulation, read a `RunResult`.

The names below are imported on first use (PEP 562), so ``import archsim`` (and the ``archsim``
command's ``--help``) does not pay for pydantic, numpy or SimPy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from workloads.errors import InputError

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from archsim.config import config_hash, load_config
    from archsim.energy import EnergyTable, energy_breakdown
    from archsim.results import RunResult

__all__ = [
    "InputError",
    "RunResult",
    "EnergyTable",
    "energy_breakdown",
    "load_config",
    "config_hash",
    "__version__",
]

#: public name -> module that defines it (imported on first access)
_LAZY = {
    "load_config": "archsim.config",
    "config_hash": "archsim.config",
    "EnergyTable": "archsim.energy",
    "energy_breakdown": "archsim.energy",
    "RunResult": "archsim.results",
    "package_version": "archsim.results",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from archsim.results import package_version

        return package_version()
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'archsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"__version__"})
