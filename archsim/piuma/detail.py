"""Per-access reference model of the PIUMA-like fabric (``sim.detail: access``, ``--detail access``).

The fast model (`archsim.piuma.model`) batches a task's operations into one event and gets
queueing from reservation calendars plus an M/G/1 wait.  This model replays the same program
one operation at a time, so that the fast one can be checked against it on small inputs.

What is simulated, and at what granularity
------------------------------------------
* **Threads** are SimPy processes running their tasks in the same order as the fast model
  (same `Assignment`; dynamic partitions take the next task from a shared queue and pay a
  remote fetch-and-add for it).  A thread has **one outstanding operation**: it waits for every
  read, remote atomic and scratchpad operation before the next one; writes are posted (the
  thread goes on, the write still travels and occupies links and the controller).
* **Memory requests** are the ones `archsim.piuma.fabric` counts: one per uncached word, per
  DMA word, per cache-line piece of a cached stream, per cache miss of a gather (hits are
  decided before the simulation, as in the fast model).  A request is a journey through FIFO
  servers: every link of its XY route out (serialisation ``bytes / link_bytes_per_cycle``;
  cut-through, so the head moves on after the hop latency while the link stays busy for the
  serialisation), the owning controller (``words × occupancy`` access slots; the response
  leaves ``latency_cycles`` after service starts), then the route back.  Each server visit is
  one SimPy event at the request's arrival time, and a server serves requests in arrival order
  (a FIFO server with the next-free time as state: equivalent to a ``simpy.Resource`` of
  capacity 1 with deterministic service, without the request/release events).
* **Scratchpad**: one op per access at its bank (atomics at the bank of their key's home slot,
  drawn in a fixed pseudo-random order from the task's bank histogram; reads and writes
  round-robin over the banks); an atomic holds its bank ``sp_atomic_cycles``, the thread
  waits ``sp_latency_cycles`` (+ the atomic's extra bank cycles).
* **Issue**: a task's instructions are split into equal groups, one before each operation the
  thread waits for; a group holds the pipeline's issue port for ``instructions /
  issue_per_cycle`` cycles, FIFO among the pipeline's threads (round-robin at group grain).
* **DMA**: a task with DMA words issues its command (an issue group), the core's DMA engine
  sends the words at ``requests_per_cycle`` with at most
  ``max_outstanding`` in flight, each word is deposited in the scratchpad (a bank write); the
  thread is stalled until the whole command has completed (S1 §V-A), then goes on.
* The order of a task's operations: its memory requests in program order, scratchpad
  operations interleaved evenly among them.

Not modelled (as in the fast model): DRAM banks/rows/refresh, instruction caches, coherence.
Cost: about (hops out + hops back + 2) events per memory request; programs above
``sim.detail_max_ops`` requests + scratchpad ops are refused.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import simpy

from archsim.piuma.config import PiumaConfig
from archsim.piuma.fabric import WORD_BYTES, TaskDemands, Topology, controller_of_words, pipeline_of_thread, request_plan
from dataflow.piuma import Assignment, Program
from dataflow.piuma.common import expand_ranges
from dataflow.piuma.program import ATOMIC, DMA, READ, WRITE
from workloads.errors import InputError

__all__ = ["simulate_access", "count_ops", "expand_requests"]


def expand_requests(prog: Program, cfg: PiumaConfig, hits: np.ndarray):
    """Every memory request of the program in task/program order.

    Returns ``(task, controller, words, kind, is_dma)`` arrays (one entry per request)."""
    plan = request_plan(prog, cfg, hits)
    lo, hi, g = plan.lo, plan.hi, plan.gran
    run_task = np.repeat(np.arange(prog.n_tasks, dtype=np.int64), np.diff(prog.run_ptr))
    first = lo // g
    last = -(-hi // g)
    n_req = np.where(hi > lo, last - first, 0)
    run_of = np.repeat(np.arange(lo.size), n_req)
    unit = expand_ranges(first, n_req)
    gg = g[run_of]
    start = np.maximum(unit * gg, lo[run_of])
    end = np.minimum((unit + 1) * gg, hi[run_of])
    ctrl = controller_of_words(start, cfg, prog.total_words)
    return run_task[run_of], ctrl, (end - start), prog.run_kind[run_of], prog.run_mode[run_of] == DMA


def count_ops(prog: Program, dem: TaskDemands) -> int:
    """Memory requests + scratchpad operations the access level would simulate."""
    req = float(dem.ctrl_trips.sum()) + float(dem.write_words.sum()) + float(dem.dma_words.sum())
    return int(req + float(prog.sp_reads.sum() + prog.sp_writes.sum() + prog.sp_atomics.sum()))


class _Outcome(dict):
    pass


def simulate_access(prog: Program, cfg: PiumaConfig, assignments: list[Assignment], dem: TaskDemands, topo: Topology):
    """Run ``prog`` one operation per event; returns a `archsim.piuma.model.SimOutcome`."""
    from archsim.piuma.model import SimOutcome

    n_ops = count_ops(prog, dem)
    if n_ops > cfg.sim.detail_max_ops:
        raise InputError(
            f"sim.detail: access-level simulation of {n_ops:,} operations exceeds sim.detail_max_ops = "
            f"{cfg.sim.detail_max_ops:,}; use detail: task for this input"
        )
    N = cfg.controllers
    L = topo.n_links
    nb = cfg.sp_banks
    P = cfg.cores * cfg.pipelines_per_core
    tpc = cfg.threads_per_core
    T = cfg.threads
    # server ids: controllers, links, banks, pipelines
    S_LINK, S_BANK, S_PIPE = N, N + L, N + L + cfg.cores * nb
    n_srv = S_PIPE + P
    free = [0.0] * n_srv
    busy = [0.0] * n_srv
    slot = cfg.dram.access_bytes / cfg.dram.bytes_per_cycle_per_controller
    H = float(cfg.network.header_bytes)
    bw = topo.link_bytes_per_cycle.tolist()
    llat = topo.link_latency.tolist()
    die = topo.is_die_link.tolist()
    dram_lat = float(cfg.dram.latency_cycles)
    issue = cfg.issue_per_cycle_per_pipeline
    sp_lat = float(cfg.sp_latency_cycles)
    a_cyc = float(cfg.sp_atomic_cycles)
    occ_atomic = float(cfg.dram.atomic_occupancy)
    paths = topo.paths
    env = simpy.Environment()
    wq = {"ctrl": 0.0, "link": 0.0, "bank": 0.0, "pipe": 0.0}  # queueing cycles by server class
    st = {"events": 0, "link_bytes": 0.0, "die_bytes": 0.0, "busy_threads": 0.0, "grabs": 0, "bank_wait": 0.0}

    # ---- requests of every task, in program order ----------------------------------------
    r_task, r_ctrl, r_words, r_kind, r_dma = expand_requests(prog, cfg, dem.run_hits)
    order = np.argsort(r_task, kind="stable")
    r_task, r_ctrl, r_words, r_kind, r_dma = r_task[order], r_ctrl[order], r_words[order], r_kind[order], r_dma[order]
    r_ptr = np.zeros(prog.n_tasks + 1, np.int64)
    np.cumsum(np.bincount(r_task, minlength=prog.n_tasks), out=r_ptr[1:])

    def journey(steps, done):
        """Walk ``steps`` = [(server, service, delay_after_start), ...]; ``done`` (an event or
        None) succeeds when the last step's delay has elapsed."""
        i = 0
        n = len(steps)

        def go(_=None):
            nonlocal i
            now = env.now
            while True:
                sid, svc, delay = steps[i]
                f = free[sid]
                start = f if f > now else now
                free[sid] = start + svc
                busy[sid] += svc
                if start > now:
                    wq["ctrl" if sid < S_LINK else "link" if sid < S_BANK else "bank"] += start - now
                i += 1
                nxt = start + delay
                st["events"] += 1
                if i == n:
                    if done is not None:
                        if nxt > now:
                            env.timeout(nxt - now).callbacks.append(lambda _e: done.succeed())
                        else:
                            done.succeed()
                    return
                if nxt > now:
                    env.timeout(nxt - now).callbacks.append(go)
                    return

        go()

    def mem_steps(core: int, c: int, words: int, kind: int) -> list:
        occ = occ_atomic if kind == ATOMIC else 1.0
        if kind == READ:
            ob, bb = H, H + WORD_BYTES * words
        elif kind == WRITE:
            ob, bb = H + WORD_BYTES * words, 0.0
        else:
            ob, bb = H + WORD_BYTES, H + WORD_BYTES
        steps = []
        for li in paths[core][c]:
            steps.append((S_LINK + li, ob / bw[li], llat[li]))
            st["link_bytes"] += ob
            if die[li]:
                st["die_bytes"] += ob
        steps.append((c, words * occ * slot, dram_lat if kind != WRITE else 0.0))
        if kind != WRITE:
            for li in paths[c][core]:
                steps.append((S_LINK + li, bb / bw[li], llat[li]))
                st["link_bytes"] += bb
                if die[li]:
                    st["die_bytes"] += bb
        return steps

    # ---- DMA engines ------------------------------------------------------------------------
    dma_pending = [deque() for _ in range(cfg.cores)]
    dma_out = [0] * cfg.cores
    dma_wake: list = [None] * cfg.cores
    dma_slot: list = [None] * cfg.cores
    dma_gap = 1.0 / cfg.dma.requests_per_cycle

    def dma_engine(core: int):
        next_t = 0.0
        bank0 = S_BANK + core * nb
        nbank = 0
        while True:
            if not dma_pending[core]:
                dma_wake[core] = env.event()
                yield dma_wake[core]
                continue
            c, words, kind, cmd = dma_pending[core].popleft()
            if dma_out[core] >= cfg.dma.max_outstanding:
                dma_slot[core] = env.event()
                yield dma_slot[core]
            t = max(env.now, next_t)
            if t > env.now:
                yield env.timeout(t - env.now)
            next_t = env.now + dma_gap
            dma_out[core] += 1
            done = env.event()
            steps = mem_steps(core, c, words, kind)
            if kind == READ:  # deposit in the scratchpad: a bank write
                steps.append((bank0 + nbank % nb, 1.0, 0.0))
                nbank += 1
            done.callbacks.append(lambda _e, core=core, cmd=cmd: _dma_done(core, cmd))
            journey(steps, done)

    def _dma_done(core, cmd):
        dma_out[core] -= 1
        ev = dma_slot[core]
        if ev is not None and not ev.triggered:
            dma_slot[core] = None
            ev.succeed()
        cmd[0] -= 1
        if cmd[0] == 0:
            cmd[1].succeed()

    for core in range(cfg.cores):
        env.process(dma_engine(core))

    # ---- threads ------------------------------------------------------------------------------
    def task_ops(t: int):
        """(waited/posted memory requests, scratchpad ops, DMA requests) of task t."""
        a, b = r_ptr[t], r_ptr[t + 1]
        dma_m = r_dma[a:b]
        mem = [(int(c), int(w), int(k)) for c, w, k in zip(r_ctrl[a:b][~dma_m], r_words[a:b][~dma_m], r_kind[a:b][~dma_m])]
        dma = [(int(c), int(w), int(k)) for c, w, k in zip(r_ctrl[a:b][dma_m], r_words[a:b][dma_m], r_kind[a:b][dma_m])]
        hist = prog.sp_atomic_banks[t]
        banks = np.repeat(np.arange(nb), hist)
        if banks.size:
            banks = banks[np.random.default_rng(t).permutation(banks.size)]
        n_rw = int(prog.sp_reads[t]) + (0 if prog.dma_cmds[t] > 0 else int(prog.sp_writes[t]))
        sp = [(int(x), True) for x in banks] + [(i % nb, False) for i in range(n_rw)]
        if banks.size and n_rw:  # interleave atomics and reads/writes evenly
            key = np.r_[np.arange(banks.size) / banks.size, np.arange(n_rw) / n_rw]
            sp = [sp[i] for i in np.argsort(key, kind="stable")]
        return mem, sp, dma

    def thread(tid: int, my_tasks, queue):
        core = tid // tpc
        pipe = S_PIPE + int(pipeline_of_thread(cfg, np.array([tid]))[0])
        bank0 = S_BANK + core * nb
        q_ctrl = core if queue is not None and queue[1] else 0
        it = my_tasks if my_tasks is not None else queue[0]
        for t in it:
            t = int(t)
            t0 = env.now
            mem, sp, dma = task_ops(t)
            n_wait = sum(1 for m in mem if m[2] != WRITE) + len(sp) + int(prog.dma_cmds[t])
            group = float(prog.instr[t]) / (n_wait + 1) / issue
            cmd = None
            if my_tasks is None:  # work-queue fetch-and-add
                st["grabs"] += 1
                ev = env.event()
                journey(mem_steps(core, q_ctrl, 1, ATOMIC), ev)
                yield ev
            if dma:
                yield from _issue(pipe, group)
                cmd = [len(dma), env.event()]
                for c, w, k in dma:
                    dma_pending[core].append((c, w, k, cmd))
                ev = dma_wake[core]
                if ev is not None and not ev.triggered:
                    dma_wake[core] = None
                    ev.succeed()
                yield cmd[1]  # the thread is stalled while its gather is in flight (S1 §V-A)
            # merge memory requests and scratchpad ops evenly, memory first at ties
            nm, ns = len(mem), len(sp)
            if nm and ns:
                key = np.r_[np.arange(nm) / nm, (np.arange(ns) + 0.5) / ns]
                seq = np.argsort(key, kind="stable").tolist()
            else:
                seq = list(range(nm + ns))
            for j in seq:
                if j < nm:
                    c, w, k = mem[j]
                    if k == WRITE:
                        journey(mem_steps(core, c, w, k), None)
                        continue
                    yield from _issue(pipe, group)
                    ev = env.event()
                    journey(mem_steps(core, c, w, k), ev)
                    yield ev
                else:
                    bank, atomic = sp[j - nm]
                    yield from _issue(pipe, group)
                    sid = bank0 + bank
                    now = env.now
                    f = free[sid]
                    start = f if f > now else now
                    svc = a_cyc if atomic else 1.0
                    free[sid] = start + svc
                    busy[sid] += svc
                    st["bank_wait"] += start - now
                    wq["bank"] += start - now
                    st["events"] += 1
                    yield env.timeout(start - now + sp_lat + (a_cyc - 1.0 if atomic else 0.0))
            yield from _issue(pipe, group)
            st["busy_threads"] += env.now - t0

    def _issue(pipe: int, cycles: float):
        if cycles <= 0:
            return
        now = env.now
        f = free[pipe]
        start = f if f > now else now
        wq["pipe"] += start - now
        free[pipe] = start + cycles
        busy[pipe] += cycles
        st["events"] += 1
        yield env.timeout(start + cycles - now)

    phase_cycles: dict[str, float] = {}
    for ph, assignment in enumerate(assignments):
        start = env.now
        queues: dict[int, object] = {}
        if assignment.thread_ptr is None:
            q = assignment.queue_of_task
            for qid in np.unique(q):
                queues[int(qid)] = iter(assignment.tasks[q == qid].tolist())
        per_core = bool(queues) and -1 not in queues
        for tid in range(T):
            if assignment.thread_ptr is not None:
                mine = assignment.thread_tasks(tid).tolist()
                if not mine:
                    continue
                env.process(thread(tid, mine, None))
            else:
                qu = queues.get(tid // tpc if per_core else -1)
                if qu is None:
                    continue
                env.process(thread(tid, None, (qu, per_core)))
        env.run()
        phase_cycles[prog.phases[ph]] = env.now - start

    busy_a = np.asarray(busy)
    die_mask = topo.is_die_link[:L] if L else np.zeros(0, bool)
    r_link = S_LINK + np.arange(L)
    r_bank = np.arange(S_BANK, S_PIPE)
    return SimOutcome(
        total_cycles=float(env.now),
        phase_cycles=phase_cycles,
        thread_busy_cycles=st["busy_threads"],
        resource_busy={
            "dram_controllers": float(busy_a[:N].sum()),
            "dram_controller_max": float(busy_a[:N].max()),
            "mesh_link_max": float(busy_a[r_link[~die_mask]].max()) if L and (~die_mask).any() else 0.0,
            "pipelines_issue": float(busy_a[S_PIPE:].sum()),
            "sp_banks": float(busy_a[r_bank].sum()),
            "mesh_links": float(busy_a[r_link[~die_mask]].sum()) if L else 0.0,
            "die_links": float(busy_a[r_link[die_mask]].sum()) if L else 0.0,
            "dma_engines": float(dem.dma_words.sum()) * dma_gap,
        },
        events=int(st["events"]),
        link_bytes=st["link_bytes"] - st["die_bytes"],
        link_byte_hops=st["link_bytes"],
        die_link_bytes=st["die_bytes"],
        bank_conflicts=0.0,
        bank_stall_cycles=st["bank_wait"],
        queue_grabs=int(st["grabs"]),
        extra={"detail": "access", "ops": n_ops, "queue_wait_cycles": wq,
               "resources": {"controllers": N, "pipelines": P, "banks": cfg.cores * nb, "mesh_links": int((~die_mask).sum()) if L else 0, "die_links": int(die_mask.sum()) if L else 0, "dma": cfg.cores}},
    )
