"""SimPy adapter: the command-level channels as a memory port of a SimPy model.

`DramPort(env, cfg, env_clock_hz=...)` owns one `Channel` and one SimPy process per channel.
``port.access(addr, nbytes, write=False)`` returns an event that fires when the request's last
burst has returned (reads) or been written (writes).  Each process sleeps until the next legal
command of its channel (``Channel.advance`` returns its clock) or until a new request arrives,
so idle time is skipped; commands are decided at their own clock from the requests that have
arrived by then.  The environment's time unit is ``1 / env_clock_hz`` seconds (default: the
DRAM's tCK); request arrival clocks are rounded up to the next tCK.
"""

from __future__ import annotations

import math

import simpy

from archsim.dram.addrmap import AddressMap
from archsim.dram.channel import INF, Channel
from archsim.dram.config import DramConfig

__all__ = ["DramPort"]


class _Pending:
    __slots__ = ("event", "left", "arrival", "write")

    def __init__(self, event, left, arrival, write):
        self.event, self.left, self.arrival, self.write = event, left, arrival, write


class DramPort:
    """Memory port over ``cfg.organisation.channels`` command-level channels."""

    def __init__(self, env: simpy.Environment, cfg: DramConfig, *,
                 env_clock_hz: float | None = None) -> None:
        self.env = env
        self.cfg = cfg
        self.amap = AddressMap.for_config(cfg)
        self.ratio = 1.0 if env_clock_hz is None else cfg.clock_hz / env_clock_hz  # tCK per unit
        o = cfg.organisation
        self.channels = [Channel(cfg) for _ in range(o.channels)]
        for c in self.channels:
            c.log = []
        self._owner: list[dict[int, _Pending]] = [{} for _ in self.channels]
        self._wake: list[simpy.Event | None] = [None] * o.channels
        self._S = cfg.controller.subranks
        self.read_latency_tck: list[int] = []
        self.write_latency_tck: list[int] = []
        self.useful_bytes = 0
        for ch in range(o.channels):
            env.process(self._proc(ch))

    # ------------------------------------------------------------------ requests
    def access(self, addr: int, nbytes: int | None = None, write: bool = False) -> simpy.Event:
        """Event fired when ``nbytes`` at ``addr`` have been read or written."""
        A = self.cfg.access_bytes
        nbytes = A if nbytes is None else int(nbytes)
        if nbytes <= 0 or addr < 0:
            raise ValueError(f"access: need addr >= 0 and nbytes > 0 (got {addr}, {nbytes})")
        first, last = addr // A, (addr + nbytes - 1) // A
        now_tck = math.ceil(self.env.now * self.ratio - 1e-9)
        ev = self.env.event()
        pend = _Pending(ev, last - first + 1, now_tck, bool(write))
        self.useful_bytes += nbytes
        o = self.cfg.organisation
        for k in range(first, last + 1):
            f = self.amap.decode_one(k * A)
            ch = f["ch"]
            bank = ((f["ra"] * self._S + f["sr"]) * o.bank_groups + f["bg"]) \
                * o.banks_per_group + f["ba"]
            c = self.channels[ch]
            idx = c.push(now_tck, bank, f["ro"], write)
            self._owner[ch][idx] = pend
            w = self._wake[ch]
            if w is not None and not w.triggered:
                w.succeed()
        return ev

    def read(self, addr: int, nbytes: int | None = None) -> simpy.Event:
        return self.access(addr, nbytes, False)

    def write(self, addr: int, nbytes: int | None = None) -> simpy.Event:
        return self.access(addr, nbytes, True)

    # ------------------------------------------------------------------ processes
    def _finish(self, pend: _Pending, done_tck: int) -> None:
        pend.left -= 1
        if pend.left:
            return
        (self.write_latency_tck if pend.write else self.read_latency_tck).append(
            done_tck - pend.arrival)
        delay = max(0.0, done_tck / self.ratio - self.env.now)
        self.env.timeout(delay).callbacks.append(lambda _e, ev=pend.event: ev.succeed())

    def _proc(self, ch: int):
        env, c, owner = self.env, self.channels[ch], self._owner[ch]
        target = 0  # the command clock this process last slept for
        while True:
            # the timer for `target` fires at target / ratio: issue up to `target` even when the
            # float product falls a hair short of it (long runs)
            horizon = math.floor(env.now * self.ratio * (1 + 1e-12) + 1e-9)
            if env.now >= target / self.ratio:
                horizon = max(horizon, target)
            nxt = c.advance(horizon)
            if c.log:
                for idx, done in c.log:
                    pend = owner.pop(idx)
                    # done is the end of the burst; the owner's event waits for its last burst
                    self._finish(pend, done)
                c.log.clear()
            if nxt == INF and not owner:
                c.compact()  # idle: forget served requests (flat memory over long runs)
            self._wake[ch] = wake = env.event()
            if nxt != INF:
                target = nxt
                delay = max(0.0, nxt / self.ratio - env.now)
                env.timeout(delay).callbacks.append(
                    lambda _e, w=wake: None if w.triggered else w.succeed())
            yield wake

    # ------------------------------------------------------------------ statistics
    def stats(self):
        """`DramStats` of the requests completed so far."""
        from archsim.dram.model import stats_of

        nr, nw = len(self.read_latency_tck), len(self.write_latency_tck)
        return stats_of(self.cfg, self.channels, n_requests=nr + nw, reads=nr,
                        useful_bytes=self.useful_bytes, read_latency=self.read_latency_tck,
                        write_latency=self.write_latency_tck)
