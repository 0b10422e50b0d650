"""Static structure of the fabric and the per-task demand each task puts on it.

* **Address map.**  Word ``w`` (8 bytes) lives at controller ``(w // interleave_words) mod N``
  (``interleaved``; the preset interleaves one 64-byte cache line per controller) or
  ``w // ceil(words / N)`` (``block``), N = one controller per core over all dies.
* **Mesh.**  Each die is a ``mesh_rows x mesh_cols`` mesh of routers with directed links
  between neighbours, routing XY.  Cores sit at ``core_routers``; the other routers feed the
  optical I/O.  Dies are joined all-to-all by one optical link per ordered die pair (the mesh
  protocol extended over optics; a die's optical ports are spread over its peers).  A pair's
  ports form ``min(ports, n_io)`` parallel sub-links at different I/O routers; core ``p``
  (local index ``l``) uses sub-link ``s = l mod n_sub``, leaving die ``d`` at I/O router
  ``io[(s + e) mod n_io]`` and entering die ``e`` at ``io[(s + d) mod n_io]``: a request routes
  XY to that I/O router, crosses, then routes XY on die ``e`` to the controller.
* **Messages.**  A memory request is one message out and (for reads and atomics) one back: a
  read request is ``header_bytes``, a response ``header_bytes`` + 8 bytes per word, a write
  ``header_bytes`` + 8 bytes per word (posted, no acknowledgement), an atomic
  ``header_bytes`` + 8 each way.  A request covers one word (uncached accesses, DMA words),
  or one line piece (cached reads and write-combined writes: the part of a line inside one
  interleave unit).  Each message crosses every link of its route.
* **Latency** of a round trip from core ``p`` to controller ``c`` (unloaded): DRAM latency +
  hops out and back × hop latency (+ die-link latency per crossing).  Queueing is added on top
  by the simulator (`archsim.piuma.model`: calendars + `archsim.piuma.queueing`;
  `archsim.piuma.detail`: per-access FIFO servers).
* **Caches.**  Contiguous cached runs are streams: line fills (one request and one round trip
  per line piece), neither looked up nor retained.  Single-word cached reads (random gathers)
  are looked up one by one in a direct-mapped cache per pipeline (hit = the set still holds
  that line), over an access order fixed before the simulation: the pipeline's threads
  interleaved round-robin, one access per thread per turn, each thread's accesses in its
  static task order (for dynamic partitioning the cyclic assignment stands in for the unknown
  order).  The hit/miss outcome is therefore decided per access but does not depend on
  simulated timing; streams do not evict gathered lines.  Both simulation levels use the same
  outcome (`cache_hit_flags`).

`task_demands` turns a `Program` into per-task arrays (controller slots, round trips, message
bytes per controller, DMA words, scratchpad bank cycles ...), all vectorised over runs, so the
fast model only adds per-task vectors at run time.  Under the interleaved mapping the
per-controller sums cost O(runs) whatever the number of controllers (`_Ramp`: a run's words at
each controller are whole periods plus two steps and two edge units, summed per task by
cumulative sums over the controllers); the per-controller pass (O(runs × controllers)) serves
the block mapping and is the reference the tests check the sums against.  On a 3,000-task
block of inner-product SpGEMM (R-MAT s13) the ramp is 7.4× faster on one die and 50.6× on 16
(128 controllers; `benchmarks/piuma_demands.py`, BENCHMARKS.md).

A streamed run passes ``cache_state`` (the line each pipeline's cache set holds, carried from
block to block; `new_cache_state`), so a block's first accesses hit what the previous left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from archsim.piuma.config import PiumaConfig
from dataflow.piuma import Assignment, Program
from dataflow.piuma.program import ATOMIC, CACHED, DMA, READ, WRITE

__all__ = ["Topology", "TaskDemands", "task_demands", "pipeline_of_thread", "cache_hit_flags", "request_plan", "WORD_BYTES", "new_cache_state"]

WORD_BYTES = 8


def _mesh_geometry(cfg: PiumaConfig) -> tuple[int, int, list[int], list[int]]:
    """(rows, cols, router of each local core, I/O routers) of one die."""
    net, C = cfg.network, cfg.cores_per_die
    cols = net.mesh_cols
    if net.core_routers and len(net.core_routers) >= C:
        cores = list(net.core_routers[:C])
        rows = net.mesh_rows or max(net.core_routers) // cols + 1
    elif net.core_routers:  # more cores than listed routers: rows of cores between I/O rows
        core_rows = -(-C // cols)
        rows = core_rows + 2
        cores = list(range(cols, cols + C))
    else:
        cols = min(cols, C)
        rows = max(net.mesh_rows, -(-C // cols))
        cores = list(range(C))
    used = set(cores)
    io = [r for r in range(rows * cols) if r not in used] or cores
    return rows, cols, cores, io


@dataclass(frozen=True)
class Topology:
    """Links, routes and unloaded latencies of ``cfg``.

    ``paths[p][c]`` is the tuple of link ids from core ``p``'s router to controller ``c``'s
    router (controller ``c`` sits at core ``c``); the way back is ``paths[c][p]``.
    ``out_T[p]`` / ``back_T[p]`` are sparse (links x controllers) incidence matrices of those
    paths, so a task's link load is ``out_T[p] @ out_bytes + back_T[p] @ back_bytes``.
    """

    n_links: int
    link_names: tuple[str, ...]
    link_bytes_per_cycle: np.ndarray
    link_latency: np.ndarray  # cycles a message spends on the link (hop or optical crossing)
    is_die_link: np.ndarray
    paths: tuple[tuple[tuple[int, ...], ...], ...]
    out_T: tuple[sp.csr_array, ...]
    back_T: tuple[sp.csr_array, ...]
    hops: np.ndarray  # (cores, controllers) mesh hops one way
    latency: np.ndarray  # (cores, controllers) unloaded round-trip cycles
    mesh_shape: tuple[int, int]
    core_routers: tuple[int, ...]
    io_routers: tuple[int, ...]

    @classmethod
    def build(cls, cfg: PiumaConfig) -> "Topology":
        C, net = cfg.cores_per_die, cfg.network
        rows, cols, core_r, io_r = _mesh_geometry(cfg)
        links: dict[tuple, int] = {}
        names: list[str] = []
        caps: list[float] = []
        lats: list[float] = []
        die: list[bool] = []

        def link(key, name, cap, lat, is_die):
            if key not in links:
                links[key] = len(names)
                names.append(name)
                caps.append(cap)
                lats.append(lat)
                die.append(is_die)
            return links[key]

        def xy(d: int, a: int, b: int) -> list[int]:
            (r, c), (r2, c2) = divmod(a, cols), divmod(b, cols)
            out = []
            while c != c2:
                nc = c + (1 if c2 > c else -1)
                out.append(link(("m", d, r * cols + c, r * cols + nc), f"d{d}:r{r * cols + c}->r{r * cols + nc}", net.link_bytes_per_cycle, net.hop_latency_cycles, False))
                c = nc
            while r != r2:
                nr = r + (1 if r2 > r else -1)
                out.append(link(("m", d, r * cols + c, nr * cols + c), f"d{d}:r{r * cols + c}->r{nr * cols + c}", net.link_bytes_per_cycle, net.hop_latency_cycles, False))
                r = nr
            return out

        N = cfg.cores
        nio = len(io_r)
        ports = max(1, net.optical_ports_per_die // max(cfg.dies - 1, 1))
        n_sub = max(1, min(ports, nio))
        paths: list[list[tuple[int, ...]]] = []
        hops = np.zeros((N, N))
        for p in range(N):
            dp, lp = divmod(p, C)
            row = []
            for q in range(N):
                dq, lq = divmod(q, C)
                if dp == dq:
                    path = xy(dp, core_r[lp], core_r[lq])
                    hops[p, q] = len(path)
                else:
                    # the pair's ports form n_sub parallel sub-links at different I/O routers;
                    # a core uses sub-link (its local index mod n_sub)
                    sub = lp % n_sub
                    exit_r, entry_r = io_r[(sub + dq) % nio], io_r[(sub + dp) % nio]
                    a = xy(dp, core_r[lp], exit_r)
                    b = xy(dq, entry_r, core_r[lq])
                    dl = link(("o", dp, dq, sub), f"die{dp}->die{dq}.{sub}", cfg.die_link_bytes_per_cycle / n_sub, net.die_link_latency_cycles, True)
                    path = a + [dl] + b
                    hops[p, q] = len(a) + len(b)
                row.append(tuple(path))
            paths.append(row)
        L = len(names)
        link_lat = np.asarray(lats if lats else [0.0], dtype=np.float64)
        one_way = np.array([[float(link_lat[list(paths[p][q])].sum()) if paths[p][q] else 0.0 for q in range(N)] for p in range(N)])
        lat = cfg.dram.latency_cycles + one_way + one_way.T
        out_T, back_T = [], []
        for p in range(N):
            ro, co, rb, cb = [], [], [], []
            for c in range(N):
                for li in paths[p][c]:
                    ro.append(li)
                    co.append(c)
                for li in paths[c][p]:
                    rb.append(li)
                    cb.append(c)
            shape = (max(L, 1), N)
            out_T.append(sp.csr_array((np.ones(len(ro)), (ro, co)), shape=shape))
            back_T.append(sp.csr_array((np.ones(len(rb)), (rb, cb)), shape=shape))
        return cls(
            n_links=L,
            link_names=tuple(names),
            link_bytes_per_cycle=np.asarray(caps if caps else [1.0]),
            link_latency=link_lat,
            is_die_link=np.asarray(die if die else [False], bool),
            paths=tuple(tuple(r) for r in paths),
            out_T=tuple(out_T),
            back_T=tuple(back_T),
            hops=hops,
            latency=lat,
            mesh_shape=(rows, cols),
            core_routers=tuple(core_r),
            io_routers=tuple(io_r),
        )

    def link_load(self, p: int, out_bytes: np.ndarray, back_bytes: np.ndarray) -> np.ndarray:
        """Bytes on every link when core ``p`` sends ``out_bytes[c]`` to and receives
        ``back_bytes[c]`` from each controller ``c``."""
        dense = self._dense()
        if dense is not None:
            return out_bytes @ dense[0][p] + back_bytes @ dense[1][p]
        return self.out_T[p] @ out_bytes + self.back_T[p] @ back_bytes

    def path_sum(self, p: int, per_link: np.ndarray) -> np.ndarray:
        """Per controller ``c``: Σ of ``per_link`` over the links of p→c and c→p."""
        dense = self._dense()
        if dense is not None:
            return dense[0][p] @ per_link + dense[1][p] @ per_link
        return self.out_T[p].T @ per_link + self.back_T[p].T @ per_link

    def _dense(self):
        """(out, back) as dense (cores, controllers, links) arrays when small, else None."""
        cache = self.__dict__.get("_dense_cache")
        if cache is None:
            N = len(self.out_T)
            if N * N * max(self.n_links, 1) <= 4_000_000:
                cache = (np.stack([m.T.toarray() for m in self.out_T]), np.stack([m.T.toarray() for m in self.back_T]))
            else:
                cache = False
            object.__setattr__(self, "_dense_cache", cache)
        return cache or None

    def bisection_bytes_per_cycle(self) -> float:
        """Bytes per cycle one way across the vertical cut through the middle of one die's mesh
        that carry core-to-core traffic under XY routing (rows holding cores)."""
        rows, cols = self.mesh_shape
        if cols < 2:
            return float("inf")
        core_rows = {r // cols for r in self.core_routers}
        return float(len(core_rows)) * float(self.link_bytes_per_cycle[~self.is_die_link].max() if (~self.is_die_link).any() else 0.0)


@dataclass(frozen=True)
class TaskDemands:
    """Per-task demands (first axis = task id) and program-wide service-time moments."""

    ctrl_slots: np.ndarray  # (tasks, controllers) access slots at each controller
    ctrl_trips: np.ndarray  # (tasks, controllers) round trips in the thread's dependence chain
    out_bytes: np.ndarray  # (tasks, controllers) message bytes towards each controller
    back_bytes: np.ndarray  # (tasks, controllers) message bytes back from each controller
    dma_words: np.ndarray  # (tasks,)
    dma_part: tuple[np.ndarray, np.ndarray, np.ndarray] | None  # DMA words' (slots, out, back) of the three above, or None
    read_words: np.ndarray  # (tasks,)
    write_words: np.ndarray  # (tasks,)
    atomics: np.ndarray  # (tasks,) remote atomics at controllers
    cache_gathers: np.ndarray  # (tasks,) single-word cached reads (looked up)
    cache_hits: np.ndarray  # (tasks,) of which hits
    cache_words: np.ndarray  # (tasks,) cached words accessed (gathers + stream words)
    cache_fills: np.ndarray  # (tasks,) line-piece fills (stream lines + gather misses)
    bank_cycles: np.ndarray  # (tasks, sp_banks)
    sp_ops: np.ndarray  # (tasks,) scratchpad ops in the thread's chain
    sp_atomics: np.ndarray  # (tasks,) scratchpad atomics (each adds its RMW to the chain)
    mem_ops: np.ndarray  # (tasks,) operations the thread issues and waits for (issue groups)
    run_hits: np.ndarray  # (runs,) single-word cached reads that hit (decided before simulation)
    ctrl_residual_slots: float  # E[S^2] / (2 E[S]) of a controller request, in access slots
    link_residual_bytes: float  # E[B^2] / (2 E[B]) of a message, in bytes
    ctrl_reqs: np.ndarray | None = None  # (tasks, controllers) requests (visits) of every kind
    back_reqs: np.ndarray | None = None  # (tasks, controllers) of which answered by a message back


def _unit_counts(lo: np.ndarray, hi: np.ndarray, c: int, N: int, per: int) -> np.ndarray:
    """Units of [lo, hi) (unit ids) at controller c when ``per`` consecutive units go to one
    controller, round-robin over N controllers."""
    period = per * N

    def f(x):  # units u in [0, x) with (u // per) % N == c
        q, r = np.divmod(x, period)
        return q * per + np.clip(r - c * per, 0, per)

    return f(hi) - f(lo)


def pipeline_of_thread(cfg: PiumaConfig, threads: np.ndarray) -> np.ndarray:
    """Global pipeline id of each thread id (threads core-major: MTP threads, then STPs)."""
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
    pipe = pipeline_of_thread(cfg, thr)
    wpl = cfg.cache.line_bytes // WORD_BYTES
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


def cache_hit_flags(prog: Program, cfg: PiumaConfig, assignment: Assignment,
                    cache_state: np.ndarray | None = None) -> np.ndarray:
    """Per run: True when the run is a single-word cached read that hits (see module doc).
    ``cache_state`` (streamed runs) is the caches' content before this block, updated in place."""
    run_task = np.repeat(np.arange(prog.n_tasks, dtype=np.int64), np.diff(prog.run_ptr))
    single = (prog.run_mode == CACHED) & (prog.run_len == 1) & (prog.run_kind == READ)
    hits = np.zeros(prog.n_runs, bool)
    hits[single] = _cache_hits(prog, cfg, run_task, single, assignment, cache_state)
    return hits


