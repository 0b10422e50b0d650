"""Static structure of the fabric and the per-task demand each task puts on it.

* **Address map.**  Word ``w`` (8 bytes) lives at controller ``w mod N`` (``interleaved``) or
  ``w // ceil(words / N)`` (``block``), N = one controller per core over all dies.
* **Mesh.**  Each die is a ``rows x mesh_cols`` mesh of core routers with directed links
  between neighbours; routing is XY.  Dies are joined by one optical link per router position
  and ordered die pair (the mesh protocol extended over optics): a request from core ``p`` on
  die ``d`` to die ``e`` crosses at ``p``'s position, then routes XY on die ``e``.  Every memory
  access moves ``request_bytes`` over each link of the path out and of the path back.
* **Latency** of a round trip from core ``p`` to controller ``c``: DRAM latency + 2·hops·hop
  latency (+ 2·die-link latency across dies).  Queueing is not in this number: it comes out
  of the simulated reservations (`archsim.piuma.model`).
* **Caches.**  Contiguous cached runs are streams: line fills (``line_bytes / 8`` words of DRAM
  traffic and one round trip per line touched), neither looked up nor retained.  Single-word
  cached reads (random gathers) are looked up one by one in a direct-mapped cache per
  pipeline (hit = the set still holds that line), over an access order fixed before the
  simulation: the pipeline's threads interleaved round-robin, one access per thread per turn,
  each thread's accesses in its static task order (for dynamic partitioning the cyclic
  assignment stands in for the unknown order).  The hit/miss outcome is therefore decided per
  access but does not depend on simulated timing; streams do not evict gathered lines.

A streamed run passes ``cache_state`` (the line each pipeline's cache set holds, carried from
block to block; `new_cache_state`), so a block's first accesses hit what the previous left.

`task_demands` turns a `Program` into per-task arrays (controller slots, round trips per
controller, DMA words, scratchpad bank cycles ...), all vectorised over runs, so the SimPy
model only adds per-task vectors at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsim.piuma.config import PiumaConfig
from dataflow.piuma import Assignment, Program
from dataflow.piuma.program import ATOMIC, CACHED, DMA, READ, WRITE

__all__ = ["Topology", "TaskDemands", "task_demands", "new_cache_state"]


@dataclass(frozen=True)
class Topology:
    """Mesh links, routes and latencies for ``cfg``; ``route[p]`` is (controllers x links)."""

    n_links: int
    link_names: tuple[str, ...]
    link_bytes_per_cycle: np.ndarray
    route: np.ndarray  # (cores, controllers, links): link used by p->c and c->p paths (counts)
    hops: np.ndarray  # (cores, controllers) mesh hops one way
    latency: np.ndarray  # (cores, controllers) round-trip cycles

    @classmethod
    def build(cls, cfg: PiumaConfig) -> "Topology":
        C, cols = cfg.cores_per_die, cfg.network.mesh_cols
        cols = min(cols, C)
        pos = [(i // cols, i % cols) for i in range(C)]
        index = {p: i for i, p in enumerate(pos)}
        links: dict[tuple, int] = {}
        names, caps = [], []

        def link(key, name, cap):
            if key not in links:
                links[key] = len(names)
                names.append(name)
                caps.append(cap)
            return links[key]

        def xy(die, a, b):
            (r, c), (r2, c2) = pos[a], pos[b]
            out = []
            while c != c2:
                nc = c + (1 if c2 > c else -1)
                out.append(link(("m", die, index[(r, c)], index[(r, nc)]), f"d{die}:{index[(r, c)]}->{index[(r, nc)]}", cfg.network.link_bytes_per_cycle))
                c = nc
            while r != r2:
                nr = r + (1 if r2 > r else -1)
                out.append(link(("m", die, index[(r, c)], index[(nr, c)]), f"d{die}:{index[(r, c)]}->{index[(nr, c)]}", cfg.network.link_bytes_per_cycle))
                r = nr
            return out

        N = cfg.cores
        paths: dict[tuple[int, int], list[int]] = {}
        for p in range(N):
            for q in range(N):
                dp, lp = divmod(p, C)
                dq, lq = divmod(q, C)
                if dp == dq:
                    paths[p, q] = xy(dp, lp, lq)
                else:
                    dl = link(("o", dp, dq, lp), f"die{dp}->die{dq}@{lp}", cfg.network.die_link_bytes_per_cycle)
                    paths[p, q] = [dl] + xy(dq, lp, lq)
        L = len(names)
        route = np.zeros((N, N, max(L, 1)))
        hops = np.zeros((N, N))
        lat = np.zeros((N, N))
        for p in range(N):
            for c in range(N):
                for li in paths[p, c] + paths[c, p]:
                    route[p, c, li] += 1
                cross = (p // C) != (c // C)
                mesh_hops = len(paths[p, c]) - (1 if cross else 0)
                hops[p, c] = mesh_hops
                lat[p, c] = (
                    cfg.dram.latency_cycles
                    + 2 * mesh_hops * cfg.network.hop_latency_cycles
                    + (2 * cfg.network.die_link_latency_cycles if cross else 0)
                )
        return cls(L, tuple(names), np.asarray(caps if caps else [1.0]), route, hops, lat)


@dataclass(frozen=True)
class TaskDemands:
    """Per-task demands (first axis = task id)."""

    ctrl_slots: np.ndarray  # (tasks, controllers) access slots at each controller
    ctrl_trips: np.ndarray  # (tasks, controllers) round trips in the thread's dependence chain
    dma_words: np.ndarray  # (tasks,)
    read_words: np.ndarray  # (tasks,)
    write_words: np.ndarray  # (tasks,)
    atomics: np.ndarray  # (tasks,) remote atomics at controllers
    cache_accesses: np.ndarray  # (tasks,)
    cache_hits: np.ndarray  # (tasks,)
    bank_cycles: np.ndarray  # (tasks, sp_banks)
    sp_ops: np.ndarray  # (tasks,) scratchpad ops in the thread's chain


def _controller_counts(lo: np.ndarray, hi: np.ndarray, c: int, N: int, mapping: str, block: int) -> np.ndarray:
    """Words of [lo, hi) that live at controller c."""
    if mapping == "interleaved":
        f = lambda x: (x - c + N - 1) // N  # noqa: E731  (# of t in [0, x) with t % N == c)
        return f(hi) - f(lo)
    return np.maximum(0, np.minimum(hi, (c + 1) * block) - np.maximum(lo, c * block))


def _pipeline_of_thread(cfg: PiumaConfig, threads: np.ndarray) -> np.ndarray:
    core, local = np.divmod(threads, cfg.threads_per_core)
    mtp_threads = cfg.mtp_per_core * cfg.threads_per_mtp
    pipe_local = np.where(local < mtp_threads, local // cfg.threads_per_mtp, cfg.mtp_per_core + (local - mtp_threads))
    return core * cfg.pipelines_per_core + pipe_local


def _cache_hits(prog: Program, cfg: PiumaConfig, run_task: np.ndarray, mask: np.ndarray, assignment: Assignment,
                cache_state: np.ndarray | None = None) -> np.ndarray:
    """Hit flag of every masked run (single-word cached reads), direct-mapped per pipeline."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return np.zeros(0, bool)
    tasks = assignment.tasks
    T = assignment.threads
    if assignment.thread_ptr is None:  # dynamic: cyclic order as a proxy
        owner_of_pos = np.arange(tasks.size) % T
    else:
        owner_of_pos = np.repeat(np.arange(T), np.diff(assignment.thread_ptr))
    rank = np.full(prog.n_tasks, -1, np.int64)
    rank[tasks] = np.arange(tasks.size)
    owner = np.zeros(prog.n_tasks, np.int64)
    owner[tasks] = owner_of_pos
    t = run_task[idx]
    thr = owner[t]
    pipe = _pipeline_of_thread(cfg, thr)
    wpl = cfg.cache.line_bytes // 8
    nsets = cfg.cache.bytes_per_pipeline // cfg.cache.line_bytes
    line = prog.run_addr[idx] // wpl
    # each thread's own access order: its tasks in rank order, runs in program order
    own = np.lexsort((idx, rank[t], thr))
    ts = thr[own]
    first = np.r_[0, np.flatnonzero(ts[1:] != ts[:-1]) + 1]
    ordinal = np.empty(idx.size, np.int64)
    ordinal[own] = np.arange(idx.size) - np.repeat(first, np.diff(np.r_[first, idx.size]))
    # the pipeline's stream: its threads interleaved round-robin, one access per thread per turn
    order = np.lexsort((thr, ordinal, pipe))
    key = pipe[order] * nsets + line[order] % nsets
    o2 = np.argsort(key, kind="stable")
    k2, l2 = key[o2], line[order][o2]
    hit_sorted = np.r_[False, (k2[1:] == k2[:-1]) & (l2[1:] == l2[:-1])]
    if cache_state is not None:  # streamed blocks: each set starts with the line the last block left
        new = np.r_[True, k2[1:] != k2[:-1]]
        hit_sorted[new] = cache_state[k2[new]] == l2[new]
        cache_state[k2[np.r_[new[1:], True]]] = l2[np.r_[new[1:], True]]
    hit = np.empty(idx.size, bool)
    hit[order[o2]] = hit_sorted
    return hit


