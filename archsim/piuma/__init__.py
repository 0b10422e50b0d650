"""PIUMA-like graph fabric simulated in SimPy (see `archsim.piuma.model` for what is modelled).

Public API: `PiumaConfig`, `simulate_piuma` (dispatch target of `archsim.api.simulate`) and
`run_piuma` (also returns the computed C or y).
"""

from archsim.piuma.config import PiumaConfig

__all__ = ["PiumaConfig", "simulate_piuma", "run_piuma"]


def __getattr__(name):
    if name in ("simulate_piuma", "run_piuma"):
        from archsim.piuma import run

        return getattr(run, name)
    raise AttributeError(name)
