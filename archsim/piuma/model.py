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
  one 8-byte access slot (``atomic_occupancy`` slots for an atomic), crosses every mesh/die link of its XY route as messages sized by `archsim.piuma.fabric`
  (header, + data words), and, when the thread waits for it, adds the round-trip latency *from
  the thread's core to that controller* (DRAM latency + hops out and back × hop latency, + die
  crossings) plus the queueing waits below.  Each scratchpad operation of the task is one bank
  access (an atomic holds its key's home bank for ``sp_atomic_cycles``; reads and writes are
  spread over the banks) and adds ``sp_latency_cycles`` to the thread's chain.  Each
  instruction takes one issue slot of the thread's pipeline.  Each DMA command (descriptor)
  makes the thread wait one round trip; each gathered word is one request to the core's DMA
  engine.
* **A task's unloaded duration** is its *dependence chain*: one outstanding memory operation
  per thread, so Σ of the latencies of its loads, atomics and line fills (posted writes add
  none) + scratchpad operations × scratchpad latency (+ an atomic's extra bank cycles) +
  instructions / issue rate + per DMA command one round trip and its words at the engine's
  rate (the thread is stalled while its gather is in flight, S1 §V-A) (+ a fetch-and-add on
  the work queue's counter under dynamic partitioning).
* **Sharing the fabric (default, ``sim.contention: fluid``).**  The running tasks share every
  server fairly: their rates come from approximate mean-value analysis of the closed network
  they form, re-solved when a task starts or ends (`archsim.piuma.fluid`); this gives both the
  loaded latency below saturation and the slow-down at saturation.  A DMA gather is a stage of
  its own before the rest of its task, and each core's DMA engine serves its commands first
  come, first served (one burst at a time, the last word back a round trip later).  The three
  bullets below describe the older first-come calendars (``sim.contention: calendar``), kept
  for comparison.
* **Loaded latency (below saturation).**  Every visit of an operation to a shared server adds
  the server's queueing wait (`archsim.piuma.queueing`; M/G/1 by default, with the service-
  time moments of the program's own request mix): each round trip gets the wait at its
  controller and at every link of its route out and back, each scratchpad operation the wait
  at its bank, each operation the wait at the thread's issue port.  The utilisation a task
  sees is what the tasks already running have reserved on that server over the task's window
  (FIFO: a request queues behind work that arrived before it, never behind its own), clipped
  at ``sim.queue_rho_max``: above that the calendars' stretching (below) stands for the
  saturated queue.  The clip was chosen against the access-level reference model
  (`archsim.piuma.detail`, ``benchmarks/piuma_detail_compare.py``).
* **Shared resources**, each a server of fixed capacity per cycle with a reservation calendar
  (`Calendar`): every memory controller (8-byte access slots per cycle), every directed mesh
  link and die link (bytes per cycle), every scratchpad bank (bank cycles), every pipeline's
  issue port (instructions per cycle; round-robin sharing among its threads), every core's DMA
  engine (requests per cycle, ``min(requests_per_cycle, max_outstanding / latency)`` by
  Little's law).
* **Contention at saturation.**  When a task starts at cycle ``t``, the demand of its
  operations on each resource is spread evenly over its (loaded) duration and takes what that
  resource's calendar has left in each bucket, after the tasks that started earlier (first
  come, first served in order of task start, at bucket granularity).  The task ends at the
  later of its chain and the moment every resource has served its whole demand.  A trial at
  the loaded rate finds the bottleneck; then the demand is committed at the slowed pace on the
  other resources (a task held up by one resource does not hog the others) and as fast as
  capacity frees up on the bottleneck (work-conserving).  First come, first served can starve
  the last of the tasks that start *together* (every thread's first task at a phase start; see
  BENCHMARKS.md, fast vs access level).  A DMA command's words
  are a burst at the engine's rate, reserved before the rest of the task, which starts when
  they are back.
* **Streaming.**  A phase arrives as blocks (`PhaseFeed`): each thread runs its tasks of block
  0, then of block 1, ... (or drains the dynamic queue block after block); a block is built
  when the first thread needs it and dropped when its last task ends, while calendars, thread
  clocks and queues carry on, so a run never holds more than the blocks in flight.  The
  queueing parameters (mean residual service per server class) are taken from the first block.
* **Scratchpad capacity.**  A task that holds a hash table (or gathered data) allocates its
  ``sp_table_bytes`` from its core's scratchpad (a SimPy ``Container`` of ``scratchpad_bytes``)
  when it starts and frees them when it ends; if the other running tasks leave too little, the
  thread waits (first come, first served).  The peak allocation per core is reported.
* **Simplified / not modelled**: the order of the operations inside a task (their demands are
  spread evenly over it; this is the batching); DRAM banks, rows and refresh (a DRAM-specific
  latency-vs-load curve plugs into `archsim.piuma.queueing`); instruction caches; cache hits
  are decided before the simulation (see `archsim.piuma.fabric`); the ``sp_bank_conflicts``
  counter is the number of atomics above an even spread over the banks (per task), whereas the
  time lost to hot banks (``sp_bank_stall_cycles``) comes from the calendars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import simpy

from archsim.piuma.config import PiumaConfig
from archsim.piuma.fabric import TaskDemands, Topology, pipeline_of_thread
from archsim.piuma.queueing import curve_for
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

    def advance(self, now: float, keep_cycles: float = 0.0) -> None:
        """Forget buckets before ``now - keep_cycles`` (no task starts in the past; the kept
        history feeds `utilisation`)."""
        b = int(max(now - keep_cycles, 0.0) // self.W)
        shift = b - self.base
        if shift >= self.used.shape[1]:
            self.used[:] = 0.0
            self.base = b
        elif shift > self.used.shape[1] // 2:
            self.used[:, : self.used.shape[1] - shift] = self.used[:, shift:]
            self.used[:, self.used.shape[1] - shift :] = 0.0
            self.base = b

    def utilisation(self, ids: np.ndarray, t0: float, t1: float) -> np.ndarray:
        """Fraction of each resource's capacity reserved in the whole buckets covering
        ``[t0, t1)`` (buckets already forgotten count as idle)."""
        W = self.W
        b0 = max(int(t0 // W), self.base)
        b1 = max(int(-(-t1 // W)), b0 + 1)
        self._ensure(b1)
        used = self.used[ids, b0 - self.base : b1 - self.base].sum(axis=1)
        return used / (self.cap[ids] * W * (b1 - b0))

    def add(self, ids: np.ndarray, demand: np.ndarray, t0: float, duration: float) -> None:
        """Book ``demand`` on each resource spread evenly over ``[t0, t0 + duration)``, whatever
        is already booked (fair sharing: the caller has already stretched ``duration`` by the
        load it shares the window with)."""
        W = self.W
        duration = max(float(duration), 1e-9)
        t1 = t0 + duration
        b0 = int(t0 // W)
        b1 = int(-(-t1 // W))
        self._ensure(b1)
        edges = np.clip(np.arange(b0, b1 + 1) * W, t0, t1)
        frac = np.diff(edges) / duration  # share of the demand in each bucket
        self.used[ids, b0 - self.base : b1 - self.base] += demand[:, None] * frac[None, :]
        self.busy[ids] += demand / self.cap[ids]

    def reserve(self, ids: np.ndarray, demand: np.ndarray, t0: float, duration, commit: bool) -> np.ndarray:
        """Finish time of each resource's demand, filled from ``t0`` at rate at most
        ``demand/duration`` (``duration`` a scalar or one per resource)."""
        W = self.W
        duration = np.maximum(np.asarray(duration, dtype=np.float64), 1.0)
        rate = demand / duration  # per cycle
        b0 = int(t0 // W)
        first_frac = ((b0 + 1) * W - t0) / W
        cap = self.cap[ids]
        K = int(max(float(duration.max()), float((demand / cap).max())) // W) + 4
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


def auto_bucket_cycles(prog: Program, dem: TaskDemands, cfg: PiumaConfig, work_scale: float = 1.0) -> int:
    """Bucket width when ``sim.bucket_cycles`` is 0, from the program alone (no bandwidth or
    latency enters, so the granularity does not move when those are varied): a power of two
    near the larger of 1/4 of the median task's work and 1/256 of the work per thread, with
    ``BUCKET_TRIP_CYCLES`` standing for each round trip, at least 16.  ``work_scale``: the whole
    run's work over ``prog``'s (``prog`` is the first block of a streamed run)."""
    if prog.n_tasks == 0:
        return 64
    work = prog.instr + BUCKET_TRIP_CYCLES * (dem.ctrl_trips.sum(axis=1) + prog.dma_cmds) + dem.sp_ops
    w = max(float(np.median(work)) / 4.0, float(work.sum()) * work_scale / cfg.threads / 256.0)
    return int(max(16, 2 ** int(np.floor(np.log2(max(w, 1.0))))))


BUCKET_TRIP_CYCLES = 100.0


@dataclass
class SimBlock:
    """One block of a streamed phase: its program, its per-task demands, and how threads take
    its tasks (local ids): ``thread_tasks[t]`` in order (static partitions) or ``queues``
    (dynamic: queue id -> task order; ``None`` is the global queue, ``c`` core ``c``'s)."""

    prog: Program
    dem: TaskDemands
    thread_tasks: list | None = None
    queues: dict | None = None
    assignment: Assignment | None = None  # the block's own (local ids); the access level needs it


def _simulate_access_phases(feeds: list[PhaseFeed], cfg: PiumaConfig, topo: Topology) -> SimOutcome:
    """The per-access reference level over phases given as one block each (barrier between
    phases): each phase runs alone through `archsim.piuma.detail.simulate_access` and the
    outcomes add up (maxima for the ``*_max`` figures)."""
    from archsim.piuma.detail import simulate_access
    from workloads.errors import InputError

    outs = []
    for feed in feeds:
        if feed.n_blocks != 1:
            raise InputError("sim.detail: access needs each phase as one block (the run layer sets that up)")
        blk = feed.build(0)
        if blk.assignment is None:
            raise InputError("sim.detail: access needs the block's assignment")
        outs.append(simulate_access(blk.prog, cfg, [blk.assignment], blk.dem, topo))
    o0 = outs[0]
    busy = {k: (max if k.endswith("_max") else sum)(o.resource_busy[k] for o in outs) for k in o0.resource_busy}
    extra = dict(o0.extra)
    extra.update(ops=sum(o.extra.get("ops", 0) for o in outs), blocks=len(feeds), blocks_live_max=1,
                 sp_peak_bytes=[0.0] * cfg.cores, sp_wait_cycles=0.0, bucket_cycles=0)
    return SimOutcome(
        total_cycles=sum(o.total_cycles for o in outs),
        phase_cycles={k: v for o in outs for k, v in o.phase_cycles.items()},
        thread_busy_cycles=sum(o.thread_busy_cycles for o in outs),
        resource_busy=busy,
        events=sum(o.events for o in outs),
        link_bytes=sum(o.link_bytes for o in outs),
        link_byte_hops=sum(o.link_byte_hops for o in outs),
        die_link_bytes=sum(o.die_link_bytes for o in outs),
        bank_conflicts=sum(o.bank_conflicts for o in outs),
        bank_stall_cycles=sum(o.bank_stall_cycles for o in outs),
        queue_grabs=sum(o.queue_grabs for o in outs),
        extra=extra,
    )


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
    """Run every phase of ``prog`` (barrier between phases) and return timing and counters.

    ``cfg.sim.detail == "access"`` hands the run to the per-access reference model
    (`archsim.piuma.detail`)."""
    if cfg.sim.detail == "access":
        from archsim.piuma.detail import simulate_access

        return simulate_access(prog, cfg, assignments, dem, topo)
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
    W = cfg.sim.bucket_cycles or auto_bucket_cycles(prog, dem, cfg)
    return simulate_blocks(feeds, cfg, topo, W, SimBlock(prog, dem), release=False)


def simulate_blocks(feeds: list[PhaseFeed], cfg: PiumaConfig, topo: Topology, bucket_cycles: int, first: SimBlock,
                    *, release: bool = True) -> SimOutcome:
    """Run the phases of ``feeds`` one after another (barrier between phases), each a sequence
    of blocks built on demand; calendars, thread clocks, queues and scratchpad allocations
    carry across blocks.  ``first`` is phase 0's block 0 (already built: anything derived from
    the program before the run starts is taken from it).  ``sim.detail: access`` runs each
    phase, which must then be a single block holding its `Assignment`, through the per-access
    reference model (`archsim.piuma.detail`)."""
    if cfg.sim.detail == "access":
        return _simulate_access_phases(feeds, cfg, topo)
    prog, dem = first.prog, first.dem
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
    slot_cycles = cfg.dram.access_bytes / cfg.dram.bytes_per_cycle_per_controller
    caps = np.concatenate([
        np.full(N, 1.0 / slot_cycles),
        np.full(P, cfg.issue_per_cycle_per_pipeline),
        np.ones(cfg.cores * nb),
        topo.link_bytes_per_cycle[:L] if L else np.zeros(0),
        np.full(cfg.cores, dma_cap),
    ])
    W = int(bucket_cycles)
    cal = Calendar(caps, W)
    tpc = cfg.threads_per_core
    T = cfg.threads
    pipe_of = pipeline_of_thread(cfg, np.arange(T))
    issue = cfg.issue_per_cycle_per_pipeline
    die_link = topo.is_die_link[:L] if L else np.zeros(0, bool)
    curve = curve_for(cfg.dram.queue_model)
    ctrl_curve = curve
    if cfg.dram.queue_model == "ddr5-curve":
        from archsim.piuma.queueing import DramCurve

        ctrl_curve = DramCurve(cfg.dram.bytes_per_cycle_per_controller, cfg.clock_hz)
    # queueing parameters per server class (mean residual service, population cap), from the
    # block whose tasks run: a block is a time slice of one phase, so they follow the phase
    def queue_params(prog: Program, dem: TaskDemands) -> tuple:
        tot_ops = float(dem.mem_ops.sum()) or 1.0
        instr_per_group = float(prog.instr.sum()) / tot_ops / issue
        sp_a = float(dem.sp_atomics.sum())
        sp_rw = float(dem.sp_ops.sum() - sp_a) + float((prog.sp_writes * (prog.dma_cmds > 0)).sum())
        a = float(cfg.sp_atomic_cycles)
        bank_s1 = (sp_a * a + sp_rw) / max(sp_a + sp_rw, 1.0)
        bank_res = (sp_a * a * a + sp_rw) / (2.0 * max(sp_a * a + sp_rw, 1.0))
        ctrl_res = dem.ctrl_residual_slots * slot_cycles
        link_res = dem.link_residual_bytes / (topo.link_bytes_per_cycle[:L] if L else np.ones(0))
        return (ctrl_res, T * dem.ctrl_residual_slots * 2.0 * slot_cycles, link_res, T * 2.0 * link_res,
                bank_res, tpc * bank_s1, 0.5 * instr_per_group, cfg.threads_per_mtp * instr_per_group)

    cur = [None]
    ctrl_res, ctrl_cap, link_res, link_cap, bank_res, bank_cap, pipe_res, pipe_cap = queue_params(prog, dem)
    rho_max = cfg.sim.queue_rho_max
    stats = {"busy": 0.0, "events": 0, "link_bytes": 0.0, "die_bytes": 0.0, "conflicts": 0.0, "bank_stall": 0.0, "grabs": 0, "wait": 0.0, "chain0": 0.0, "w_ctrl": 0.0, "w_bank": 0.0, "w_pipe": 0.0,
             "sp_wait": 0.0, "blocks": 0, "blocks_live_max": 0, "dma_queue": 0.0}

    def task_ctrl(dem: TaskDemands, t: int, grab: bool, q_ctrl: int):
        """Task ``t``'s per-controller (slots, trips, requests, answered requests, bytes out,
        bytes back), with the work queue's fetch-and-add when the task was grabbed."""
        arrs = [dem.ctrl_slots[t], dem.ctrl_trips[t], dem.ctrl_reqs[t], dem.back_reqs[t], dem.out_bytes[t], dem.back_bytes[t]]
        arrs = [a.copy() for a in arrs]
        if grab:
            msg = cfg.network.header_bytes + 8.0
            for a, inc in zip(arrs, (cfg.dram.atomic_occupancy, 1.0, 1.0, 1.0, msg, msg)):
                a[q_ctrl] += inc
        return arrs

    def run_task(t: int, core: int, pipe: int, now: float, grab: bool, q_ctrl: int) -> float:
        """Book task ``t`` of the current block and return its duration."""
        slots, trips, _, _, outb, backb = task_ctrl(dem, t, grab, q_ctrl)
        lat0 = topo.latency[core]
        sp_chain = dem.sp_ops[t] * cfg.sp_latency_cycles + dem.sp_atomics[t] * (cfg.sp_atomic_cycles - 1)
        # a DMA command: its words leave the engine at its rate, the last one returns a round trip later
        dma_chain = prog.dma_cmds[t] * mean_lat + dem.dma_words[t] / dma_cap
        chain0 = float(trips @ lat0) + sp_chain + prog.instr[t] / issue + dma_chain
        # loaded latency: utilisation of each server over the task's window, past and ahead
        H = max(chain0, W)
        bank_ids = r_bank[core * nb:(core + 1) * nb]
        q_ids = np.concatenate([r_ctrl, r_link, bank_ids, [r_pipe[pipe]]])
        # FIFO servers: a request waits for the work that arrived before it, i.e. what the tasks
        # already running have reserved over this task's window (its own demand excluded);
        # above queue_rho_max the calendar's stretching stands for the saturated queue
        link_d = topo.link_load(core, outb, backb) if L else np.zeros(0)
        bank_d = dem.bank_cycles[t]
        rho = np.minimum(cal.utilisation(q_ids, now, now + H), rho_max)
        w_ctrl = ctrl_curve.wait(rho[:N], ctrl_res, ctrl_cap)
        w_link = curve.wait(rho[N:N + L], link_res, link_cap) if L else np.zeros(0)
        w_bank = curve.wait(rho[N + L:N + L + nb], bank_res, bank_cap)
        w_pipe = float(curve.wait(rho[-1:], pipe_res, pipe_cap)[0])
        lat = lat0 + w_ctrl
        if L:
            lat = lat + topo.path_sum(core, w_link)
        bsum = float(bank_d.sum())
        wb = float(bank_d @ w_bank) / bsum if bsum > 0 else 0.0
        chain = float(trips @ lat) + sp_chain + dem.sp_ops[t] * wb + prog.instr[t] / issue + dem.mem_ops[t] * w_pipe
        chain += prog.dma_cmds[t] * float(lat.mean()) + dem.dma_words[t] / dma_cap
        stats["wait"] += chain - chain0
        stats["w_ctrl"] += float(trips @ w_ctrl)
        stats["w_bank"] += dem.sp_ops[t] * wb
        stats["w_pipe"] += dem.mem_ops[t] * w_pipe
        stats["chain0"] += chain0
        fin_dma = now
        if dem.dma_part is not None and dem.dma_words[t] > 0:
            # the DMA engine sends a command's words as a burst at its rate (behind earlier
            # commands); their controller slots and messages follow at that pace, and the last
            # word returns a round trip after it leaves the engine
            ds, do, dbk = dem.dma_part[0][t], dem.dma_part[1][t], dem.dma_part[2][t]
            dl = topo.link_load(core, do, dbk) if L else np.zeros(0)
            slots = slots - ds
            link_d_rest = link_d - dl
            ids_d = np.concatenate([[r_dma[core]], r_ctrl, r_link])
            d_d = np.concatenate([[dem.dma_words[t]], ds, dl])
            nzd = d_d > 0
            burst = dem.dma_words[t] / dma_cap
            fin_d = cal.reserve(ids_d[nzd], d_d[nzd], now, burst, commit=True)
            fin_dma = float(fin_d.max()) + mean_lat
        else:
            link_d_rest = link_d
        # the thread is stalled while its gather is in flight (S1 §V-A): the rest of the task
        # starts when the command has completed
        t1 = now
        rest = chain
        if fin_dma > now:
            dma_loaded = prog.dma_cmds[t] * float(lat.mean()) + dem.dma_words[t] / dma_cap
            t1 = max(now + dma_loaded, fin_dma)
            rest = max(chain - dma_loaded, 0.0)
        ids = np.concatenate([r_ctrl, [r_pipe[pipe]], bank_ids, r_link])
        d = np.concatenate([slots, [float(prog.instr[t])], bank_d, link_d_rest])
        nz = d > 1e-12
        ids, d = ids[nz], d[nz]
        dur0 = max(rest, 1.0)
        if ids.size == 0:
            return t1 + dur0 - now
        fin = cal.reserve(ids, d, t1, dur0, commit=False)
        dur1 = max(dur0, float(fin.max()) - t1)
        # the task runs at the pace of its bottleneck: the other resources see its demand
        # spread over the slowed duration; the bottleneck itself keeps taking capacity as
        # soon as it frees up (work-conserving), at up to the unloaded rate
        bottleneck = fin >= t1 + dur1 - 1e-6
        fin = cal.reserve(ids, d, t1, np.where(bottleneck, dur0, dur1), commit=True)
        end = max(t1 + dur0, float(fin.max()))
        stats["link_bytes"] += float(link_d.sum())
        if L:
            stats["die_bytes"] += float(link_d[die_link].sum())
        mean_b = bank_d.mean()
        stats["conflicts"] += float(np.maximum(bank_d - mean_b, 0).sum()) / cfg.sp_atomic_cycles
        is_bank = (ids >= r_bank[0]) & (ids < r_bank[-1] + 1) if nb else np.zeros(ids.size, bool)
        if is_bank.any():
            other = fin[~is_bank].max() if (~is_bank).any() else t1 + dur0
            stats["bank_stall"] += max(0.0, float(fin[is_bank].max()) - max(other, t1 + dur0))
        return end - now

    env = simpy.Environment()
    fluid = None
    busy_f = np.zeros(caps.size)
    if cfg.sim.contention == "fluid":
        from archsim.piuma.fluid import FluidEngine

        core_of = np.arange(T) // tpc
        link_bw = topo.link_bytes_per_cycle[:L] if L else np.ones(0)

        def fluid_residuals(dem: TaskDemands, bank_res: float) -> dict:
            return {"ctrl": dem.ctrl_residual_slots * slot_cycles, "link": dem.link_residual_bytes / link_bw if L else 0.0,
                    "bank": bank_res}

        fluid = FluidEngine(env, cfg, topo, T, core_of, pipe_of, fluid_residuals(dem, bank_res),
                            ctrl_curve=None if cfg.dram.queue_model == "md1" else ctrl_curve)
        dma_engines = [simpy.Resource(env, capacity=1) for _ in range(cfg.cores)]  # FIFO command queues
        dma_mix = [None, None]  # (block demands, their gathers' share per controller)

    def fluid_task(blk: SimBlock, tid: int, t: int, core: int, pipe: int, grab: bool, q_ctrl: int):
        """Start task ``t`` of ``blk`` on thread ``tid`` under fair sharing; returns its duration."""
        prog, dem = blk.prog, blk.dem  # (the current block may change while this task runs)
        slots, trips, reqs, breqs, outb, backb = task_ctrl(dem, t, grab, q_ctrl)
        sp_chain = dem.sp_ops[t] * cfg.sp_latency_cycles + dem.sp_atomics[t] * (cfg.sp_atomic_cycles - 1)
        dma_chain = prog.dma_cmds[t] * mean_lat + dem.dma_words[t] / dma_cap
        chain0 = float(trips @ topo.latency[core]) + sp_chain + prog.instr[t] / issue + dma_chain
        stats["chain0"] += chain0
        bank_d = dem.bank_cycles[t]
        bsum = float(bank_d.sum())
        waited_b = dem.sp_ops[t] * bank_d / bsum if bsum > 0 else np.zeros(nb)
        deposits = float(prog.sp_writes[t]) if prog.dma_cmds[t] > 0 else 0.0
        visits_b = waited_b + deposits / nb
        dma_words = float(dem.dma_words[t])
        t_start = env.now
        if dem.dma_part is not None and dma_words > 0:
            # the gather first: the thread is stalled while its command is in flight (S1 §V-A).
            # The core's DMA engine serves commands first come, first served (as the access
            # level does): a command waits for the bursts ahead of it, then its words leave at
            # the engine's rate, min(issue rate, max_outstanding / latency) (Little's law), or
            # at the controllers' and links' share when they are full: the engine keeps
            # max_outstanding words in flight, so a queue of w cycles at a controller slows the
            # burst by w / max_outstanding per word sent there.  The engine then passes to the
            # next command and the last word returns a round trip later.  (Sharing the engine
            # fairly among all its commands instead keeps the threads of a core in lock step:
            # all gather, then all compute, with DRAM idle in between; R-MAT s16 DMA SpMV was
            # 10% slower than the access level.)
            # The controllers see the mix of the engine's window, not of one command: a command
            # of k words weighs min(1, k / max_outstanding) in it, the block's gathers the rest
            # (a small command's few words would otherwise pace the engine by the controller
            # they happen to hit most).
            ds, do, dbk = dem.dma_part[0][t], dem.dma_part[1][t], dem.dma_part[2][t]
            dtot = float(ds.sum())
            own = min(1.0, dtot / cfg.dma.max_outstanding)
            if own < 1.0 and dtot > 0:
                if dma_mix[0] is not dem:
                    tot = dem.dma_part[0].sum(axis=0)
                    dma_mix[0], dma_mix[1] = dem, tot / max(float(tot.sum()), 1e-300)
                ds_w = own * ds + (1.0 - own) * dtot * dma_mix[1]
                do_w, dbk_w = ds_w * (float(do.sum()) / dtot), ds_w * (float(dbk.sum()) / dtot)
            else:
                ds_w, do_w, dbk_w = ds, do, dbk
            ctrl_d = {"demand": ds_w * slot_cycles, "waited": ds_w / cfg.dma.max_outstanding, "visits": ds_w,
                      "out_bytes": do_w, "back_bytes": dbk_w, "out_reqs": ds_w, "back_reqs": ds_w}
            d_reqs = ds  # DMA words are reads: one request, one slot each
            zb = np.zeros(nb)
            burst = dma_words / dma_cap
            req = dma_engines[core].request()
            asked = env.now
            yield req
            stats["dma_queue"] += env.now - asked
            # the engine is held by this command alone: no wait at it
            yield from fluid.run(tid, burst, ctrl_d, (zb, zb, np.full(nb, deposits / nb)), (0.0, 0.0))
            dma_engines[core].release(req)
            # the last word's round trip (its queueing at the controllers is in the burst's pace)
            yield env.timeout(max(dma_chain - burst, 0.0))
            # the rest of the task: what the gather did not move
            rest = (slots - ds, outb - do, backb - dbk, reqs - d_reqs, breqs - d_reqs)
            visits_b = waited_b
            chain0 = chain0 - dma_chain
        else:
            rest = (slots, outb, backb, reqs, breqs)
        r_slots, r_out, r_back, r_reqs, r_breqs = rest
        ctrl = {"demand": r_slots * slot_cycles, "waited": trips, "visits": r_reqs, "out_bytes": r_out, "back_bytes": r_back,
                "out_reqs": r_reqs, "back_reqs": r_breqs}
        yield from fluid.run(tid, chain0, ctrl, (bank_d, waited_b, visits_b),
                             (float(prog.instr[t]) / issue, float(dem.mem_ops[t])))
        dur = env.now - t_start
        busy_f[r_ctrl] += slots * slot_cycles
        busy_f[r_pipe[pipe]] += float(prog.instr[t]) / issue
        busy_f[r_bank[core * nb:(core + 1) * nb]] += bank_d
        busy_f[r_dma[core]] += dma_words / dma_cap
        if L:
            link_d = topo.link_load(core, outb, backb)
            busy_f[r_link] += link_d / link_bw
            stats["link_bytes"] += float(link_d.sum())
            stats["die_bytes"] += float(link_d[die_link].sum())
        mean_b = bank_d.mean()
        stats["conflicts"] += float(np.maximum(bank_d - mean_b, 0).sum()) / cfg.sp_atomic_cycles
        return dur

    phase_cycles: dict[str, float] = {}
    keep = 0.0
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
                live[b] = [blk, blk.prog.n_tasks, None]  # (block, tasks left, its queue parameters)
                stats["blocks_live_max"] = max(stats["blocks_live_max"], len(live))
            return live[b][0]

        def task_done(b: int, live=live) -> None:
            ent = live[b]
            ent[1] -= 1
            if ent[1] == 0 and release:
                del live[b]

        def execute(blk: SimBlock, b: int, t: int, tid: int, grab: bool, q_ctrl: int):
            nonlocal prog, dem, keep
            core = tid // tpc
            tb = 0.0 if blk.prog.sp_table_bytes is None else min(float(blk.prog.sp_table_bytes[t]), sp_cap)
            if tb > 0:
                asked = env.now
                yield spads[core].get(tb)
                stats["sp_wait"] += env.now - asked
                sp_peak[core] = max(sp_peak[core], sp_cap - spads[core].level)
            now = env.now
            if fluid is None:
                cal.advance(now, keep)
            if cur[0] is not blk:
                nonlocal ctrl_res, ctrl_cap, link_res, link_cap, bank_res, bank_cap, pipe_res, pipe_cap
                cur[0] = blk
                prog, dem = blk.prog, blk.dem
                ent = live[b]  # every block a task runs from is live (`get_block`)
                if ent[2] is None:  # once per block (threads switch between live blocks)
                    qp = queue_params(prog, dem)
                    ent[2] = (qp, fluid_residuals(dem, qp[4]) if fluid is not None else None)
                qp, res = ent[2]
                ctrl_res, ctrl_cap, link_res, link_cap, bank_res, bank_cap, pipe_res, pipe_cap = qp
                if fluid is not None:
                    fluid.res = res
            if fluid is not None:
                dur = yield from fluid_task(blk, tid, int(t), core, int(pipe_of[tid]), grab, q_ctrl)
                stats["busy"] += dur
                stats["events"] += 1
                if grab:
                    stats["grabs"] += 1
                if tb > 0:
                    yield spads[core].put(tb)
                task_done(b)
                return
            dur = run_task(int(t), core, int(pipe_of[tid]), now, grab, q_ctrl)
            keep = max(keep, 2.0 * dur)
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

    busy = cal.busy if fluid is None else busy_f
    rb = lambda r: float(busy[r].sum())  # noqa: E731
    if fluid is not None:
        fw = fluid.waits
        stats["wait"] = sum(fw.values()) + stats["dma_queue"]
        stats["w_ctrl"], stats["w_bank"], stats["w_pipe"] = fw["ctrl"], fw["bank"], fw["pipe"] + stats["dma_queue"]
        stats["bank_stall"] = fw["bank"]
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
        extra={"bucket_cycles": W if fluid is None else 0, "contention": cfg.sim.contention,
               "fluid_solves": fluid.solves if fluid is not None else 0,
               "fluid_iterations": fluid.iterations if fluid is not None else 0, "chain0": stats["chain0"], "queue_wait_fraction": stats["wait"] / max(stats["wait"] + stats["chain0"], 1e-9),
               "queue_wait_cycles": {k[2:]: stats[k] for k in ("w_ctrl", "w_bank", "w_pipe")} | {"link": stats["wait"] - stats["w_ctrl"] - stats["w_bank"] - stats["w_pipe"]},
               "resources": {"controllers": N, "pipelines": P, "banks": cfg.cores * nb, "mesh_links": int((~die_link).sum()) if L else 0, "die_links": int(die_link.sum()) if L else 0, "dma": cfg.cores},
               "sp_peak_bytes": sp_peak.tolist(), "sp_wait_cycles": stats["sp_wait"], "blocks": stats["blocks"],
               "blocks_live_max": stats["blocks_live_max"]},
    )