@dataclass(frozen=True)
class RequestPlan:
    """Per run: the words it moves (``lo``..``hi`` after line rounding, empty for hits) and the
    request granularity ``g`` (words per request piece; 1 for word accesses)."""

    lo: np.ndarray
    hi: np.ndarray
    gran: np.ndarray
    line_fill: np.ndarray  # cached reads (filled by lines)
    hits: np.ndarray


def request_plan(prog: Program, cfg: PiumaConfig, hits: np.ndarray) -> RequestPlan:
    """How each run turns into requests (shared by both simulation levels)."""
    wpl = cfg.cache.line_bytes // WORD_BYTES
    addr, ln, kind, mode = prog.run_addr, prog.run_len, prog.run_kind, prog.run_mode
    cached = mode == CACHED
    line_fill = cached & (kind == READ)
    lo = addr.copy()
    hi = addr + ln
    lo[line_fill] = (addr[line_fill] // wpl) * wpl
    hi[line_fill] = -(-(addr[line_fill] + ln[line_fill]) // wpl) * wpl
    hi[hits] = lo[hits]  # a hit moves nothing
    g = min(wpl, cfg.dram.interleave_words)
    gran = np.where(cached & (kind != ATOMIC), g, 1).astype(np.int64)
    return RequestPlan(lo, hi, gran, line_fill, hits)


def controller_of_words(words: np.ndarray, cfg: PiumaConfig, total_words: int) -> np.ndarray:
    """Controller owning each word address."""
    N = cfg.controllers
    if cfg.dram.mapping == "interleaved":
        return (words // cfg.dram.interleave_words) % N
    block = -(-max(total_words, 1) // N)
    return np.minimum(words // block, N - 1)


@dataclass(frozen=True)
class _CtrlSums:
    """Per-(task, controller) sums over a program's runs and the service-time moments."""

    slots: np.ndarray  # access slots (words x occupancy)
    trips: np.ndarray  # requests the thread waits for
    reqs: np.ndarray  # requests
    breqs: np.ndarray  # requests answered by a message back
    outb: np.ndarray  # message bytes out
    backb: np.ndarray  # message bytes back
    dma: tuple | None  # (slots, outb, backb) of the DMA runs
    s1: float  # sum over requests of slots, and of slots^2 / requests per (run, controller)
    s2: float
    m1: float  # the same for message bytes
    m2: float


class _Ramp:
    """How the units ``[lo, hi)`` of every run (``unit`` words or request pieces per
    interleave unit, per run) are dealt round-robin to ``N`` controllers, summed per task
    without forming runs x controllers.  With ``P = N·unit``, ``q, r = divmod(x, P)``,
    ``u, e = divmod(r, unit)``, controller ``c`` holds ``q·unit + unit·[c < u] + e·[c = u]`` of
    ``[0, x)`` (`_unit_counts`), so a run's count at ``c`` is ``(q_hi - q_lo)·unit`` plus two
    steps and two points: per task, the steps are a cumulative sum over controllers and the
    points a bincount.  Integer weights give exact (order-free) float sums."""

    def __init__(self, task: np.ndarray, nt: int, N: int, lo: np.ndarray, hi: np.ndarray, unit):
        # (one end at a time, temporaries dropped early: a block has millions of runs)
        P = unit * N
        q, r = np.divmod(hi, P)
        u, self.eh = np.divmod(r, unit)
        del r
        self.kh = task * N
        self.kh += u
        ql, r = np.divmod(lo, P)
        u, self.el = np.divmod(r, unit)
        del r
        self.kl = task * N
        self.kl += u
        del u
        q -= ql
        del ql
        self.full = (q * unit).astype(np.float64)
        self.unit = unit
        self.task, self.nt, self.N = task, nt, N

    def sums(self, w) -> np.ndarray:
        """``(tasks, N)``: sum over each task's runs of ``w`` x the run's units at each controller."""
        nt, N = self.nt, self.N
        w = np.broadcast_to(np.asarray(w, np.float64), self.kh.shape)
        bc = lambda k, x: np.bincount(k, weights=x, minlength=nt * N).reshape(nt, N)  # noqa: E731
        wu = w * self.unit
        step = bc(self.kh, wu) - bc(self.kl, wu)  # +unit for c < u_hi, -unit for c < u_lo
        below = np.cumsum(step[:, ::-1], axis=1)[:, ::-1] - step  # sum over u > c
        point = bc(self.kh, w * self.eh) - bc(self.kl, w * self.el)
        return np.bincount(self.task, weights=w * self.full, minlength=nt)[:, None] + below + point


def _controller_sums(task, nt, lo, hi, g, occ, is_read, is_write, waits, is_dma, cfg: PiumaConfig, total_words: int) -> _CtrlSums:
    """`_CtrlSums` of runs ``[lo, hi)`` (words after line rounding; ``g`` words per request
    piece, 1 or ``g0``, pieces never crossing an interleave unit) under the interleaved mapping,
    in O(runs) whatever the number of controllers (`_Ramp`)."""
    N = cfg.controllers
    U = cfg.dram.interleave_words
    H = float(cfg.network.header_bytes)
    g0 = int(g.max()) if g.size else 1
    pieces = g > 1
    nr, nw = ~is_read, ~is_write
    dma = None
    # one ramp at a time (memory): the words first
    words = _Ramp(task, nt, N, lo, hi, U)
    slots, out_w, back_w = words.sums(occ), words.sums(nr), words.sums(nw)
    if is_dma is not None:
        dr, dw = is_dma & nr, is_dma & nw
        dma = [words.sums(np.where(is_dma, occ, 0.0)), words.sums(dr), words.sums(dw)]
    del words
    # requests: words for g = 1, else pieces of g0 words (U // g0 pieces per interleave unit)
    rlo = np.where(pieces, lo // g0, lo)
    rhi = np.where(pieces, -(-hi // g0), hi)
    runit = np.where(pieces, max(U // g0, 1), U)
    reqr = _Ramp(task, nt, N, rlo, rhi, runit)
    reqs, breqs, trips = reqr.sums(1.0), reqr.sums(nw), reqr.sums(waits)
    if is_dma is not None:
        dma = (dma[0], H * reqr.sums(is_dma) + WORD_BYTES * dma[1], H * reqr.sums(dw) + WORD_BYTES * dma[2])
    del reqr
    # moments: a controller a run covers with whole interleave units only has wc = g·rc, so
    # wc^2 / rc = g·wc; only the controllers of a partial first or last unit need the ratio
    W = (hi - lo).astype(np.float64)
    R = (rhi - rlo).astype(np.float64)
    Q = np.where(pieces, g * W, W)
    part = np.flatnonzero(pieces & (hi > lo) & ((lo % U != 0) | (hi % U != 0)))
    if part.size:
        a, b, ra, rb, ru = lo[part], hi[part], rlo[part], rhi[part], runit[part]
        cf, cl = (a // U) % N, ((b - 1) // U) % N
        two = cl != cf

        def edge(c):
            wc = _unit_counts(a, b, c, N, U).astype(np.float64)
            rc = _unit_counts(ra, rb, c, N, ru).astype(np.float64)
            return wc, np.divide(wc * wc, rc, out=np.zeros_like(wc), where=rc > 0)

        wf, qf = edge(cf)
        wl, ql = edge(cl)
        Q[part] = g[part] * (W[part] - wf - np.where(two, wl, 0.0)) + qf + np.where(two, ql, 0.0)
    xr, xw = nr.astype(np.float64), nw.astype(np.float64)
    out_sum = H * R + WORD_BYTES * xr * W
    back_sum = xw * (H * R + WORD_BYTES * W)
    m2 = H * H * R * (1.0 + xw) + 2 * H * WORD_BYTES * W * (xr + xw) + WORD_BYTES**2 * Q * (xr + xw)
    return _CtrlSums(
        slots=slots, trips=trips, reqs=reqs, breqs=breqs,
        outb=H * reqs + WORD_BYTES * out_w, backb=H * breqs + WORD_BYTES * back_w, dma=dma,
        s1=float((occ * W).sum()), s2=float((occ * occ * Q).sum()), m1=float(out_sum.sum() + back_sum.sum()), m2=float(m2.sum()))


def _controller_sums_dense(task, nt, lo, hi, g, occupancy, is_read, is_write, waits, is_dma, cfg: PiumaConfig, total_words: int) -> _CtrlSums:
    """`_CtrlSums` by one pass over the runs per controller (any mapping; O(runs x controllers):
    the blocked mapping, and the reference `_controller_sums` is checked against)."""
    N = cfg.controllers
    H = float(cfg.network.header_bytes)
    any_dma = is_dma is not None
    dslots = np.zeros((nt, N)) if any_dma else None
    doutb = np.zeros((nt, N)) if any_dma else None
    dbackb = np.zeros((nt, N)) if any_dma else None
    slots = np.zeros((nt, N))
    trips = np.zeros((nt, N))
    reqs = np.zeros((nt, N))
    breqs = np.zeros((nt, N))
    outb = np.zeros((nt, N))
    backb = np.zeros((nt, N))
    s1 = s2 = 0.0  # controller service moments (per request, in slots)
    m1 = m2 = 0.0  # message size moments
    iw = cfg.dram.interleave_words
    block = -(-max(total_words, 1) // N)
    for c in range(N):
        if cfg.dram.mapping == "interleaved":
            wc = _unit_counts(lo, hi, c, N, iw)
            # requests: pieces of g words inside one interleave unit (g divides iw)
            g0 = int(g.max()) if g.size else 1
            rc = np.where(g == 1, wc, _unit_counts(lo // g0, -(-hi // g0), c, N, max(iw // g0, 1)))
        else:
            wc = np.maximum(0, np.minimum(hi, (c + 1) * block) - np.maximum(lo, c * block))
            rc = -(-wc // g)
        wc = wc.astype(np.float64)
        rc = rc.astype(np.float64)
        bc = lambda w: np.bincount(task, weights=w, minlength=nt)  # noqa: E731
        slots[:, c] = bc(wc * occupancy)
        trips[:, c] = bc(np.where(waits, rc, 0.0))
        reqs[:, c] = bc(rc)
        breqs[:, c] = bc(np.where(is_write, 0.0, rc))
        out_w = np.where(is_read, H * rc, H * rc + WORD_BYTES * wc)
        back_w = np.where(is_write, 0.0, H * rc + WORD_BYTES * wc)
        outb[:, c] = bc(out_w)
        backb[:, c] = bc(back_w)
        if any_dma:
            dslots[:, c] = bc(np.where(is_dma, wc * occupancy, 0.0))
            doutb[:, c] = bc(np.where(is_dma, out_w, 0.0))
            dbackb[:, c] = bc(np.where(is_dma, back_w, 0.0))
        per_req = np.divide(wc * occupancy, rc, out=np.zeros_like(wc), where=rc > 0)
        s1 += float((wc * occupancy).sum())
        s2 += float((per_req * wc * occupancy).sum())
        out_sz = np.divide(out_w, rc, out=np.zeros_like(wc), where=rc > 0)
        back_sz = np.divide(back_w, rc, out=np.zeros_like(wc), where=rc > 0)
        m1 += float(out_w.sum() + back_w.sum())
        m2 += float((out_sz * out_w).sum() + (back_sz * back_w).sum())
    return _CtrlSums(slots, trips, reqs, breqs, outb, backb, (dslots, doutb, dbackb) if any_dma else None, s1, s2, m1, m2)


def controller_sum_inputs(prog: Program, cfg: PiumaConfig, hits: np.ndarray) -> tuple:
    """The per-run arguments of `_controller_sums` / `_controller_sums_dense` (task of each run,
    tasks, words ``[lo, hi)`` after line rounding, request granularity, occupancy, read / write
    / waited / DMA flags, the config, the words in use) for ``prog`` with cache ``hits``."""
    kind, mode = prog.run_kind, prog.run_mode
    plan = request_plan(prog, cfg, hits)
    run_task = np.repeat(np.arange(prog.n_tasks, dtype=np.int64), np.diff(prog.run_ptr))
    is_read, is_write, is_dma = kind == READ, kind == WRITE, mode == DMA
    occupancy = np.where(kind == ATOMIC, cfg.dram.atomic_occupancy, 1.0)
    waits = ~is_write & ~is_dma  # reads and atomics the thread waits for (one at a time)
    return (run_task, prog.n_tasks, plan.lo, plan.hi, plan.gran, occupancy, is_read, is_write, waits,
            is_dma if is_dma.any() else None, cfg, prog.total_words)


def task_demands(prog: Program, cfg: PiumaConfig, assignment: Assignment, cache_state: np.ndarray | None = None) -> TaskDemands:
    """Per-task demands of ``prog`` on the fabric ``cfg`` (see module doc)."""
    nt = prog.n_tasks
    H = float(cfg.network.header_bytes)
    ln, mode = prog.run_len, prog.run_mode
    hits = cache_hit_flags(prog, cfg, assignment, cache_state)
    args = controller_sum_inputs(prog, cfg, hits)
    run_task, _, lo, hi, g, _, is_read, is_write, _, _, _, _ = args
    words = hi - lo
    is_atomic = prog.run_kind == ATOMIC
    is_dma = mode == DMA
    cs = (_controller_sums if cfg.dram.mapping == "interleaved" else _controller_sums_dense)(*args)
    slots, trips, reqs, breqs, outb, backb = cs.slots, cs.trips, cs.reqs, cs.breqs, cs.outb, cs.backb
    bcnt = lambda w: np.bincount(run_task, weights=np.asarray(w, np.float64), minlength=nt)  # noqa: E731
    cached = mode == CACHED
    single = cached & (ln == 1) & is_read
    gath_miss = single & ~hits
    stream = cached & ~single
    # line pieces of cached streams (reads and write-combined writes)
    pieces = np.where(stream, -(-hi // g) - lo // g, 0)
    nb = cfg.sp_banks
    even = (prog.sp_reads + prog.sp_writes).astype(np.float64) / nb
    bank_cycles = prog.sp_atomic_banks * float(cfg.sp_atomic_cycles) + even[:, None]
    sp_ops = (prog.sp_reads + prog.sp_atomics + np.where(prog.dma_cmds > 0, 0, prog.sp_writes)).astype(np.float64)
    return TaskDemands(
        ctrl_slots=slots,
        ctrl_trips=trips,
        out_bytes=outb,
        back_bytes=backb,
        dma_words=bcnt(np.where(is_dma, words, 0)),
        dma_part=cs.dma,
        read_words=bcnt(np.where(~is_write, words, 0)),
        write_words=bcnt(np.where(~is_read, words, 0)),
        atomics=bcnt(np.where(is_atomic, ln, 0)),
        cache_gathers=bcnt(single),
        cache_hits=bcnt(hits),
        cache_words=bcnt(np.where(cached & ~is_atomic, ln, 0)),
        cache_fills=bcnt(pieces + gath_miss),
        bank_cycles=bank_cycles,
        sp_ops=sp_ops,
        sp_atomics=prog.sp_atomics.astype(np.float64),
        mem_ops=trips.sum(axis=1) + sp_ops + prog.dma_cmds,
        run_hits=hits,
        ctrl_residual_slots=cs.s2 / (2.0 * cs.s1) if cs.s1 > 0 else 0.5,
        link_residual_bytes=cs.m2 / (2.0 * cs.m1) if cs.m1 > 0 else 0.5 * (H + WORD_BYTES),
        ctrl_reqs=reqs,
        back_reqs=breqs,
    )