def new_cache_state(cfg: PiumaConfig) -> np.ndarray:
    """Empty caches of every pipeline (line held by each set; -1 = none), for `task_demands`."""
    return np.full(cfg.cores * cfg.pipelines_per_core * (cfg.cache.bytes_per_pipeline // cfg.cache.line_bytes), -1, np.int64)


def task_demands(prog: Program, cfg: PiumaConfig, assignment: Assignment, cache_state: np.ndarray | None = None) -> TaskDemands:
    """Per-task demands of ``prog`` on the fabric ``cfg`` (see module doc)."""
    N = cfg.controllers
    nt = prog.n_tasks
    wpl = cfg.cache.line_bytes // 8
    run_task = np.repeat(np.arange(nt, dtype=np.int64), np.diff(prog.run_ptr))
    addr, ln, kind, mode = prog.run_addr, prog.run_len, prog.run_kind, prog.run_mode
    is_read = kind != WRITE
    single_cached = (mode == CACHED) & (ln == 1) & (kind == READ)
    stream_cached = (mode == CACHED) & ~single_cached & (kind == READ)
    hits = np.zeros(addr.size, bool)
    hits[single_cached] = _cache_hits(prog, cfg, run_task, single_cached, assignment, cache_state)
    lo = addr.copy()
    hi = addr + ln
    line_fill = single_cached | stream_cached
    lo[line_fill] = (addr[line_fill] // wpl) * wpl
    hi[line_fill] = -(-(addr[line_fill] + ln[line_fill]) // wpl) * wpl
    hi[hits] = lo[hits]  # a hit moves nothing
    words = hi - lo
    trips = np.where(kind == WRITE, 0, ln).astype(np.float64)
    trips[line_fill] = (words[line_fill] // wpl).astype(np.float64)
    trips[mode == DMA] = 0.0
    ratio = np.divide(trips, words, out=np.zeros_like(trips), where=words > 0)
    occupancy = np.where(kind == ATOMIC, cfg.dram.atomic_occupancy, 1.0)
    block = -(-max(prog.total_words, 1) // N)
    slots = np.zeros((nt, N))
    tr = np.zeros((nt, N))
    for c in range(N):
        cnt = _controller_counts(lo, hi, c, N, cfg.dram.mapping, block).astype(np.float64)
        slots[:, c] = np.bincount(run_task, weights=cnt * occupancy, minlength=nt)
        tr[:, c] = np.bincount(run_task, weights=cnt * ratio, minlength=nt)
    bc = lambda w: np.bincount(run_task, weights=w.astype(np.float64), minlength=nt)  # noqa: E731
    is_dma = mode == DMA
    cached = mode == CACHED
    nb = cfg.sp_banks
    even = (prog.sp_reads + prog.sp_writes).astype(np.float64) / nb
    bank_cycles = prog.sp_atomic_banks * float(cfg.sp_atomic_cycles) + even[:, None]
    return TaskDemands(
        ctrl_slots=slots,
        ctrl_trips=tr,
        dma_words=bc(np.where(is_dma, words, 0)),
        read_words=bc(np.where(is_read, words, 0)),
        write_words=bc(np.where(~is_read, words, 0)) + bc(np.where(kind == ATOMIC, words, 0)),
        atomics=bc(np.where(kind == ATOMIC, ln, 0)),
        cache_accesses=bc(np.where(cached, ln, 0)),
        cache_hits=bc(hits.astype(np.int64)),
        bank_cycles=bank_cycles,
        sp_ops=(prog.sp_reads + prog.sp_atomics + np.where(prog.dma_cmds > 0, 0, prog.sp_writes)).astype(np.float64),
    )
