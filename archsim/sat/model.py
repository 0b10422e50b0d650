"""SimPy model of a SAT-style N:M sparse training accelerator.

Components and what "cycle-level" means for each
-------------------------------------------------
* **DRAM** (`_Dram`, ``dram.model: bandwidth``): ``channels`` DDR channels with addresses striped
  over them, modelled as one server of aggregate bandwidth ``channels × channel_bytes_per_s /
  clock_hz`` bytes/cycle.  Each transfer (one block of a buffer, one store, one weight-update read
  or write) reserves the server for ``bytes / bandwidth`` cycles after the transfers queued before
  it (FIFO), and completes ``latency_cycles`` after its last byte; concurrent requesters
  (activation and weight loaders, output stores, the weight-update and pruning units) therefore
  queue, and bandwidth contention comes out of the run.  Transfers are at most one buffer half.
  With ``dram.model: command`` (`_CommandDram`) each transfer is a block of its stream's
  contiguous addresses timed by `archsim.dram.blocks.BlockDram`: per burst through the
  command-level channels (``fidelity: exact``) or at the command model's measured streaming
  efficiency per direction (``aggregate``), so refresh, bank-group spacing and row misses cost
  what they cost on the preset's DDR4.
* **On-chip buffers**: activation, weight and output buffers, each double-buffered (two halves;
  a block must fit a half, which the schedule guarantees).  Halves are SimPy ``Container``
  tokens: a loader cannot run more than one block ahead of the array, and the array cannot start
  a new output block while both output halves wait for their stores (back-pressure).
* **Sparse tensor array**: timed per *tile* (never per MAC): a tile occupies the array's input
  for `dataflow.contract.tile_timing` ``interval_cycles`` and produces its last output
  ``latency_cycles`` after it was offered, the OS short-tile hold included (a tile shorter than
  the array's rows right after a longer one waits for the drain chain; the model knows the
  previous tile's span and how long the array sat idle since).  The tiles of one block step run
  back to back on operands already on chip, so nothing can interleave with them: the model
  advances the whole run in one event whose length is `dataflow.contract.run_timing`
  (``per_tile_events=True`` yields one event per tile, chaining `tile_timing`; a test checks both
  give identical cycles).  Back-to-back tiles overlap fill and drain
  (``array.overlap_tiles``); with overlap off each tile pays its weight load and full latency
  (SCALE-Sim's fold-by-fold timing).  The array waits for operands (input stall), for a free
  output half (output stall), and for the GEMM whose output it reads (dependency).
* **Pruning unit**: ``lanes`` top-N-of-M sorters, one group of M per lane per cycle.  Without
  pre-generation it prunes dense weights on the load path (the block is ready when both the DRAM
  transfer and the pruning are done); with pre-generation it prunes each updated weight twice
  (FF copy along input channels, BP copy along output channels) right after the weight update,
  off the critical path but contending for DRAM.
* **Weight-update unit**: ``lanes`` FP32 lanes; for each block of a WU GEMM's output (dW) it
  reads and writes the FP32 master weight and momentum and writes next iteration's working copy
  (dense FP16, or the two compressed N:M copies when pre-generating).
* **Vector unit**: ``lanes`` lanes for non-GEMM elementwise work on FF/BP outputs (activation,
  normalisation and their gradients), on the store path.

Time is in cycles of ``clock_hz`` (floats inside the run, rounded up at the end).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

import simpy

from archsim.sat.config import SatConfig
from dataflow.contract import run_timing, tile_timing
from dataflow.sat import GemmPlan, Schedule, Step, block_steps

__all__ = ["SatModel", "SimStats"]


@dataclass
class SimStats:
    """Raw counters of one run (turned into a `RunResult` by `archsim.sat.run`)."""

    total_cycles: float = 0.0
    gemm_array_end: list[float] = field(default_factory=list)
    busy: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    stall: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    bytes: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    actions: dict[str, dict[str, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    tiles: int = 0


class _Tokens:
    """Buffer halves as counted tokens (a lean ``simpy.Container`` for a conserved count).

    ``get()`` returns ``None`` when a token is free (no event: the caller goes on at once) or an
    event that fires when one is put back; ``put()`` hands the token to the oldest waiter.  The
    count is conserved (halves are only moved between free, loaded and in use), so a put never
    blocks.  This keeps the uncontended hand-over of double buffers free of SimPy events.
    """

    def __init__(self, env: simpy.Environment, level: int) -> None:
        self.env = env
        self.level = level
        self.waiters: list[simpy.Event] = []

    def get(self) -> simpy.Event | None:
        if self.level > 0 and not self.waiters:
            self.level -= 1
            return None
        ev = self.env.event()
        self.waiters.append(ev)
        return ev

    def put(self) -> None:
        if self.waiters:
            self.waiters.pop(0).succeed()
        else:
            self.level += 1


class _Server:
    """A FIFO server timed by reservation: a request made at ``now`` starts when the server
    frees (requests are served in arrival order) and holds it for ``duration`` cycles.  One
    event per request; contention comes out as queueing delay."""

    def __init__(self, env: simpy.Environment, name: str, stats: SimStats) -> None:
        self.env = env
        self.name = name
        self.free_at = 0.0
        self.stats = stats

    def reserve(self, duration: float, extra: float = 0.0, *, at: float | None = None) -> simpy.Event:
        """Event firing ``extra`` cycles after this request's service ends.

        ``at`` (>= now): the request is ready only then (e.g. after the array's drain), so the
        service starts at ``max(at, free)``; requests still queue in the order they are made.
        """
        now = self.env.now
        ready = now if at is None else at
        start = max(ready, self.free_at)
        self.free_at = start + duration
        self.stats.busy[self.name] += duration
        self.stats.stall[f"{self.name}_queue"] += start - ready
        return self.env.timeout(self.free_at + extra - now)


class _Dram(_Server):
    """DRAM: a `_Server` at the aggregate bandwidth with a fixed completion latency."""

    def __init__(self, env: simpy.Environment, cfg: SatConfig, stats: SimStats) -> None:
        super().__init__(env, "dram", stats)
        self.bw = cfg.dram_bytes_per_cycle
        self.latency = cfg.dram.latency_cycles

    def transfer(self, nbytes: float, direction: str, who: str, *,
                 at: float | None = None) -> simpy.Event:
        """Event that fires when ``nbytes`` (``direction`` = read|write) have moved for ``who``:
        ``nbytes / bandwidth`` cycles after the transfers queued before it, plus the latency."""
        st = self.stats
        st.bytes[f"dram_{direction}"] += nbytes
        st.bytes[f"dram_{direction}.{who}"] += nbytes
        st.actions["dram"]["dram_byte"] += nbytes
        return self.reserve(nbytes / self.bw, self.latency, at=at)


class _CommandDram(_Dram):
    """DRAM through the command-level model (`archsim.dram.blocks.BlockDram`)."""

    def __init__(self, env: simpy.Environment, cfg: SatConfig, stats: SimStats) -> None:
        from archsim.dram.blocks import BlockDram

        super().__init__(env, cfg, stats)
        c = cfg.dram.command
        self.blocks = BlockDram(c.dram_config(cfg.dram.channels), cfg.clock_hz, c.fidelity)

    def transfer(self, nbytes: float, direction: str, who: str, *,
                 at: float | None = None) -> simpy.Event:
        st = self.stats
        st.bytes[f"dram_{direction}"] += nbytes
        st.bytes[f"dram_{direction}.{who}"] += nbytes
        st.actions["dram"]["dram_byte"] += nbytes
        now = self.env.now
        ready = now if at is None else at
        start, end = self.blocks.transfer(now, nbytes, direction == "write", who, ready)
        st.busy[self.name] += nbytes / self.bw
        st.stall[f"{self.name}_queue"] += start - ready
        return self.env.timeout(max(0.0, end - now))


class SatModel:
    """Runs a `Schedule` on a `SatConfig`; ``run()`` returns `SimStats`."""

    def __init__(self, cfg: SatConfig, schedule: Schedule, *, per_tile_events: bool = False,
                 on_gemm_done: Callable[[int], None] | None = None) -> None:
        self.cfg = cfg
        self.per_tile_events = per_tile_events
        self.on_gemm_done = on_gemm_done  # called with the plan index when its last tile ends
        self.schedule = schedule
        self.env = simpy.Environment()
        self.stats = SimStats()
        self.dram = (_CommandDram if cfg.dram.model == "command" else _Dram)(
            self.env, cfg, self.stats)
        env = self.env
        self.a_free = _Tokens(env, 2)
        self.b_free = _Tokens(env, 2)
        self.c_free = _Tokens(env, 2)
        self.a_ready = _Tokens(env, 0)
        self.b_ready = _Tokens(env, 0)
        self.pruner = _Server(env, "pruning_unit", self.stats)
        self.wu_unit = _Server(env, "weight_update", self.stats)
        self.vector = _Server(env, "vector_unit", self.stats)
        self._cost_cache: dict[tuple, object] = {}
        # The previous run of tiles (OS short-tile hold): last tile's span, dataflow, end.
        self._prev_span: int | None = None
        self._prev_dataflow: str | None = None
        self._array_free_at = 0.0
        plans = schedule.plans
        self.gemm_done = [env.event() for _ in plans]
        self.pending_stores = [0] * len(plans)
        self.array_finished = [False] * len(plans)
        # Layers whose weights run N:M (their FF plan is sparse): their WU writes N:M copies.
        self.layer_nm = {p.layer: p.sparsity for p in plans if p.pass_ == "FF"}
        self.steps: list[tuple[int, list[Step]]] = [
            (p.index, list(block_steps(p, schedule.array, schedule.memory))) for p in plans
        ]
        self.stats.gemm_array_end = [0.0] * len(plans)

    # ---------------------------------------------------------------- helpers
    def _timing_kw(self, plan: GemmPlan, stream: int) -> dict:
        a = self.cfg.array
        return dict(rows=a.rows, cols=a.cols, stream_len=stream,
                    acc_latency_cycles=a.acc_latency_cycles, interleave=plan.interleave)

    def _run_cost(self, plan: GemmPlan, s: Step) -> tuple[list[float], float]:
        """(array occupancy of each event, drain after the last tile) of one block step's run
        of tiles, offered now; remembers the run's end for the OS hold of the next run."""
        now = self.env.now
        a = self.cfg.array
        prev = self._prev_span if plan.dataflow == self._prev_dataflow else None
        gap = int(now - self._array_free_at) if prev is not None else 0
        if prev is not None and gap >= a.rows:
            prev, gap = None, 0  # the drain chain is long free: no hold possible
        kw = self._timing_kw(plan, s.stream_len)
        overlap = a.overlap_tiles
        if self.per_tile_events and overlap:
            events = []
            span, g = prev, gap
            for _ in range(s.tiles):
                t = tile_timing(plan.dataflow, prev_span=span, gap_cycles=g, **kw)
                events.append(float(t.interval_cycles))
                span, g = t.span_cycles, 0
            drain, last_span = float(t.latency_cycles - t.interval_cycles), t.span_cycles
        else:
            key = (plan.index, s.stream_len, s.tiles, prev, gap)
            run = self._cost_cache.get(key)
            if run is None:
                run = run_timing(plan.dataflow, tiles=s.tiles, prev_span=prev, gap_cycles=gap,
                                 overlap=overlap, **kw)
                self._cost_cache[key] = run
            drain, last_span = float(run.drain_cycles), run.last_span_cycles
            if self.per_tile_events:
                events = [run.occupancy_cycles / s.tiles] * s.tiles
            else:
                events = [float(run.occupancy_cycles)]
        self._array_free_at = now + sum(events)
        self._prev_span = last_span if overlap else None
        self._prev_dataflow = plan.dataflow
        return events, drain

    def _prune_cycles(self, elements: float, nm) -> float:
        pu = self.cfg.pruning_unit
        return elements / (nm.m * self.cfg.pruning_lanes) + pu.latency_cycles

    def _count_prune(self, elements: float, nm) -> None:
        self.stats.actions["pruning_unit"]["cmp16"] += (
            elements * max(1, math.ceil(math.log2(nm.m))))

    # ---------------------------------------------------------------- processes
    def _a_loader(self):
        plans = self.schedule.plans
        for gi, steps in self.steps:
            plan = plans[gi]
            first = True
            for _ in range(plan.count):
                for s in steps:
                    if not s.load_a_bytes:
                        continue
                    if first and plan.depends_on is not None:
                        yield self.gemm_done[plan.depends_on]
                    first = False
                    ev = self.a_free.get()
                    if ev is not None:
                        yield ev
                    yield self.dram.transfer(s.load_a_bytes, "read", "act")
                    self.stats.actions["buffers"]["sram_byte"] += s.load_a_bytes
                    self.a_ready.put()

    def _b_loader(self):
        plans = self.schedule.plans
        for gi, steps in self.steps:
            plan = plans[gi]
            nm = plan.sparsity
            for _ in range(plan.count):
                for s in steps:
                    if not s.load_b_bytes:
                        continue
                    ev = self.b_free.get()
                    if ev is not None:
                        yield ev
                    xfer = self.dram.transfer(s.load_b_bytes, "read", "weight")
                    if s.prune_elements:
                        yield xfer & self._prune(s.prune_elements, nm)
                    else:
                        yield xfer
                    self.stats.actions["buffers"]["sram_byte"] += s.load_b_bytes
                    self.b_ready.put()

    def _prune(self, elements: float, nm) -> simpy.Event:
        self._count_prune(elements, nm)
        return self.pruner.reserve(self._prune_cycles(elements, nm))

    def _array(self):
        env = self.env
        st = self.stats
        a = self.cfg.array
        plans = self.schedule.plans
        hold_a = hold_b = False
        for gi, steps in self.steps:
            plan = plans[gi]
            nm = plan.sparsity
            e = plan.elements_per_step
            eff_macs = plan.macs * nm.n // nm.m if not nm.is_dense else plan.macs
            for _ in range(plan.count):
                for s in steps:
                    t0 = env.now
                    if s.load_a_bytes:
                        ev = self.a_ready.get()
                        if ev is not None:
                            yield ev
                        if hold_a:
                            self.a_free.put()
                        hold_a = True
                    if s.load_b_bytes:
                        ev = self.b_ready.get()
                        if ev is not None:
                            yield ev
                        if hold_b:
                            self.b_free.put()
                        hold_b = True
                    t1 = env.now
                    st.stall["array_input"] += t1 - t0
                    if s.new_out_block:
                        ev = self.c_free.get()
                        if ev is not None:
                            yield ev
                    st.stall["array_output"] += env.now - t1
                    events, drain = self._run_cost(plan, s)
                    for dt in events:  # one event for the run, or one per tile: same cycles
                        yield env.timeout(dt)
                    busy = sum(events)
                    st.busy["array"] += busy
                    st.busy[f"array.{plan.pass_}"] += busy
                    st.tiles += s.tiles
                    # On-chip traffic of the run of tiles (energy and bytes).
                    act_rd = s.tiles * s.stream_len * a.rows * e * a.operand_bytes
                    if plan.dataflow == "ws":
                        w_rd = s.tiles * a.rows * a.cols * a.multipliers_per_pe * a.operand_bytes
                        psum = 2 * s.tiles * s.stream_len * a.cols * a.psum_bytes
                    else:
                        w_rd = s.tiles * s.stream_len * a.cols * a.multipliers_per_pe * a.operand_bytes
                        psum = 2 * s.tiles * a.rows * a.cols * a.psum_bytes
                    st.bytes["sram_read"] += act_rd + w_rd + psum / 2
                    st.bytes["sram_write"] += psum / 2
                    st.actions["buffers"]["sram_byte"] += act_rd + w_rd + psum
                    if s.store_bytes:
                        self.pending_stores[gi] += 1
                        env.process(self._store(plan, s, drain))
            st.actions["array"]["fp16_mul"] += eff_macs
            st.actions["array"]["fp32_add"] += eff_macs
            if not nm.is_dense:
                st.actions["array"]["mux_select"] += eff_macs
            st.gemm_array_end[gi] = env.now
            if self.on_gemm_done is not None:  # progress reporting only; no effect on timing
                self.on_gemm_done(gi)
            self.array_finished[gi] = True
            self._maybe_done(gi)
        if hold_a:
            self.a_free.put()
        if hold_b:
            self.b_free.put()

    def _maybe_done(self, gi: int) -> None:
        if self.array_finished[gi] and self.pending_stores[gi] == 0:
            self.gemm_done[gi].succeed()

    def _store(self, plan: GemmPlan, s: Step, drain: float):
        """Drain the array, post-process (vector unit or weight update), write back."""
        env = self.env
        st = self.stats
        ready = env.now + drain  # the block's last output leaves the array
        if plan.pass_ == "WU":
            yield from self._weight_update(plan, s.out_elements, ready)
        else:
            vu = self.cfg.vector_unit
            if vu.ops_per_element:
                ops = s.out_elements * vu.ops_per_element
                st.actions["vector_unit"]["fp16_add"] += ops
                yield self.vector.reserve(ops / self.cfg.vector_lanes, at=ready)
            elif drain > 0:
                yield env.timeout(drain)
            st.actions["buffers"]["sram_byte"] += s.store_bytes
            yield self.dram.transfer(s.store_bytes, "write", "act")
        self.c_free.put()
        self.pending_stores[plan.index] -= 1
        self._maybe_done(plan.index)

    def _weight_update(self, plan: GemmPlan, params: int, ready: float):
        """SGD with momentum on one block of dW (available at ``ready``), then next
        iteration's working weights."""
        st = self.stats
        cfg = self.cfg
        wu = cfg.weight_update
        master = params * wu.master_bytes_per_param
        yield (self.dram.transfer(master, "read", "master", at=ready)
               & self.wu_unit.reserve(params / cfg.weight_update_lanes, at=ready))
        st.actions["weight_update"]["fp32_mul"] += 2 * params
        st.actions["weight_update"]["fp32_add"] += 2 * params
        writes = [self.dram.transfer(master, "write", "master")]
        nm = self.layer_nm.get(plan.layer)
        ob = cfg.array.operand_bytes
        if nm is not None and not nm.is_dense and self.schedule.pregenerate:
            # Pre-generation: FF copy (N:M along inputs) and BP copy (along outputs).
            yield self._prune(2 * params, nm)
            kept = params * nm.n / nm.m
            copy = kept * ob + math.ceil(kept * nm.index_bits / 8)
            writes.append(self.dram.transfer(2 * copy, "write", "weight"))
        else:
            writes.append(self.dram.transfer(params * ob, "write", "weight"))
        yield simpy.AllOf(self.env, writes)

    # ---------------------------------------------------------------- run
    def run(self) -> SimStats:
        env = self.env
        env.process(self._a_loader())
        env.process(self._b_loader())
        env.process(self._array())
        env.run()
        self.stats.total_cycles = env.now
        return self.stats
