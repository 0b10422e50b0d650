"""archsim: cycle-level SimPy models of sparse hardware (SAT-style N:M training accelerator,
PIUMA-like graph fabric), their energy, results, sweeps and plots.

The public API is small: load a config, run a simulation, read a `RunResult`.
"""

from archsim.config import config_hash, load_config
from archsim.energy import EnergyTable, energy_breakdown
from archsim.results import RunResult, package_version
from workloads.errors import InputError

__version__ = package_version()

__all__ = [
    "InputError",
    "RunResult",
    "EnergyTable",
    "energy_breakdown",
    "load_config",
    "config_hash",
    "__version__",
]
