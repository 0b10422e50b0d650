"""Simulator-agnostic tile testbench: driver, monitor, model and checker of `rtl.array`.

`TileBench` is a cycle-stepped state machine; a simulator loop (cocotb, or Amaranth's own
simulator in the unit tests) calls, once per clock cycle::

    ins = bench.inputs()            # drive: rst, act_valid/payload, load_valid/payload
    ...apply ins, let combinational logic settle...
    bench.observe(act_ready, load_ready, out_valid, out_payload)

What it checks, per tile:

* **values** — every output beat equals `dataflow.contract.golden_ws` / `golden_os` (with the
  array's ``acc_width`` wrap) and an independent numpy computation of the same tile, bit for bit;
* **span and hold** — in a scenario without stalls, each tile's accepted span (first to last
  input, inclusive) equals ``tile_timing(..., prev_span=<previous tile's span>).span_cycles``:
  ``T``, plus the OS short-tile hold where the contract charges one, and nothing else;
* **latency** — cycles from the tile's first accepted input to its last output, counted
  inclusively, equal ``latency_cycles - start_cycles`` of the contract (without stalls), or the
  contract's latency of the unheld tile plus the cycles the input was held (with stalls);
* **interval** — for back-to-back tiles with no input or load stalls between their starts,
  ``first(k+1) - first(k)`` equals the contract's interval of a tile that streamed the previous
  tile's accepted span, plus tile ``k+1``'s ``start_cycles`` (the hold of a one-step OS tile).

A reset in the middle of a tile (``reset_at_tile``) asserts ``rst`` for a few cycles; every tile
whose output was not complete is then sent again from scratch (weights included), and no output
may appear for the cut tile.  Mismatches are collected as readable strings naming the tile (its
source and seed), the expected and observed values and cycles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dataflow.contract import golden_os, golden_ws, tile_timing, wrap

from .layouts import pack_os_act, pack_ws_act, pack_ws_load, unpack_out

__all__ = ["Tile", "TileBench", "random_tiles", "quantize_int8", "numpy_ws", "numpy_os"]


@dataclass
class Tile:
    """One tile: WS ``acts[T,R,W]``, ``w[R,C,P]``, ``idx[R,C,P]``; OS ``w``/``idx`` are ``[T,C,P]``.

    ``ref`` is an independent numpy reference of the outputs where the tile was cut from a GEMM
    (the dense matmul of the masked operands); ``None`` for random tiles.
    """

    acts: np.ndarray
    w: np.ndarray
    idx: np.ndarray
    name: str
    ref: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return int(self.acts.shape[0])


def numpy_ws(t: Tile) -> np.ndarray:
    """WS outputs by explicit gather: ``y[t,c] = Σ_r Σ_p w[r,c,p]·acts[t,r,idx[r,c,p]]``."""
    a = t.acts.astype(np.int64)  # [T,R,W]
    g = np.take_along_axis(a[:, :, None, :], t.idx.astype(np.intp)[None], axis=3)  # [T,R,C,P]
    return (g * t.w.astype(np.int64)[None]).sum(axis=(1, 3))


def numpy_os(t: Tile) -> np.ndarray:
    """OS outputs by explicit gather: ``y[r,c] = Σ_t Σ_p w[t,c,p]·acts[t,r,idx[t,c,p]]``."""
    a = t.acts.astype(np.int64)  # [T,R,W]
    T, R, W = a.shape
    idx = np.broadcast_to(t.idx.astype(np.intp)[:, None], (T, R) + t.idx.shape[1:])  # [T,R,C,P]
    g = np.take_along_axis(a[:, :, None, :], idx, axis=3)
    return (g * t.w.astype(np.int64)[:, None]).sum(axis=(0, 3))


# ----------------------------------------------------------------------------- tile sources
def _nm_indices(rng: np.random.Generator, shape: tuple, n: int, m: int, identity: bool) -> np.ndarray:
    """Positions of ``n`` of ``m`` lanes, ascending, for every leading index (identity if asked)."""
    lead = int(np.prod(shape)) if shape else 1
    if identity:
        return np.broadcast_to(np.arange(n), (*shape, n)).copy()
    keys = rng.random((lead, m))
    pos = np.sort(np.argsort(keys, axis=1)[:, :n], axis=1)
    return pos.reshape(*shape, n)


def random_tiles(seed: int, count: int, *, dataflow: str, rows: int, cols: int, n: int, m: int,
                 width: int, steps: tuple[int, int] = (1, 24), dense_every: int = 5) -> list[Tile]:
    """``count`` random tiles from ``seed`` (values over the full signed range, extremes included).

    Every ``dense_every``-th tile uses identity positions (dense mode on the same datapath).
    """
    rng = np.random.default_rng(seed)
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    out = []
    for k in range(count):
        T = int(rng.integers(steps[0], steps[1] + 1))
        acts = rng.integers(lo, hi + 1, size=(T, rows, m), dtype=np.int64)
        lead = (rows, cols) if dataflow == "ws" else (T, cols)
        w = rng.integers(lo, hi + 1, size=(*lead, n), dtype=np.int64)
        if k % 7 == 3:  # saturate some operands to the extremes
            acts[...] = rng.choice([lo, hi], size=acts.shape)
            w[...] = rng.choice([lo, hi], size=w.shape)
        identity = dense_every > 0 and k % dense_every == dense_every - 1
        idx = _nm_indices(rng, lead, n, m, identity)
        out.append(Tile(acts, w, idx, f"random(seed={seed}, k={k}, T={T}, identity={identity})"))
    return out


def quantize_int8(w: np.ndarray) -> np.ndarray:
    """Symmetric per-tensor int8 quantisation: ``round(w / (max|w| / 127))`` in ``[-127, 127]``."""
    w = np.asarray(w, dtype=np.float64)
    scale = float(np.max(np.abs(w))) / 127.0 or 1.0
    return np.clip(np.rint(w / scale), -127, 127).astype(np.int64)


# ----------------------------------------------------------------------------- the bench
@dataclass
class _Run:
    """Per-tile record of one attempt (reset clears it)."""

    first_in: int | None = None
    last_in: int | None = None
    accepted: int = 0
    stalled: bool = False  # an input or load stall was chosen by the bench inside this tile
    out_beats: int = 0
    last_out: int | None = None
    bad: bool = False
    epoch: int = 0


@dataclass
class BenchReport:
    tiles_checked: int = 0
    beats_checked: int = 0
    values_checked: int = 0
    cycles: int = 0
    resets: int = 0
    intervals_checked: int = 0
    errors: list[str] = field(default_factory=list)


class TileBench:
    """Driver + monitor + model + checker for one `SparseArray` configuration (see module doc)."""

    def __init__(self, tiles: list[Tile], *, dataflow: str, rows: int, cols: int, n: int, m: int,
                 width: int, acc_width: int, seed: int = 0, act_stall: float = 0.0,
                 load_stall: float = 0.0, reset_at_tile: int | None = None,
                 reset_cycles: int = 3, max_errors: int = 20) -> None:
        self.tiles = tiles
        self.dataflow, self.rows, self.cols, self.n, self.m = dataflow, rows, cols, n, m
        self.width, self.acc_width = width, acc_width
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.act_stall, self.load_stall = act_stall, load_stall
        self.reset_at_tile = reset_at_tile
        self.reset_cycles = reset_cycles
        self.max_errors = max_errors
        self.report = BenchReport()
        self._prepare()
        self._restart(0)
        self.cycle = 0
        self._rst_left = 0
        self._cur = None

    # -- model: expected outputs and packed beats, precomputed once per tile
    def _prepare(self) -> None:
        ws = self.dataflow == "ws"
        self._act_words, self._load_words, self._expect = [], [], []
        for k, t in enumerate(self.tiles):
            T = t.steps
            if ws:
                gold = golden_ws(t.acts, t.w, t.idx, acc_bits=self.acc_width)
                ref = wrap(numpy_ws(t), self.acc_width)
                words = [pack_ws_act(t.acts[s], self.width, first=s == 0, last=s == T - 1)
                         for s in range(T)]
                loads = [pack_ws_load(t.w[r], t.idx[r], self.m, self.width)
                         for r in reversed(range(self.rows))]
                beats = [gold[s] for s in range(T)]
            else:
                gold = golden_os(t.acts, t.w, t.idx, acc_bits=self.acc_width)
                ref = wrap(numpy_os(t), self.acc_width)
                words = [pack_os_act(t.acts[s], t.w[s], t.idx[s], self.width,
                                     first=s == 0, last=s == T - 1) for s in range(T)]
                loads = []
                beats = [gold[r] for r in reversed(range(self.rows))]
            if not np.array_equal(gold, ref):
                self._error(f"model: golden and numpy disagree on tile {k} {t.name}")
            if t.ref is not None and not np.array_equal(gold, wrap(t.ref, self.acc_width)):
                self._error(f"model: golden and the GEMM's numpy matmul disagree on tile {k} {t.name}")
            self._act_words.append(words)
            self._load_words.append(loads)
            self._expect.append(beats)

    def _restart(self, k0: int) -> None:
        """(Re)start streaming at tile ``k0`` with fresh records from there on."""
        self.ai, self.at = k0, 0      # next act beat: tile, step
        self.li, self.lb = k0, 0      # next load beat: tile, beat
        self.oi, self.ob = k0, 0      # next expected output: tile, beat
        if not hasattr(self, "runs"):
            self.runs = [_Run() for _ in self.tiles]
        self.epoch = getattr(self, "epoch", -1) + 1
        for k in range(k0, len(self.tiles)):
            self.runs[k] = _Run(epoch=self.epoch)
        self._reset_done = getattr(self, "_reset_done", False)

    def _error(self, msg: str) -> None:
        if len(self.report.errors) < self.max_errors:
            self.report.errors.append(f"[seed={self.seed}] {msg}")

    @property
    def done(self) -> bool:
        return self.oi >= len(self.tiles) and self._rst_left == 0

    # -- driver
    def inputs(self) -> dict:
        """The port values for this cycle (call once per cycle, before `observe`)."""
        ins = {"rst": 0, "act_valid": 0, "act_payload": 0, "load_valid": 0, "load_payload": 0}
        if self._rst_left:
            ins["rst"] = 1
            self._cur = ins
            return ins
        if (self.reset_at_tile is not None and not self._reset_done
                and self.ai < len(self.tiles) and self.ai == self.reset_at_tile and self.at == max(1, self.tiles[self.ai].steps // 2)
                and self.tiles[self.ai].steps > 1):
            self._reset_done = True
            self._rst_left = self.reset_cycles
            self.report.resets += 1
            ins["rst"] = 1
            self._cur = ins
            return ins
        if self.ai < len(self.tiles):
            if self.act_stall and self.rng.random() < self.act_stall:
                if self.runs[self.ai].first_in is not None or self.at == 0:
                    self.runs[self.ai].stalled = True
                    if self.ai > 0:
                        self.runs[self.ai - 1].stalled = True
            else:
                ins["act_valid"] = 1
                ins["act_payload"] = self._act_words[self.ai][self.at]
        if self.dataflow == "ws" and self.li < len(self.tiles):
            if self.load_stall and self.rng.random() < self.load_stall:
                for k in (self.li - 2, self.li - 1):
                    if k >= 0:
                        self.runs[k].stalled = True
            else:
                ins["load_valid"] = 1
                ins["load_payload"] = self._load_words[self.li][self.lb]
        self._cur = ins
        return ins

    # -- monitor + checker
    def observe(self, act_ready: int, load_ready: int, out_valid: int, out_payload: int) -> None:
        """What the circuit showed this cycle (ready after the inputs settled, registered outputs)."""
        ins, cyc = self._cur, self.cycle
        self.cycle += 1
        self.report.cycles += 1
        if ins["rst"]:
            if self._rst_left:
                self._rst_left -= 1
                if self._rst_left == 0:
                    self._restart(self.oi)  # re-send every tile whose output is incomplete
            return
        if out_valid:
            self._check_beat(cyc, out_payload)
        if ins["act_valid"] and act_ready:
            run = self.runs[self.ai]
            if self.at == 0:
                run.first_in = cyc
            run.last_in = cyc
            run.accepted += 1
            self.at += 1
            if self.at == self.tiles[self.ai].steps:
                self.ai, self.at = self.ai + 1, 0
        if ins["load_valid"] and load_ready:
            self.lb += 1
            if self.lb == self.rows:
                self.li, self.lb = self.li + 1, 0

    def _check_beat(self, cyc: int, word: int) -> None:
        if self.oi >= len(self.tiles):
            self._error(f"cycle {cyc}: unexpected output beat after the last tile")
            return
        k, b = self.oi, self.ob
        run, tile = self.runs[k], self.tiles[k]
        exp = self._expect[k][b]
        got, first, last = unpack_out(word, self.cols, self.acc_width)
        nb = len(self._expect[k])
        self.report.beats_checked += 1
        self.report.values_checked += self.cols
        if run.first_in is None:
            self._error(f"cycle {cyc}: output beat for tile {k} {tile.name} before its first input")
            run.bad = True
        if not np.array_equal(exp, got) or first != (b == 0) or last != (b == nb - 1):
            run.bad = True
            what = "step" if self.dataflow == "ws" else "row"
            at = b if self.dataflow == "ws" else self.rows - 1 - b
            self._error(
                f"tile {k} {tile.name}: {what} {at} at cycle {cyc}: expected {exp.tolist()} "
                f"(first={b == 0}, last={b == nb - 1}), observed {got.tolist()} "
                f"(first={first}, last={last}); tile acts={tile.acts.tolist()} "
                f"w={tile.w.tolist()} idx={tile.idx.tolist()}")
        run.out_beats += 1
        self.ob += 1
        if self.ob == nb:
            run.last_out = cyc
            self._check_tile(k)
            self.oi, self.ob = k + 1, 0

    def _check_tile(self, k: int) -> None:
        run, tile = self.runs[k], self.tiles[k]
        T = tile.steps
        span = run.last_in - run.first_in + 1
        lat = run.last_out - run.first_in + 1
        kw = dict(rows=self.rows, cols=self.cols)
        prev = self.runs[k - 1] if k > 0 else None
        if prev is not None and (prev.epoch != run.epoch or prev.first_in is None
                                 or prev.last_in is None):
            prev = None  # first tile after a reset: nothing before it in the array
        pspan = prev.last_in - prev.first_in + 1 if prev is not None else None
        exact = not self.act_stall and not self.load_stall
        if exact:
            tt = tile_timing(self.dataflow, stream_len=T, prev_span=pspan, **kw)
            if span != tt.span_cycles:
                run.bad = True
                self._error(f"tile {k} {tile.name}: input took {span} cycles for {T} steps, "
                            f"expected {tt.span_cycles} (hold {tt.hold_cycles - tt.start_cycles} "
                            f"after a tile of span {pspan}) with no stall")
            exp_lat = tt.latency_cycles - tt.start_cycles
            why = f"tile_timing latency {tt.latency_cycles} - {tt.start_cycles} held before the start"
        else:
            tt = tile_timing(self.dataflow, stream_len=T, **kw)
            exp_lat = tt.latency_cycles + (span - T)
            why = f"tile_timing latency {tt.latency_cycles} + {span - T} held input cycles"
        if lat != exp_lat:
            run.bad = True
            self._error(f"tile {k} {tile.name}: latency {lat} cycles (first input at cycle "
                        f"{run.first_in}, last output at {run.last_out}), expected {exp_lat} "
                        f"= {why}")
        if prev is not None and prev.last_out is not None and not prev.stalled and not run.stalled:
            exp_int = (tile_timing(self.dataflow, stream_len=pspan, **kw).interval_cycles
                       + tile_timing(self.dataflow, stream_len=T, prev_span=pspan, **kw).start_cycles)
            got_int = run.first_in - prev.first_in
            self.report.intervals_checked += 1
            if got_int != exp_int:
                run.bad = True
                self._error(f"tile {k} {tile.name}: started {got_int} cycles after tile {k - 1}, "
                            f"expected interval {exp_int} (tile {k - 1} span {pspan})")
        if not run.bad:
            self.report.tiles_checked += 1
