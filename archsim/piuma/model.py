"""SimPy model of the PIUMA-like fabric: threads replay their tasks against shared resources.

What is simulated, and at what granularity
------------------------------------------
* **Events.**  Threads (MTP threads and STPs, ``threads_per_core`` per core) are SimPy
  processes; one SimPy event is one *task* of one thread (a row, a chunk of rows or of
  products, about ``work / (threads · tasks_per_thread)``; see `dataflow.piuma`).  Events are
  not per memory operation: the operations of a task are batched into one event, as below.
* **Operations are counted and costed one by one.**  Within a task every memory operation of
  the program is accounted individually (`archsim.piuma.fabric.task_demands`): each 8-byte
  load, store or remote atomic, each cache-line fill of a cached stream, each word a DMA
  command gathers, goes to the controller that owns its address, occupies that controller for
  one 8-byte access slot (``atomic_occupancy`` slots for an atomic), moves ``request_bytes``
  over every mesh/die link of its XY route out and back, and, when the thread waits for it,
  adds the round-trip latency *from the thread's core to that controller* (DRAM latency + 2 ×
  hops × hop latency, + die crossings).  Each scratchpad operation of the task is one bank
  access (an atomic holds its key's home bank for ``sp_atomic_cycles``; reads and writes are
  spread over the banks) and adds ``sp_latency_cycles`` to the thread's chain.  Each
  instruction takes one issue slot of the thread's pipeline.  Each DMA command (descriptor)
  makes the thread wait one round trip; each gathered word is one request to the core's DMA
  engine.
* **A task's unloaded duration** is its *dependence chain*: one outstanding memory operation
  per thread, so Σ of the latencies of its loads, atomics and line fills (posted writes and
  DMA words add none) + scratchpad operations × scratchpad latency + instructions / issue
  rate + one round trip per DMA command (+ one for the work-queue fetch-and-add under dynamic
  partitioning).
* **Shared resources**, each a server of fixed capacity per cycle with a reservation calendar
  (`Calendar`): every memory controller (8-byte access slots per cycle), every directed mesh
  link and die link (bytes per cycle), every scratchpad bank (bank cycles), every pipeline's
  issue port (instructions per cycle; round-robin sharing among its threads), every core's DMA
  engine (requests per cycle, ``min(requests_per_cycle, max_outstanding / latency)`` by
  Little's law).
* **Contention.**  When a task starts at cycle ``t``, the demand of its operations on each
  resource is spread evenly over its duration and takes what that resource's calendar has left
  in each bucket of ``bucket_cycles``, after the tasks that started earlier (first come, first
  served in order of task start, at bucket granularity).  The task ends at the later of its
  chain and the moment every resource has served its whole demand.  This is done twice: a trial
  at the unloaded rate finds the bottleneck, then the demand is committed at the slowed rate,
  so a task held up by one resource does not hog the others.  Contention on controllers,
  links, banks and issue ports therefore comes out of the simulation: a resource's reserved
  buckets slow every later task that needs it (hot controllers, hot links and hot banks
  included), and nothing is a closed-form formula of totals.
* **Streaming.**  A phase arrives as blocks (`PhaseFeed`): each thread runs its tasks of block
  0, then of block 1, ... (or drains the dynamic queue block after block); a block is built
  when the first thread needs it and dropped when its last task ends, while calendars, thread
  clocks and queues carry on, so a run never holds more than the blocks in flight.
* **Scratchpad capacity.**  A task that holds a hash table (or gathered data) allocates its
  ``sp_table_bytes`` from its core's scratchpad (a SimPy ``Container`` of ``scratchpad_bytes``)
  when it starts and frees them when it ends; if the other running tasks leave too little, the
  thread waits (first come, first served).  The peak allocation per core is reported.
* **Simplified / not modelled**: the order of the operations inside a task (their demands are
  spread evenly over it; this is the batching); queueing delay added to latency below
  saturation (a loaded controller stretches tasks only when its bandwidth runs out, not by
  M/D/1-style waiting); DRAM banks, rows and refresh; instruction caches; cache hits are
  decided before the simulation (see `archsim.piuma.fabric`); the ``sp_bank_conflicts``
  counter is the number of atomics above an even spread over the banks (per task), whereas
  the time lost to hot banks (``sp_bank_stall_cycles``) comes from the calendars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import simpy

from archsim.piuma.config import PiumaConfig
from archsim.piuma.fabric import TaskDemands, Topology, _pipeline_of_thread
from dataflow.piuma import Assignment, Program

__all__ = ["Calendar", "simulate_program", "simulate_blocks", "SimBlock", "PhaseFeed", "SimOutcome", "auto_bucket_cycles"]


class Calendar:
    """Bucketed reservation timelines of R resources (capacity per cycle each).

    ``used[r, b]`` is the amount of resource ``r`` reserved in bucket ``b`` (cycles
    ``[b·W, (b+1)·W)``).  Old buckets are dropped as simulated time advances.
    """

    def __init__(self, capacity_per_cycle: np.ndarray, bucket_cycles: int) -> None:
        self.cap = np.asarray(capacity_per_cycle, dtype=np.float64)
        self.W = float(bucket_cycles)
        self.R = self.cap.size
        self.base = 0
        self.used = np.zeros((self.R, 1024))
        self.busy = np.zeros(self.R)  # total reserved (resource-cycles of work)

    def _ensure(self, last_bucket: int) -> None:
        need = last_bucket - self.base + 1
        if need > self.used.shape[1]:
            new = max(need, 2 * self.used.shape[1])
            grown = np.zeros((self.R, new))
            grown[:, : self.used.shape[1]] = self.used
            self.used = grown

    def advance(self, now: float) -> None:
        """Forget buckets before ``now`` (no task starts in the past)."""
        b = int(now // self.W)
        shift = b - self.base
        if shift > self.used.shape[1] // 2:
            self.used[:, : self.used.shape[1] - shift] = self.used[:, shift:]
            self.used[:, self.used.shape[1] - shift :] = 0.0
            self.base = b

    def reserve(self, ids: np.ndarray, demand: np.ndarray, t0: float, duration: float, commit: bool) -> np.ndarray:
        """Finish time of each resource's demand, filled from ``t0`` at rate ``demand/duration``."""
        W = self.W
        duration = max(duration, 1.0)
        rate = demand / duration  # per cycle
        b0 = int(t0 // W)
        first_frac = ((b0 + 1) * W - t0) / W
        cap = self.cap[ids]
        K = int(max(duration, float((demand / cap).max())) // W) + 4
        while True:
            self._ensure(b0 + K)
            used = self.used[ids, b0 - self.base : b0 - self.base + K]
            room = cap[:, None] * W - used
            avail = np.minimum(np.maximum(room, 0.0), rate[:, None] * W)
            avail[:, 0] *= first_frac
            cum = np.cumsum(avail, axis=1)
            done = cum[:, -1] >= demand - 1e-9
            if done.all():
                break
            K = 2 * K + int(((demand - cum[:, -1]) / cap).max() // W)
        k = np.argmax(cum >= (demand - 1e-9)[:, None], axis=1)
        prev = np.where(k > 0, cum[np.arange(ids.size), k - 1], 0.0)
        a_k = avail[np.arange(ids.size), k]
        frac = np.divide(demand - prev, a_k, out=np.ones_like(prev), where=a_k > 0)
        start_k = np.where(k == 0, t0, (b0 + k) * W)
        width_k = np.where(k == 0, first_frac * W, W)
        finish = start_k + frac * width_k
        finish[demand <= 0] = t0
        if commit:
            cols = np.arange(K)[None, :]
            take = np.where(cols < k[:, None], avail, 0.0)
            take[np.arange(ids.size), k] = np.minimum(demand - prev, a_k)
            take[demand <= 0] = 0.0
            self.used[ids, b0 - self.base : b0 - self.base + K] += take
            self.busy[ids] += demand / cap
        return finish


@dataclass
class SimOutcome:
    total_cycles: float
    phase_cycles: dict[str, float]
    thread_busy_cycles: float
    resource_busy: dict[str, float]
    events: int
    link_bytes: float
    link_byte_hops: float
    die_link_bytes: float
    bank_conflicts: float
    bank_stall_cycles: float
    queue_grabs: int
    extra: dict[str, float] = field(default_factory=dict)


def auto_bucket_cycles(prog: Program, dem: TaskDemands, topo: Topology, cfg: PiumaConfig, work_scale: float = 1.0) -> int:
    """Bucket width when ``sim.bucket_cycles`` is 0: a power of two near the larger of 1/16 of
    the median task's unloaded chain and 1/256 of a lower bound of the run's length (total
    chain over all threads, total controller demand over all controllers), at least 16."""
    if prog.n_tasks == 0:
        return 64
    chain = dem.ctrl_trips.sum(axis=1) * float(topo.latency.mean()) + dem.sp_ops * cfg.sp_latency_cycles
    chain = chain + prog.instr / cfg.issue_per_cycle_per_pipeline
    ctrl = float(dem.ctrl_slots.sum()) / (cfg.controllers * cfg.dram.bytes_per_cycle_per_controller / cfg.dram.access_bytes)
    bound = max(float(chain.sum()) * work_scale / cfg.threads, ctrl * work_scale, float(chain.max()))
    w = max(float(np.median(chain)) / 16.0, bound / 256.0)
    return int(max(16, 2 ** int(np.floor(np.log2(max(w, 1.0))))))


@dataclass
class SimBlock:
    """One block of a streamed phase: its program, its per-task demands, and how threads take
    its tasks (local ids): ``thread_tasks[t]`` in order (static partitions) or ``queues``
    (dynamic: queue id -> task order; ``None`` is the global queue, ``c`` core ``c``'s)."""

    prog: Program
    dem: TaskDemands
    thread_tasks: list | None = None
    queues: dict | None = None


@dataclass
class PhaseFeed:
    """A phase as blocks built on demand: ``build(b)`` returns block ``b``'s `SimBlock`.

    Static partitions: ``thread_blocks[t]`` lists the blocks in which thread ``t`` has tasks, in
    order (a thread runs its tasks of block 0, then of block 1, ...).  Dynamic: ``thread_blocks``
    is ``None`` and the queues are drained block after block.  A block is built when the first
    thread needs it and dropped when its last task ends, so only the blocks in flight are held.
    """

    name: str
    n_blocks: int
    build: Callable[[int], SimBlock]
    thread_blocks: list | None = None


def simulate_program(
    prog: Program, cfg: PiumaConfig, assignments: list[Assignment], dem: TaskDemands, topo: Topology
) -> SimOutcome:
    """Run every phase of a whole ``prog`` (barrier between phases) and return timing and counters."""
    feeds = []
    for ph, a in enumerate(assignments):
        if a.thread_ptr is not None:
            blk = SimBlock(prog, dem, thread_tasks=[a.thread_tasks(t).tolist() for t in range(a.threads)])
            tb = [[0] if blk.thread_tasks[t] else [] for t in range(a.threads)]
        else:
            q = a.queue_of_task if a.queue_of_task is not None else np.full(a.tasks.size, -1)
            blk = SimBlock(prog, dem, queues={(None if int(c) < 0 else int(c)): a.tasks[q == c].tolist() for c in np.unique(q)})
            tb = None
        feeds.append(PhaseFeed(prog.phases[ph], 1, (lambda b, blk=blk: blk), tb))
    W = cfg.sim.bucket_cycles or auto_bucket_cycles(prog, dem, topo, cfg)
    return simulate_blocks(feeds, cfg, topo, W, SimBlock(prog, dem), release=False)


def simulate_blocks(feeds: list[PhaseFeed], cfg: PiumaConfig, topo: Topology, bucket_cycles: int, first: SimBlock,
                    *, release: bool = True) -> SimOutcome:
    """Run the phases of ``feeds`` one after another (barrier between phases), each a sequence
    of blocks built on demand; calendars, thread clocks, queues and scratchpad allocations
    carry across blocks.  ``first`` is phase 0's block 0 (already built: anything derived from
    the program before the run starts is taken from it)."""
    N = cfg.controllers
    P = cfg.cores * cfg.pipelines_per_core
    nb = cfg.sp_banks
    L = topo.n_links
    # resource index ranges
    r_ctrl = np.arange(N)
    r_pipe = N + np.arange(P)
    r_bank = N + P + np.arange(cfg.cores * nb)
    r_link = N + P + cfg.cores * nb + np.arange(L)
    r_dma = N + P + cfg.cores * nb + L + np.arange(cfg.cores)
    mean_lat = float(topo.latency.mean())
    dma_cap = min(cfg.dma.requests_per_cycle, cfg.dma.max_outstanding / mean_lat)
    caps = np.concatenate([
        np.full(N, cfg.dram.bytes_per_cycle_per_controller / cfg.dram.access_bytes),
        np.full(P, cfg.issue_per_cycle_per_pipeline),
        np.ones(cfg.cores * nb),
        topo.link_bytes_per_cycle[:L] if L else np.zeros(0),
        np.full(cfg.cores, dma_cap),
    ])
    W = int(bucket_cycles)
    cal = Calendar(caps, W)
    tpc = cfg.threads_per_core
    T = cfg.threads
    pipe_of = _pipeline_of_thread(cfg, np.arange(T))
    req = float(cfg.network.request_bytes)
    issue = cfg.issue_per_cycle_per_pipeline
    die_link = np.array([n.startswith("die") for n in topo.link_names[:L]], bool)
    stats = {"busy": 0.0, "events": 0, "link_bytes": 0.0, "die_bytes": 0.0, "conflicts": 0.0, "bank_stall": 0.0, "grabs": 0,
             "sp_wait": 0.0, "blocks": 0, "blocks_live_max": 0}

    # the block whose task runs (rebound before each call; run_task never yields)
    prog, dem = first.prog, first.dem

    def run_task(t: int, core: int, pipe: int, now: float, grab: bool, q_ctrl: int) -> float:
        slots = dem.ctrl_slots[t].copy()
        trips = dem.ctrl_trips[t]
        chain = float(trips @ topo.latency[core]) + dem.sp_ops[t] * cfg.sp_latency_cycles
        chain += prog.instr[t] / issue + prog.dma_cmds[t] * mean_lat
        if grab:
            slots[q_ctrl] += cfg.dram.atomic_occupancy
            chain += topo.latency[core, q_ctrl]
        link_d = (slots * req) @ topo.route[core] if L else np.zeros(0)
        bank_d = dem.bank_cycles[t]
        ids = np.concatenate([r_ctrl, [r_pipe[pipe]], r_bank[core * nb:(core + 1) * nb], r_link, [r_dma[core]]])
        d = np.concatenate([slots, [float(prog.instr[t])], bank_d, link_d, [dem.dma_words[t]]])
        nz = d > 0
        ids, d = ids[nz], d[nz]
        if ids.size == 0:
            return max(chain, 1.0)
        dur0 = max(chain, 1.0)
        fin = cal.reserve(ids, d, now, dur0, commit=False)
        dur1 = max(dur0, float(fin.max()) - now)
        fin = cal.reserve(ids, d, now, dur1, commit=True)
        end = max(now + dur0, float(fin.max()))
        stats["link_bytes"] += float(link_d.sum())
        if L:
            stats["die_bytes"] += float(link_d[die_link].sum())
        mean_b = bank_d.mean()
        stats["conflicts"] += float(np.maximum(bank_d - mean_b, 0).sum()) / cfg.sp_atomic_cycles
        is_bank = (ids >= r_bank[0]) & (ids < r_bank[-1] + 1) if nb else np.zeros(ids.size, bool)
        if is_bank.any():
            other = fin[~is_bank].max() if (~is_bank).any() else now + dur0
            stats["bank_stall"] += max(0.0, float(fin[is_bank].max()) - max(other, now + dur0))
        return end - now

    env = simpy.Environment()
    phase_cycles: dict[str, float] = {}
    # every core's scratchpad: tasks allocate their tables' bytes from it while they run
    sp_cap = float(cfg.scratchpad_bytes)
    spads = [simpy.Container(env, capacity=sp_cap, init=sp_cap) for _ in range(cfg.cores)]
    sp_peak = np.zeros(cfg.cores)

    for feed in feeds:
        start = env.now
        live: dict[int, list] = {}

        def get_block(b: int, feed=feed, live=live) -> SimBlock:
            if b not in live:
                blk = feed.build(b)
                stats["blocks"] += 1
                if blk.prog.n_tasks == 0:
                    return blk
                live[b] = [blk, blk.prog.n_tasks]
                stats["blocks_live_max"] = max(stats["blocks_live_max"], len(live))
            return live[b][0]

        def task_done(b: int, live=live) -> None:
            ent = live[b]
            ent[1] -= 1
            if ent[1] == 0 and release:
                del live[b]

        def execute(blk: SimBlock, b: int, t: int, tid: int, grab: bool, q_ctrl: int):
            nonlocal prog, dem
            core = tid // tpc
            tb = 0.0 if blk.prog.sp_table_bytes is None else min(float(blk.prog.sp_table_bytes[t]), sp_cap)
            if tb > 0:
                asked = env.now
                yield spads[core].get(tb)
                stats["sp_wait"] += env.now - asked
                sp_peak[core] = max(sp_peak[core], sp_cap - spads[core].level)
            now = env.now
            cal.advance(now)
            prog, dem = blk.prog, blk.dem
            dur = run_task(int(t), core, int(pipe_of[tid]), now, grab, q_ctrl)
            stats["busy"] += dur
            stats["events"] += 1
            if grab:
                stats["grabs"] += 1
            yield env.timeout(dur)
            if tb > 0:
                yield spads[core].put(tb)
            task_done(b)

        if feed.thread_blocks is not None:
            def thread(tid: int, feed=feed, get_block=get_block, execute=execute):
                for b in feed.thread_blocks[tid]:
                    blk = get_block(b)
                    for t in blk.thread_tasks[tid]:
                        yield from execute(blk, b, t, tid, False, 0)

            for tid in range(T):
                if feed.thread_blocks[tid]:
                    env.process(thread(tid))
        else:
            qstate: dict = {}

            def next_task(qid, feed=feed, get_block=get_block, qstate=qstate):
                st = qstate.setdefault(qid, [-1, iter(()), None])
                while True:
                    t = next(st[1], None)
                    if t is not None:
                        return st[2], st[0], t
                    st[0] += 1
                    if st[0] >= feed.n_blocks:
                        return None
                    st[2] = get_block(st[0])
                    st[1] = iter((st[2].queues or {}).get(qid, ()))

            probe = get_block(0) if feed.n_blocks else None
            qids = set((probe.queues or {}).keys()) if probe is not None else set()
            per_core = bool(qids) and None not in qids

            def dyn_thread(tid: int, next_task=next_task, execute=execute, per_core=per_core):
                core = tid // tpc
                # a dynamic queue's counter lives at controller 0 (global) or the core's own controller
                q_ctrl = core if per_core else 0
                qid = core if per_core else None
                while True:
                    got = next_task(qid)
                    if got is None:
                        return
                    blk, b, t = got
                    yield from execute(blk, b, t, tid, True, q_ctrl)

            for tid in range(T):
                env.process(dyn_thread(tid))
        env.run()
        phase_cycles[feed.name] = env.now - start

    busy = cal.busy
    rb = lambda r: float(busy[r].sum())  # noqa: E731
    return SimOutcome(
        total_cycles=float(env.now),
        phase_cycles=phase_cycles,
        thread_busy_cycles=stats["busy"],
        resource_busy={
            "dram_controllers": rb(r_ctrl),
            "dram_controller_max": float(busy[r_ctrl].max()),
            "mesh_link_max": float(busy[r_link[~die_link]].max()) if L and (~die_link).any() else 0.0,
            "pipelines_issue": rb(r_pipe),
            "sp_banks": rb(r_bank),
            "mesh_links": rb(r_link[~die_link]) if L else 0.0,
            "die_links": rb(r_link[die_link]) if L else 0.0,
            "dma_engines": rb(r_dma),
        },
        events=int(stats["events"]),
        link_bytes=stats["link_bytes"] - stats["die_bytes"],
        link_byte_hops=stats["link_bytes"],
        die_link_bytes=stats["die_bytes"],
        bank_conflicts=stats["conflicts"],
        bank_stall_cycles=stats["bank_stall"],
        queue_grabs=int(stats["grabs"]),
        extra={"bucket_cycles": W, "resources": {"controllers": N, "pipelines": P, "banks": cfg.cores * nb, "mesh_links": int((~die_link).sum()) if L else 0, "die_links": int(die_link.sum()) if L else 0, "dma": cfg.cores},
               "sp_peak_bytes": sp_peak.tolist(), "sp_wait_cycles": stats["sp_wait"], "blocks": stats["blocks"],
               "blocks_live_max": stats["blocks_live_max"]},
    )
