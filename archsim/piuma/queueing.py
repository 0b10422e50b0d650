"""Loaded latency: the queueing delay a request meets at a shared server below saturation.

Every shared server of the fabric (memory controller, mesh or die link, scratchpad bank,
pipeline issue port) adds to the latency of a request that visits it a waiting time that grows
with the server's utilisation ``rho``.  The fast model (`archsim.piuma.model`) measures
``rho`` per server from its reservation calendar and adds the wait to every round trip of a
task's dependence chain; saturation itself (``rho`` → 1) is handled by the calendar, which
stretches tasks when a server's capacity runs out.

Default curve (``md1``), from first principles: a single FIFO server with Poisson arrivals and
general service times (Pollaczek–Khinchine, M/G/1; M/D/1 when all requests are the same size)

    W_q = rho / (1 - rho) · E[S²] / (2 E[S])

with ``E[S²]/(2E[S])`` (the mean residual service time) computed from the program's own mix
of request sizes at that server (`archsim.piuma.fabric.TaskDemands`).  The fabric is a closed
system (each thread has one request outstanding), so no queue can be longer than the
threads that can reach the server: the wait is capped at ``users · E[S]``.

``ddr5-curve`` takes the controllers' waits from `archsim.dram`'s command-level DDR5 curve
(`DramCurve`; links, banks and issue ports keep M/G/1).  ``none`` switches queueing off (latency = unloaded latency; only saturation slows tasks), for
comparison.  A DRAM-specific curve (latency as a function of utilisation, e.g. from a
command-level DRAM model) plugs in as another `QueueCurve`: `curve_for` returns ``md1`` unless
one is registered under the config's ``dram.queue_model``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["QueueCurve", "MG1", "NoQueue", "DramCurve", "curve_for", "register_curve", "RHO_MAX"]

RHO_MAX = 0.999


class QueueCurve:
    """Mean waiting cycles at a server of utilisation ``rho`` (vectorised)."""

    name = "abstract"

    def wait(self, rho: np.ndarray, residual: np.ndarray, cap: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class MG1(QueueCurve):
    """Pollaczek–Khinchine mean wait, capped by the finite population (see module doc)."""

    name: str = "md1"

    def wait(self, rho, residual, cap):
        r = np.clip(np.asarray(rho, dtype=np.float64), 0.0, RHO_MAX)
        return np.minimum(r / (1.0 - r) * residual, cap)


@dataclass(frozen=True)
class NoQueue(QueueCurve):
    name: str = "none"

    def wait(self, rho, residual, cap):
        return np.zeros(np.shape(rho))


_CURVES: dict[str, Callable[[], QueueCurve]] = {"md1": MG1, "none": NoQueue}


def register_curve(name: str, factory: Callable[[], QueueCurve]) -> None:
    """Make ``factory()`` the curve used for ``queue_model: name``."""
    _CURVES[name] = factory


def curve_for(name: str) -> QueueCurve:
    return _CURVES.get(name, MG1)()


class DramCurve:
    """Controller waits from `archsim.dram`'s command-level loaded-latency curve (random 8-byte
    reads on the DDR5-4400 x8 sub-channel preset): wait = latency(load) - unloaded latency,
    with load = controller utilisation x (controller bandwidth / channel peak).  Opt-in
    (``dram.queue_model: ddr5-curve``): building the curve runs the command model once per
    process (cached)."""

    PRESET = "DDR5_4400_x8_subch"

    def __init__(self, bytes_per_cycle: float, clock_hz: float) -> None:
        from archsim.dram.config import load_preset
        from archsim.dram.loaded import loaded_latency_curve

        dcfg = load_preset(self.PRESET)
        self.curve = loaded_latency_curve(dcfg, "random", requests=3000)
        self.scale = bytes_per_cycle * clock_hz / dcfg.peak_bytes_per_s
        self.cycles_per_ns = clock_hz / 1e9

    def wait(self, rho, residual=None, cap=None):
        r = np.clip(np.asarray(rho, dtype=np.float64), 0.0, RHO_MAX)
        lat = np.array([self.curve.latency_ns(float(x) * self.scale) for x in np.ravel(r)]).reshape(r.shape)
        return np.maximum(lat - self.curve.unloaded_ns, 0.0) * self.cycles_per_ns
