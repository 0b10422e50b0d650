"""Fair-share contention for the fast PIUMA level (``sim.contention: fluid``, the default).

The fast level runs one event per task (`archsim.piuma.model`).  This module decides how fast
the running tasks go while they share the fabric, without simulating their operations one by
one: the tasks that are running form a **closed queueing network** (each thread has one
operation outstanding, the shared servers are FIFO), and their rates come from **approximate
mean-value analysis** (Schweitzer's fixed point, with the residual service of deterministic
requests), re-solved whenever a task starts or ends.  Between those instants every running
task progresses at its rate, like a flow in a flow-level network simulator.

What is modelled
----------------
* **A task** (thread slot ``i``) is a customer with an unloaded dependence chain ``C_i`` (the
  latencies of its waited operations, its instructions and its DMA commands; see
  `archsim.piuma.model`), a service demand ``D_ir`` at every server ``r`` (memory controllers,
  mesh and die links, its core's scratchpad banks, its pipeline's issue port), the visits
  ``A_ir`` it makes there and the visits ``V_ir`` it *waits* for (reads, atomics, scratchpad
  operations, issue groups; posted writes and DMA words visit and queue but the thread does not
  wait for each).
* **Its time per task** is ``R_i = C_i + Σ_r V_ir · w_ir`` and its rate ``x_i = 1 / R_i``
  (tasks per cycle); ``w_ir`` is the wait at ``r`` of a request of task ``i``: the requests of
  the *other* tasks found there (Schweitzer: the mean queue minus the task's own share), each a
  mean service ahead, the one in service a residual service ahead (``E[S²] / 2E[S]`` of the
  program's request mix):
  ``w_ir = (Q_r − Q_ir − (U_r − U_ir)) · s̄_r + (U_r − U_ir) · res_r``, with
  ``U_ir = x_i D_ir`` and ``Q_ir = x_i (A_ir w_ir + D_ir)``.
* **Saturation** is part of the same fixed point: in every iteration, before the waits are
  computed, a memory controller the tasks would load above its capacity builds a queue: a wait
  ``dw_r`` that every waited visit there pays, just large enough to bring its load to capacity
  (`FluidEngine._saturate`), so a task that rarely visits the hot controller is slowed little
  and keeps the others busy.  Any server still above capacity (links, banks, issue ports, or
  traffic the threads do not wait for: posted writes, DMA words) then scales down,
  in proportion, the rates of the tasks on it.  (Scaling every task on a hot controller by the
  same factor, as the first version did, ties all controllers to the hottest one at every
  instant: polblogs DMA SpMV 11.6% slower than the access level, now 4.8%.)
* **A DMA gather** is its own stage, before the rest of its task (the caller runs two tasks in
  a row; `archsim.piuma.model`): the core's engine serves commands first come, first served, so
  the caller admits one command per engine at a time (a SimPy resource, so the engine needs no
  server here: one burst cannot load it above its rate); its words load the controllers and the
  links, and the burst waits ``1 / max_outstanding`` of a controller's wait per word (the
  engine's window of words in flight fills as the queues grow).
* **Links** are shared by every core: their waits are computed from the aggregate load (no own-
  share correction), and a round trip to controller ``c`` waits at every link of its route out
  and back (`Topology.paths`).
* **Fairness**: every running task gets its share at the same time (processor sharing among the
  tasks that start together), as the access-level reference (`archsim.piuma.detail`) gives them
  request by request; this is what the reservation calendars (``sim.contention: calendar``)
  cannot do: they serve the tasks first come, first served, in order of start.

``dram.queue_model: ddr5-curve`` (or ``none``) replaces the controllers' mean-value waits by
that curve of their utilisation; links, banks and issue ports keep the analysis.

Not modelled: the order of the operations inside a task (its demands are spread evenly over it),
the transient of a queue (the rates jump to the new fixed point when a task starts or ends).
Cost: a full fixed-point solve (``O(running tasks × controllers)`` per iteration plus a sparse
product over the links; 3 iterations from the previous solution) once ``REFRESH`` = 5% of the
running tasks have started or ended; in between, a new task takes the waits the running ones
make, and only the capacity check runs.  A solve iterates to convergence (up to ``MAX_ITER``)
only the first time or when most running tasks are new to it; a thread's first task starts
from the waits the running ones make, like any new task (iterating to convergence whenever a
thread started its first task took row-wise SpGEMM at R-MAT s14 10,478 solver iterations
instead of 4,287: its threads start late, waiting for scratchpad room).  This is an approximation chosen for speed: when it
was introduced, it moved DMA SpMV by up to 9% against a solve at every change (R-MAT s9:
1,869 vs 1,718 cycles; access level 1,896) and the other SpMV variants by ≤ 1.1%; the
comparison with the access level (BENCHMARKS.md) is of this default.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["FluidEngine"]

#: fixed point: stop when no task's rate moves by more than this fraction
TOL = 1e-3
MAX_ITER = 200
#: after the first solve the previous fixed point is the start: a few iterations track it
WARM_ITER = 3
#: a full solve when this fraction of the running tasks has started or ended since the last one;
#: in between, a new task's rate comes from the waits the running ones make (they keep theirs)
REFRESH = 0.05
#: controller saturation (`FluidEngine._saturate`): Newton steps at most, load above capacity
#: allowed before the proportional guard, and slack below capacity allowed where ``dw`` > 0
SAT_ITER = 25
SAT_TOL = 1e-3
SAT_SLACK = 1e-2
#: damping of the waits between iterations (1 = plain substitution)
DAMP = 0.5


def _rows_dot(M, rows: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """``v @ M[rows]`` for a dense or CSR ``M`` without building the row slice (a few rows)."""
    if not sp.issparse(M):
        return v @ M[rows]
    keep = v != 0
    rows, v = rows[keep], v[keep]
    s, cnt = M.indptr[rows], M.indptr[rows + 1] - M.indptr[rows]
    tot = int(cnt.sum())
    if tot == 0:
        return np.zeros(n)
    idx = np.repeat(s - np.cumsum(cnt) + cnt, cnt) + np.arange(tot)
    return np.bincount(M.indices[idx], weights=M.data[idx] * np.repeat(v, cnt), minlength=n)


class _CoreSum:
    """Per-core sums of rows grouped by core (rows in thread order): ``(G @ X)[c]`` = Σ of the
    rows of core ``c``."""

    def __init__(self, cores: int, core: np.ndarray, starts: np.ndarray) -> None:
        self.cores, self.starts, self.ucores = cores, starts, core[starts]

    def __matmul__(self, X):
        out = np.zeros((self.cores,) + X.shape[1:])
        if self.starts.size:
            out[self.ucores] = np.add.reduceat(X, self.starts, axis=0)
        return out


class FluidEngine:
    """Rates of the running tasks (at most one per thread) and their completion times."""

    def __init__(self, env, cfg, topo, T: int, core_of: np.ndarray, pipe_of: np.ndarray, residuals: dict,
                 ctrl_curve=None) -> None:
        """``ctrl_curve``: the controllers' wait as a function of their utilisation (a
        `archsim.piuma.queueing` curve with ``wait(rho)``) instead of the mean-value analysis
        (``dram.queue_model: ddr5-curve`` or ``none``)."""
        self.env = env
        self.ctrl_curve = ctrl_curve
        self.T = T
        N = self.N = cfg.controllers
        nb = self.nb = cfg.sp_banks
        self.cores = cfg.cores
        self.P = cfg.cores * cfg.pipelines_per_core
        self.L = topo.n_links
        self.core_of = np.asarray(core_of)
        self.pipe_of = np.asarray(pipe_of)
        self.res = dict(residuals)
        z = lambda *s: np.zeros(s)  # noqa: E731
        self.C = z(T)
        self.Dc, self.Vc, self.Ac = z(T, N), z(T, N), z(T, N)
        self.Ob, self.Bb, self.Or, self.Br = z(T, N), z(T, N), z(T, N), z(T, N)
        self.Db, self.Vb, self.Ab = z(T, nb), z(T, nb), z(T, nb)
        self.Dp, self.Vp = z(T), z(T)
        self.wc, self.wb, self.wp = z(T, N), z(T, nb), z(T)
        self.wl = z(max(self.L, 1))
        self._lw = None
        self.x = z(T)
        self.x0 = z(T)  # rate without the saturation waits ``dw``
        self.wr_c0 = z(T)  # controller wait cycles per task without ``dw``
        self.dw = np.zeros(N)  # saturation wait per waited visit at each controller (see `_saturate`)
        self.done = z(T)  # progress of the running task, 0..1
        self.active = np.zeros(T, bool)
        self.cold = np.ones(T, bool)  # slot has never been through a solve
        self.new = np.zeros(T, bool)  # started since the last solve
        self.changes = 0  # starts and ends since the last full solve
        self.wr = np.zeros((T, 4))  # wait cycles per task (ctrl, link, bank, pipe) at the current rates
        self.Wc = np.zeros(N)  # waits a newly arriving request meets, per server (from the last solve)
        self.Wb = np.zeros((cfg.cores, nb))
        self.Wp = np.zeros(cfg.cores * cfg.pipelines_per_core)
        self.full_solves = 0
        # running per-server loads of the active tasks at their current rates (kept up to date
        # as tasks start, end and are re-rated; re-summed exactly after every re-rating of all)
        self.Uc = np.zeros(N)
        self.Ub = np.zeros((cfg.cores, nb))
        self.Up = np.zeros(self.P)
        self.Ul = np.zeros(max(self.L, 1))  # link utilisation (bytes per cycle / capacity)
        self.events: list = [None] * T
        self.t_last = 0.0
        self.wake = None
        self.dirty = False
        self.wsum = np.zeros(4)
        self.solves = 0
        self.iterations = 0
        if self.L:
            self.link_cap = np.asarray(topo.link_bytes_per_cycle[: self.L], dtype=np.float64)
            self.Mout = sp.vstack([topo.out_T[p].T for p in range(self.cores)]).tocsr()[:, : self.L]
            self.Mback = sp.vstack([topo.back_T[p].T for p in range(self.cores)]).tocsr()[:, : self.L]
            self.Mboth = (self.Mout + self.Mback).tocsr()
            if self.Mout.shape[0] * self.L <= 200_000:  # small fabrics: dense products are faster
                self.Mout, self.Mback, self.Mboth = self.Mout.toarray(), self.Mback.toarray(), self.Mboth.toarray()
        env.process(self._manager())

    # ---- tasks ---------------------------------------------------------------------------------
    def run(self, i: int, chain0: float, ctrl: dict, bank: tuple, pipe: tuple):
        """Start a task on thread slot ``i`` now; a generator that returns when it has ended.

        ``ctrl``: per-controller arrays ``demand`` (cycles), ``waited``, ``visits``,
        ``out_bytes``, ``back_bytes``, ``out_reqs``, ``back_reqs``; ``bank``: (demand, waited,
        visits) per bank of the core; ``pipe``: (demand cycles, groups)."""
        self._advance(self.env.now)
        self.C[i] = max(float(chain0), 1.0)
        self.Dc[i], self.Vc[i], self.Ac[i] = ctrl["demand"], ctrl["waited"], ctrl["visits"]
        self.Ob[i], self.Bb[i], self.Or[i], self.Br[i] = ctrl["out_bytes"], ctrl["back_bytes"], ctrl["out_reqs"], ctrl["back_reqs"]
        self.Db[i], self.Vb[i], self.Ab[i] = bank
        self.Dp[i], self.Vp[i] = pipe
        self.done[i] = 0.0
        self.x[i] = 1.0 / self.C[i]
        self.active[i] = True
        self.new[i] = True
        self.changes += 1
        ev = self.env.event()
        self.events[i] = ev
        self._poke()
        t0 = self.env.now
        yield ev
        return self.env.now - t0

    def _poke(self) -> None:
        self.dirty = True
        if self.wake is not None and not self.wake.triggered:
            self.wake.succeed()

    def _advance(self, now: float) -> None:
        dt = now - self.t_last
        if dt > 0:
            a = np.flatnonzero(self.active)
            if a.size:
                xa = self.x[a] * dt
                self.done[a] += xa
                self.wsum += xa @ self.wr[a]
        self.t_last = now

    def _manager(self):
        env = self.env
        while True:
            if self.dirty:
                self.dirty = False
                n = int(self.active.sum())
                if self.changes >= max(1.0, REFRESH * n) or self.full_solves == 0:
                    self._solve()
                else:
                    self._quick()
            a = np.flatnonzero(self.active)
            self.wake = env.event()
            if a.size == 0:
                yield self.wake
                self.wake = None
                self._advance(env.now)
                continue
            rem = (1.0 - self.done[a]) / self.x[a]
            dt = max(float(rem.min()), 0.0)
            yield env.any_of([self.wake, env.timeout(dt)])
            self.wake = None
            now = env.now
            self._advance(now)
            # done: less than a millionth of a cycle left, or less than the clock can resolve at
            # this time (its spacing passes 1e-6 cycles near 2^32 cycles; a task below it would
            # never end: the timeout cannot move the clock)
            tol = max(1e-6, 4.0 * float(np.spacing(now)))
            fin = a[(1.0 - self.done[a]) <= self.x[a] * tol + 1e-12]
            if fin.size:
                self.changes += fin.size
                self._load(fin, -1.0)
                for i in fin.tolist():
                    self.active[i] = False
                    ev, self.events[i] = self.events[i], None
                    ev.succeed()
                self.dirty = True

    @property
    def waits(self) -> dict:
        return dict(zip(("ctrl", "link", "bank", "pipe"), self.wsum.tolist()))

    def _link_wait(self, core: np.ndarray) -> np.ndarray:
        """Per task, per controller: the link waits of a round trip (out and back)."""
        if not self.L:
            return 0.0
        if self._lw is None:  # per core and controller; the link waits change only in a solve
            self._lw = (self.Mboth @ self.wl).reshape(self.cores, self.N)
        return self._lw[core]

    def _quick(self) -> None:
        """Rates of the tasks started since the last solve, from the waits the running tasks
        make (a new request finds their queues; its own share is not in them yet)."""
        i = np.flatnonzero(self.new & self.active)
        self.new[:] = False
        if i.size == 0:
            return
        core = self.core_of[i]
        self._seed(i)
        self._rates(i, self._link_wait(core))
        self._load(i, 1.0)
        # the newcomers must not overfill a server either: scale everyone on it in proportion
        if not self._over():
            return
        a = np.flatnonzero(self.active)
        ca = self.core_of[a]
        starts = np.flatnonzero(np.r_[True, ca[1:] != ca[:-1]])
        G = _CoreSum(self.cores, ca, starts)
        Vc = self.Vc[a]
        self.x[a] = self._capacity(self.x0[a], self.Dc[a], self.Db[a], self.Dp[a], ca, self.pipe_of[a],
                                   G, self.Ob[a] if self.L else None, self.Bb[a] if self.L else None, Vc)
        self.wr[a, 0] = self.wr_c0[a] + Vc @ self.dw
        self._resum(a, G)

    def _seed(self, i: np.ndarray) -> None:
        """Start the waits of tasks ``i`` from those a request arriving now meets (the last
        solve's queues; the task's own share is not in them yet)."""
        core = self.core_of[i]
        self.wc[i] = self.Wc
        self.wb[i] = self.Wb[core]
        self.wp[i] = self.Wp[self.pipe_of[i]]
        self.cold[i] = False

    def _load(self, i: np.ndarray, sign: float) -> None:
        """Add (``sign`` 1) or remove (-1) the loads of tasks ``i`` at their current rates."""
        x = sign * self.x[i]
        xc = x[:, None]
        core = self.core_of[i]
        self.Uc += x @ self.Dc[i]
        if i.size == 1:  # the common case (one task starts or ends): no scatter needed
            self.Ub[core[0]] += xc[0] * self.Db[i[0]]
            self.Up[self.pipe_of[i[0]]] += x[0] * self.Dp[i[0]]
        else:
            np.add.at(self.Ub, core, xc * self.Db[i])
            np.add.at(self.Up, self.pipe_of[i], x * self.Dp[i])
        if self.L:
            lo, lb = xc * self.Ob[i], xc * self.Bb[i]
            rows = (core[:, None] * self.N + np.arange(self.N)).ravel()
            self.Ul += (_rows_dot(self.Mout, rows, lo.ravel(), self.L) + _rows_dot(self.Mback, rows, lb.ravel(), self.L)) / self.link_cap

    def _resum(self, a: np.ndarray, G: "_CoreSum") -> None:
        """Re-sum the per-server loads of the active tasks ``a`` (grouped by core) exactly."""
        x = self.x[a]
        xc = x[:, None]
        self.Uc = x @ self.Dc[a]
        self.Ub = G @ (xc * self.Db[a])
        self.Up = np.bincount(self.pipe_of[a], weights=x * self.Dp[a], minlength=self.P)
        if self.L:
            lo, lb = G @ (xc * self.Ob[a]), G @ (xc * self.Bb[a])
            self.Ul = (lo.ravel() @ self.Mout + lb.ravel() @ self.Mback) / self.link_cap

    def _over(self) -> bool:
        """Whether the running tasks load any server above its capacity, from the running
        per-server sums (kept exact to rounding: re-summed after every re-rating of all tasks;
        a server left at capacity by the last scaling reads as full, not over)."""
        m = max(float(self.Uc.max(initial=0.0)), float(self.Ub.max(initial=0.0)), float(self.Up.max(initial=0.0)),
                float(self.Ul.max(initial=0.0)) if self.L else 0.0)
        return m > 1.0 + 1e-6

    def _rates(self, i: np.ndarray, link_w) -> None:
        """x and the per-class wait cycles of tasks ``i`` from their current waits."""
        Vc = self.Vc[i]
        w_c = (Vc * self.wc[i]).sum(axis=1)
        w_l = (Vc * link_w).sum(axis=1) if self.L else np.zeros(i.size)
        w_b = (self.Vb[i] * self.wb[i]).sum(axis=1)
        w_p = self.Vp[i] * self.wp[i]
        self.x0[i] = 1.0 / (self.C[i] + (((w_c + w_l) + w_b) + w_p))
        self.wr_c0[i] = w_c
        sat = Vc @ self.dw
        self.wr[i] = np.column_stack((w_c + sat, w_l, w_b, w_p))
        self.x[i] = 1.0 / (1.0 / self.x0[i] + sat)

    # ---- the fixed point -------------------------------------------------------------------
    def _solve(self) -> None:
        a = np.flatnonzero(self.active)
        if a.size == 0:
            return
        self.solves += 1
        n = a.size
        N, L = self.N, self.L
        core = self.core_of[a]
        pipe = self.pipe_of[a]
        C = self.C[a]
        Dc, Vc, Ac = self.Dc[a], self.Vc[a], self.Ac[a]
        Db, Vb, Ab = self.Db[a], self.Vb[a], self.Ab[a]
        Dp, Vp = self.Dp[a], self.Vp[a]
        # a slot's first task starts from the waits the running tasks make (the last solve's);
        # the fixed point is iterated to convergence only when the previous one says little:
        # the first solve, or when most running tasks are new to it (a phase starts)
        coldm = self.cold[a]
        cold = self.full_solves == 0 or float(coldm.mean()) > 0.5
        if self.full_solves > 0 and coldm.any():
            self._seed(a[coldm])
        wc, wb, wp = self.wc[a], self.wb[a], self.wp[a]
        wl = self.wl
        # active slots are in thread order, hence grouped by core: per-core sums by reduceat
        starts = np.flatnonzero(np.r_[True, core[1:] != core[:-1]])

        G = _CoreSum(self.cores, core, starts)
        res = self.res
        if L:
            Ob, Bb, Or, Br = self.Ob[a], self.Bb[a], self.Or[a], self.Br[a]
        # population bounds: no request waits behind more than the other tasks' requests
        bound = float(n)
        x = x_free = 1.0 / C
        it = 0
        for it in range(MAX_ITER if cold else WARM_ITER):
            link_w = (self.Mboth @ wl).reshape(self.cores, N)[core] if L else 0.0
            R = C + (Vc * (wc + link_w)).sum(axis=1) + (Vb * wb).sum(axis=1) + Vp * wp
            xn = 1.0 / R
            if it > 0 and float(np.max(np.abs(xn - x_free) / xn)) < TOL:
                break
            x_free = xn
            x = self._capacity(xn, Dc, Db, Dp, core, pipe, G, Ob if L else None, Bb if L else None, Vc)
            xc = x[:, None]
            # controllers (own share excluded)
            Ui = xc * Dc
            Qi = xc * (Ac * wc + Dc)
            U, Q, vis = Ui.sum(axis=0), Qi.sum(axis=0), (xc * Ac).sum(axis=0)
            s = np.divide(U, vis, out=np.zeros_like(U), where=vis > 0)
            if self.ctrl_curve is not None:
                new = np.broadcast_to(self.ctrl_curve.wait(np.minimum(U, 0.999), res["ctrl"], bound * (s + res["ctrl"])), wc.shape)
            else:
                new = np.maximum(Q - Qi - (U - Ui), 0.0) * s + (U - Ui) * res["ctrl"]
            wc = wc + DAMP * (np.minimum(new, bound * (s + res["ctrl"])) - wc)
            # links (aggregate)
            if L:
                Ul = ((G @ (xc * Ob)).ravel() @ self.Mout + (G @ (xc * Bb)).ravel() @ self.Mback) / self.link_cap
                vl = (G @ (xc * Or)).ravel() @ self.Mout + (G @ (xc * Br)).ravel() @ self.Mback
                sl = np.divide(Ul, vl, out=np.zeros_like(Ul), where=vl > 0)
                rl = res["link"]
                newl = np.maximum(vl * wl, 0.0) * sl + Ul * rl
                wl = wl + DAMP * (np.minimum(newl, bound * (sl + rl)) - wl)
            # scratchpad banks of each core
            Ui = xc * Db
            Qi = xc * (Ab * wb + Db)
            U, Q, vis = (G @ Ui)[core], (G @ Qi)[core], (G @ (xc * Ab))[core]
            s = np.divide(U, vis, out=np.zeros_like(U), where=vis > 0)
            new = np.maximum(Q - Qi - (U - Ui), 0.0) * s + (U - Ui) * res["bank"]
            wb = wb + DAMP * (np.minimum(new, bound * (s + res["bank"])) - wb)
            # issue ports (one per pipeline)
            wp = wp + DAMP * (self._single(x, Dp, Vp, Vp, wp, pipe, self.P, 0.5) - wp)
        self.iterations += it + 1
        self.full_solves += 1
        self.cold[a] = False
        self.new[:] = False
        self.changes = 0
        self.wc[a], self.wb[a], self.wp[a] = wc, wb, wp
        self.wl = wl
        self._lw = None
        # what a request arriving now meets (no own share to exclude)
        xc = x[:, None]
        U, Q, vis = (xc * Dc).sum(axis=0), (xc * (Ac * wc + Dc)).sum(axis=0), (xc * Ac).sum(axis=0)
        s_ = np.divide(U, vis, out=np.zeros_like(U), where=vis > 0)
        self.Wc = np.maximum(Q - U, 0.0) * s_ + U * res["ctrl"]
        if self.ctrl_curve is not None:
            self.Wc = np.asarray(self.ctrl_curve.wait(np.minimum(U, 0.999), res["ctrl"], n * (s_ + res["ctrl"])), float) * np.ones(N)
        U, Q, vis = G @ (xc * Db), G @ (xc * (Ab * wb + Db)), G @ (xc * Ab)
        s_ = np.divide(U, vis, out=np.zeros_like(U), where=vis > 0)
        self.Wb = np.maximum(Q - U, 0.0) * s_ + U * res["bank"]
        self.Wp = self._server_wait(x, Dp, Vp, wp, pipe, self.P)
        self._rates(a, self._link_wait(core))
        x = self._capacity(self.x0[a], Dc, Db, Dp, core, pipe, G, Ob if L else None, Bb if L else None, Vc)
        self.x[a] = x
        self.wr[a, 0] = self.wr_c0[a] + Vc @ self.dw
        self._resum(a, G)


    def _saturate(self, x0, Dc, Vc):
        """Rates with the queue a saturated controller builds: the wait ``dw_r`` (≥ 0, one per
        controller) that every waited visit there adds, chosen so that no controller is loaded
        above its capacity (``Σ_i x_i D_ir ≤ 1``) and ``dw_r`` is 0 where it is below.

        In a closed network a saturated FIFO server holds the surplus population in its queue:
        a task pays that queue once per request it waits for there, so a task that visits the
        hot controller rarely is slowed little and keeps the other controllers busy.  Solved by
        Newton steps per controller (the load is convex and decreasing in ``dw_r``) with the
        derivative of all the controllers that hold a wait moving together (they share tasks: a
        per-controller derivative overshoots and oscillates), started from the previous solution."""
        dw = self.dw
        R0 = 1.0 / x0
        for _ in range(SAT_ITER):
            T = R0 + Vc @ dw
            x = 1.0 / T
            g = x @ Dc - 1.0
            if float(g.max(initial=-1.0)) <= SAT_TOL and not bool(((dw > 0) & (g < -SAT_SLACK)).any()):
                break
            # the controllers whose wait moves together (overloaded, or holding a wait) slow a
            # task jointly: the derivative of U_r when all of them move by the same amount
            act = (g > 0) | (dw > 0)
            d = (x * x * (Vc @ act.astype(np.float64))) @ Dc
            step = np.divide(g, d, out=np.zeros_like(g), where=(d > 0) & act)
            dw = np.maximum(dw + step, 0.0)
        else:
            x = 1.0 / (R0 + Vc @ dw)
        self.dw = dw
        return x

    def _capacity(self, x, Dc, Db, Dp, core, pipe, G, Ob, Bb, Vc):
        """Rates within every server's capacity, from the rates ``x`` without saturation: the
        controllers first by their queues (`_saturate`; ``Vc``: the waited visits), then any server
        still above its capacity scales down, in proportion, the rates of the tasks on it
        (traffic the threads do not wait for, such as DMA words and posted writes, is not held
        back by waits)."""
        x = self._saturate(x, Dc, Vc)
        n, N, L = x.size, self.N, self.L
        # one scaling suffices: a task's factor is at least the load of every server it uses, so
        # afterwards no server is above capacity (Σ x_i D_ir / f_i ≤ Σ x_i D_ir / U_r = 1, up to
        # rounding far below the 1e-9 tolerance); a second round would only check that
        f = np.ones(n)
        xc = x[:, None]
        # (a server at or below capacity cannot raise f above 1: only the hot ones are looked at)
        U = (xc * Dc).sum(axis=0)
        hot = U > 1.0
        if hot.any():
            f = np.maximum(f, np.where(Dc[:, hot] > 0, U[hot][None, :], 0.0).max(axis=1))
        Ub = G @ (xc * Db)
        if float(Ub.max(initial=0.0)) > 1.0:
            f = np.maximum(f, np.where(Db > 0, Ub[core], 0.0).max(axis=1))
        Up = np.bincount(pipe, weights=x * Dp, minlength=self.P)
        if float(Up.max(initial=0.0)) > 1.0:
            f = np.maximum(f, np.where(Dp > 0, Up[pipe], 0.0))
        if L:
            lo = (G @ (xc * Ob))
            lb = (G @ (xc * Bb))
            Ul = (lo.ravel() @ self.Mout + lb.ravel() @ self.Mback) / self.link_cap
            over = Ul > 1.0 + 1e-9
            if over.any():
                # per core: the most loaded link its traffic crosses (block-diagonal
                # product: row p of S holds core p's per-controller load in its own block)
                rows = np.repeat(np.arange(self.cores), N)
                cols = np.arange(self.cores * N)
                So = sp.csr_array((lo.ravel(), (rows, cols)), shape=(self.cores, self.cores * N))
                Sb = sp.csr_array((lb.ravel(), (rows, cols)), shape=(self.cores, self.cores * N))
                load = So @ self.Mout + Sb @ self.Mback
                used = (load.toarray() if sp.issparse(load) else np.asarray(load)) > 0
                fcore = np.maximum(np.where(used, Ul[None, :], 0.0).max(axis=1), 1.0)
                f = np.maximum(f, fcore[core])
        return x if float(f.max()) <= 1.0 + 1e-9 else x / f

    @staticmethod
    def _server_wait(x, D, A, w, server, n_servers):
        U = np.bincount(server, weights=x * D, minlength=n_servers)
        Q = np.bincount(server, weights=x * (A * w + D), minlength=n_servers)
        vis = np.bincount(server, weights=x * A, minlength=n_servers)
        s = np.divide(U, vis, out=np.zeros_like(U), where=vis > 0)
        return np.maximum(Q - U, 0.0) * s + 0.5 * U * s

    def _single(self, x, D, V, A, w, server, n_servers, res_frac):
        """Waits at single-server stations indexed by ``server`` (own share excluded),
        deterministic service: residual = ``res_frac`` × mean service."""
        Ui = x * D
        Qi = x * (A * w + D)
        U = np.bincount(server, weights=Ui, minlength=n_servers)[server]
        Q = np.bincount(server, weights=Qi, minlength=n_servers)[server]
        vis = np.bincount(server, weights=x * A, minlength=n_servers)[server]
        s = np.divide(U, vis, out=np.zeros_like(U), where=vis > 0)
        new = np.maximum(Q - Qi - (U - Ui), 0.0) * s + (U - Ui) * res_frac * s
        return np.minimum(new, float(x.size) * s * (1.0 + res_frac))
