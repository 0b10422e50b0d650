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
  capacity frees up on the bottleneck (work-conserving).  First come, first served starves the
  last of the tasks that start *together* (every thread's first task at a phase start); with
  ``sim.start_wave: true`` that wave shares the servers instead (processor sharing: each of its
  tasks is slowed by the load the wave puts on its worst server within the task's own window).
  That agrees better with the access level on inputs with about one task per thread, but is
  not monotone in latencies (a slower task spreads its load thinner over the others' windows),
  so it is off by default.  A DMA command's words
  are a burst at the engine's rate, reserved before the rest of the task, which starts when
  they are back.
* **Simplified / not modelled**: the order of the operations inside a task (their demands are
  spread evenly over it; this is the batching); DRAM banks, rows and refresh (a DRAM-specific
  latency-vs-load curve plugs into `archsim.piuma.queueing`); instruction caches; cache hits
  are decided before the simulation (see `archsim.piuma.fabric`); the ``sp_bank_conflicts``
  counter is the number of atomics above an even spread over the banks (per task), whereas the
  time lost to hot banks (``sp_bank_stall_cycles``) comes from the calendars.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import simpy

from archsim.piuma.config import PiumaConfig
from archsim.piuma.fabric import TaskDemands, Topology, pipeline_of_thread
from archsim.piuma.queueing import curve_for
from dataflow.piuma import Assignment, Program

__all__ = ["Calendar", "simulate_program", "SimOutcome"]


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
        if shift > self.used.shape[1] // 2:
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


def auto_bucket_cycles(prog: Program, dem: TaskDemands, cfg: PiumaConfig) -> int:
    """Bucket width when ``sim.bucket_cycles`` is 0, from the program alone (no bandwidth or
    latency enters, so the granularity does not move when those are varied): a power of two
    near the larger of 1/4 of the median task's work and 1/256 of the work per thread, with
    ``BUCKET_TRIP_CYCLES`` standing for each round trip, at least 16."""
    if prog.n_tasks == 0:
        return 64
    work = prog.instr + BUCKET_TRIP_CYCLES * (dem.ctrl_trips.sum(axis=1) + prog.dma_cmds) + dem.sp_ops
    w = max(float(np.median(work)) / 4.0, float(work.sum()) / cfg.threads / 256.0)
    return int(max(16, 2 ** int(np.floor(np.log2(max(w, 1.0))))))


BUCKET_TRIP_CYCLES = 100.0


def simulate_program(
    prog: Program, cfg: PiumaConfig, assignments: list[Assignment], dem: TaskDemands, topo: Topology
) -> SimOutcome:
    """Run every phase of ``prog`` (barrier between phases) and return timing and counters.

    ``cfg.sim.detail == "access"`` hands the run to the per-access reference model
    (`archsim.piuma.detail`)."""
    if cfg.sim.detail == "access":
        from archsim.piuma.detail import simulate_access

        return simulate_access(prog, cfg, assignments, dem, topo)
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
    W = cfg.sim.bucket_cycles or auto_bucket_cycles(prog, dem, cfg)
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
    # queueing parameters per server class: mean residual service and the population cap
    tot_ops = float(dem.mem_ops.sum()) or 1.0
    instr_per_group = float(prog.instr.sum()) / tot_ops / issue
    sp_a = float(dem.sp_atomics.sum())
    sp_rw = float(dem.sp_ops.sum() - sp_a) + float((prog.sp_writes * (prog.dma_cmds > 0)).sum())
    a = float(cfg.sp_atomic_cycles)
    bank_s1 = (sp_a * a + sp_rw) / max(sp_a + sp_rw, 1.0)
    bank_res = (sp_a * a * a + sp_rw) / (2.0 * max(sp_a * a + sp_rw, 1.0))
    ctrl_res = dem.ctrl_residual_slots * slot_cycles
    link_res = dem.link_residual_bytes / (topo.link_bytes_per_cycle[:L] if L else np.ones(0))
    ctrl_cap = T * dem.ctrl_residual_slots * 2.0 * slot_cycles
    link_cap = T * 2.0 * link_res
    bank_cap = tpc * bank_s1
    pipe_cap = cfg.threads_per_mtp * instr_per_group
    pipe_res = 0.5 * instr_per_group
    rho_max = cfg.sim.queue_rho_max
    use_wave = cfg.sim.start_wave
    dma_lat = float(topo.latency.mean())
    stats = {"busy": 0.0, "events": 0, "link_bytes": 0.0, "die_bytes": 0.0, "conflicts": 0.0, "bank_stall": 0.0, "grabs": 0, "wait": 0.0, "chain0": 0.0, "w_ctrl": 0.0, "w_bank": 0.0, "w_pipe": 0.0}

    def run_task(t: int, core: int, pipe: int, now: float, grab: bool, q_ctrl: int, probe: bool = False, wave=None):
        """Book task ``t`` and return its duration.  ``probe``: only return (ids, demand,
        duration) of its non-DMA part, booking nothing.  ``wave``: the load factor of every
        server over the tasks that start together with this one (`start_wave`)."""
        slots = dem.ctrl_slots[t].copy()
        trips = dem.ctrl_trips[t].copy()
        outb = dem.out_bytes[t].copy()
        backb = dem.back_bytes[t].copy()
        if grab:  # fetch-and-add on the work queue's counter
            slots[q_ctrl] += cfg.dram.atomic_occupancy
            trips[q_ctrl] += 1.0
            outb[q_ctrl] += cfg.network.header_bytes + 8.0
            backb[q_ctrl] += cfg.network.header_bytes + 8.0
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
        if probe:
            rest = chain - (prog.dma_cmds[t] * float(lat.mean()) + dem.dma_words[t] / dma_cap if dem.dma_words[t] > 0 else 0.0)
            ids = np.concatenate([r_ctrl, [r_pipe[pipe]], bank_ids, r_link])
            sl = slots - dem.dma_part[0][t] if dem.dma_part is not None else slots
            ld = link_d - (topo.link_load(core, dem.dma_part[1][t], dem.dma_part[2][t]) if dem.dma_part is not None and L else 0.0)
            d = np.concatenate([sl, [float(prog.instr[t])], bank_d, ld])
            nz = d > 1e-12
            return ids[nz], d[nz], max(rest, 1.0)
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
            fin_dma = float(fin_d.max()) + dma_lat
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
        if wave is not None:
            # tasks starting together share every server in proportion (processor sharing):
            # each is slowed by the total load factor of its worst server over the wave
            dur1 = dur0 * max(1.0, float(wave[ids].max()))
            cal.add(ids, d, t1, dur1)
            fin = np.full(ids.size, t1 + dur1)
            end = t1 + dur1
        else:
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
    phase_cycles: dict[str, float] = {}
    keep = 0.0

    for ph, assignment in enumerate(assignments):
        start = env.now
        queues: dict[int, object] = {}
        if assignment.thread_ptr is None:
            q = assignment.queue_of_task
            for qid in np.unique(q):
                queues[int(qid)] = iter(assignment.tasks[q == qid].tolist())
        per_core = bool(queues) and -1 not in queues

        # the first task of every thread starts at the phase start: share the servers fairly
        # among that wave (the calendars' first-come order would starve the last starters)
        first: dict[int, int] = {}
        if assignment.thread_ptr is not None:
            for tid in range(T):
                mine0 = assignment.thread_tasks(tid)
                if mine0.size:
                    first[tid] = int(mine0[0])
        wave_rho: dict[int, np.ndarray] = {}
        if first and use_wave and len(first) * caps.size <= 5_000_000:
            tids = list(first)
            D = np.zeros((len(tids), caps.size))
            dur = np.zeros(len(tids))
            for k, tid in enumerate(tids):
                ids_w, d_w, dur[k] = run_task(first[tid], tid // tpc, int(pipe_of[tid]), env.now, False, 0, probe=True)
                D[k, ids_w] = d_w
            # work of the wave inside each task's window [0, dur_i): all of a shorter task's
            # work, a longer one's at its rate; as a fraction of each server's capacity
            o = np.argsort(dur, kind="stable")
            Ds, ds = D[o], dur[o]
            shorter = np.cumsum(Ds, axis=0)
            rate = Ds / ds[:, None]
            longer = np.cumsum(rate[::-1], axis=0)[::-1]
            longer = np.vstack([longer[1:], np.zeros((1, caps.size))])
            load = (shorter + ds[:, None] * longer) / (caps[None, :] * ds[:, None])
            for k, idx in enumerate(o):
                wave_rho[tids[idx]] = load[k]

        def thread(tid: int, my_tasks):
            nonlocal keep
            core = tid // tpc
            pipe = int(pipe_of[tid])
            # a dynamic queue's counter lives at controller 0 (global) or the core's own controller
            q_ctrl = core if per_core else 0
            it = my_tasks if my_tasks is not None else queues.get(core if per_core else -1, iter(()))
            for i, t in enumerate(it):
                now = env.now
                cal.advance(now, keep)
                dur = run_task(int(t), core, pipe, now, my_tasks is None, q_ctrl, wave=wave_rho.get(tid) if i == 0 else None)
                keep = max(keep, 2.0 * dur)
                stats["busy"] += dur
                stats["events"] += 1
                if my_tasks is None:
                    stats["grabs"] += 1
                yield env.timeout(dur)

        for tid in range(T):
            mine = None if assignment.thread_ptr is None else assignment.thread_tasks(tid).tolist()
            if mine is not None and not mine:
                continue
            env.process(thread(tid, mine))
        env.run()
        phase_cycles[prog.phases[ph]] = env.now - start

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
        extra={"bucket_cycles": W, "chain0": stats["chain0"], "queue_wait_fraction": stats["wait"] / max(stats["wait"] + stats["chain0"], 1e-9),
               "queue_wait_cycles": {k[2:]: stats[k] for k in ("w_ctrl", "w_bank", "w_pipe")} | {"link": stats["wait"] - stats["w_ctrl"] - stats["w_bank"] - stats["w_pipe"]},
               "resources": {"controllers": N, "pipelines": P, "banks": cfg.cores * nb, "mesh_links": int((~die_link).sum()) if L else 0, "die_links": int(die_link.sum()) if L else 0, "dma": cfg.cores}},
    )
