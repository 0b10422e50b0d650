"""The fair-share contention of the fast PIUMA level (`archsim.piuma.fluid`), on hand-made tasks."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from archsim.config import load_config
from archsim.piuma.fabric import Topology, pipeline_of_thread
from archsim.piuma.fluid import FluidEngine


@pytest.fixture(scope="module")
def setup():
    cfg = load_config("piuma", expect="piuma")
    return cfg, Topology.build(cfg)


def _run(cfg, topo, tasks, t0=0.0, max_steps=None):
    """``tasks``: list of (thread, start, chain, reads per controller[, waited visits per
    controller]); waited defaults to every read (a DMA gather waits once per command); returns
    end times.  ``t0``: the clock at the start; ``max_steps``: stop after that many events."""
    env = simpy.Environment(initial_time=t0)
    T = cfg.threads
    slot = cfg.dram.access_bytes / cfg.dram.bytes_per_cycle_per_controller
    eng = FluidEngine(env, cfg, topo, T, np.arange(T) // cfg.threads_per_core, pipeline_of_thread(cfg, np.arange(T)),
                      {"ctrl": 0.5 * slot, "link": np.full(topo.n_links, 0.2), "bank": 0.5})
    ends = {}
    nb = cfg.sp_banks
    H = cfg.network.header_bytes

    def proc(i, tid, start, chain, reads, waited=None):
        yield env.timeout(start)
        reads = np.asarray(reads, float)
        waited = reads if waited is None else np.asarray(waited, float)
        ctrl = {"demand": reads * slot, "waited": waited, "visits": reads, "out_bytes": reads * H, "back_bytes": reads * (H + 8),
                "out_reqs": reads, "back_reqs": reads}
        yield from eng.run(tid, chain, ctrl, (np.zeros(nb), np.zeros(nb), np.zeros(nb)), (0.0, 0.0))
        ends[i] = env.now

    for i, task in enumerate(tasks):
        env.process(proc(i, *task))
    if max_steps is None:
        env.run()
    else:
        for _ in range(max_steps):
            if env.peek() == float("inf"):
                break
            env.step()
    return ends


def test_tasks_end_late_in_a_long_run(setup):
    # at 2^36 cycles the clock resolves 1.5e-5 cycles: a task left with less than that (but more
    # than the millionth of a cycle that counts as done) could not move the clock and the
    # engine spun forever (row-wise SpGEMM at R-MAT s18, ~2e10 cycles, never finished)
    cfg, topo = setup
    reads = np.zeros(cfg.controllers)
    reads[0] = 10
    tasks = [(t, 0.0, 1000.0 + 0.37 * t + 3e-6, reads) for t in range(40)]
    ends = _run(cfg, topo, tasks, t0=float(2**36), max_steps=20_000)
    assert len(ends) == 40
    assert max(ends.values()) - 2**36 == pytest.approx(1000.0 + 0.37 * 39, rel=1e-3)


def test_alone_a_task_takes_its_chain(setup):
    cfg, topo = setup
    reads = np.zeros(cfg.controllers)
    reads[0] = 10
    ends = _run(cfg, topo, [(0, 0.0, 1000.0, reads)])
    assert ends[0] == pytest.approx(1000.0, rel=1e-6)


def test_tasks_that_start_together_share_fairly(setup):
    # 264 identical tasks (every thread of 4 cores) hammer controller 3: first come, first
    # served would let the first ones run at their unloaded pace and starve the last; fair
    # sharing slows them all, ends a core's tasks together, and no sooner than the controller
    # can serve all their reads
    cfg, topo = setup
    slot = cfg.dram.access_bytes / cfg.dram.bytes_per_cycle_per_controller
    reads = np.zeros(cfg.controllers)
    reads[3] = 400
    tpc = cfg.threads_per_core
    chain = {t: 400 * float(topo.latency[t // tpc, 3]) for t in range(4 * tpc)}
    ends = _run(cfg, topo, [(t, 0.0, chain[t], reads) for t in range(4 * tpc)])
    e = np.array([ends[t] for t in range(4 * tpc)])
    c = np.array([chain[t] for t in range(4 * tpc)])
    assert e.max() >= 4 * tpc * 400 * slot * (1 - 1e-6)  # the controller's capacity
    assert (e > 1.1 * c).all()  # nobody runs at its unloaded pace
    for k in range(4):
        core = e[k * tpc:(k + 1) * tpc]
        assert core.max() / core.min() < 1.01  # identical tasks of a core end together


def test_more_load_never_speeds_a_task_up(setup):
    cfg, topo = setup
    reads = np.full(cfg.controllers, 50.0)
    alone = _run(cfg, topo, [(0, 0.0, 2000.0, reads)])[0]
    crowd = _run(cfg, topo, [(t, 0.0, 2000.0, reads) for t in range(0, 400, 3)])
    assert crowd[0] > alone


def test_saturated_controller_slows_its_visitors_by_their_visits(setup):
    # DMA-like tasks (one gather each: many words, the thread waits once per command): 200 read
    # mostly from controller 0, 50 mostly from controller 1, interleaved, staggered starts.
    # The words are not waited for one by one, so the queueing analysis alone cannot hold them
    # back; a saturated controller must. It builds a queue that a task pays per waited visit
    # there: the tasks that rarely visit controller 0 end long before the ones that live there.
    # (Scaling every task that touches controller 0 by one factor, the first version, ties the
    # light ones to it: they ended with the heavy ones, 82k vs 79k cycles; now 25k.)
    cfg, topo = setup
    slot = cfg.dram.access_bytes / cfg.dram.bytes_per_cycle_per_controller
    hot = np.zeros(cfg.controllers)
    hot[0], hot[1] = 900, 100
    cool = np.zeros(cfg.controllers)
    cool[0], cool[1] = 50, 950
    tasks = [(t, 4.0 * t, 1000.0, hot if t % 5 else cool, (hot if t % 5 else cool) / 1000) for t in range(250)]
    ends = _run(cfg, topo, tasks)
    e_hot = np.array([ends[i] for i in range(250) if i % 5])
    e_cool = np.array([ends[i] for i in range(250) if i % 5 == 0])
    assert e_hot.max() >= (200 * 900 + 50 * 50) * slot * (1 - 1e-3)  # controller 0 cannot serve them sooner
    assert e_cool.max() < 0.7 * e_hot.min()
