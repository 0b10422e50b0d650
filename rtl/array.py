"""The R×C N:M sparse MAC array: `SparsePE`s, skew/deskew registers and control.

External interface (un-skewed; skew and deskew registers are inside)
--------------------------------------------------------------------
* ``act`` (stream in, valid/ready): one beat per step.  WS: ``{data[rows][m], first, last}``; OS:
  ``{data[rows][m], w[cols]{w[n], idx[n]}, first, last}``.  ``first``/``last`` mark a tile's first
  and last step (a one-step tile has both).
* ``load`` (stream in, WS only): one beat = the weights of one PE row ``{w[n], idx[n]}[cols]``.
  A tile's ``rows`` beats are sent **bottom row first** (row ``rows-1``, ..., row 0).
* ``out`` (valid, no back-pressure, fixed latency): ``{data[cols], first, last}``.  WS: one beat
  per step ``y[t, :]``; OS: ``rows`` beats per tile, row ``rows-1`` first (``first``) down to row 0
  (``last``).

WS: weight-stationary with double-buffered weights
--------------------------------------------------
Load beats enter a per-column shadow chain (column ``c`` through ``c`` skew registers) and travel
down, one row per cycle, to the row named by their tag; the shadow registers take the next tile
while the current one streams.  ``load.ready`` is high while fewer than ``rows`` beats of the next
tile have been accepted; an ``act`` beat with ``first`` is accepted only when the next tile's
weights are complete (``ready = ~first | full``, where the last beat may arrive in the same cycle).
The first beat of a tile swaps shadow -> active in each PE as it reaches it (diagonally with the
data), so the loads for the tile after may start the cycle after ``first`` was accepted.

OS: output stationary with double-buffered results
--------------------------------------------------
Each PE accumulates; on ``last`` its result goes to an output register that is one stage of a
per-column drain chain.  Column ``c`` drains ``rows`` values, bottom first, starting when ``last``
reaches its bottom PE.  A beat flagged ``first`` is accepted only ``>= rows`` cycles after the
previous ``first``, and one flagged ``last`` only ``>= rows`` cycles after the previous ``last``, so
a drain never collides with the next one.  With tiles of equal length this costs nothing beyond
``interval = max(T, rows)``; a tile shorter than ``rows`` right after a longer one has its last
step held (ready low) until the drain is free, which adds those held cycles to its latency.

Cycles (``T`` steps, no stalls; a first input accepted in cycle 0, last output valid in cycle
L-1 gives latency L) — the timing contract `dataflow.contract.tile_timing` states the same, the
short-tile hold included:

* WS: interval ``max(T, rows)``, latency ``T + rows + cols + 1`` (input register, ``rows-1`` row
  skew + ``cols`` PE hops, one PE register per row on the psum path, ``cols-1-c`` deskew, output
  register).
* OS: interval ``max(T, rows)``, latency ``T + 2·rows + cols`` (the same fill, then ``rows`` drain
  beats); a tile of ``T < rows`` steps after one of span ``S`` is held
  ``max(0, min(S, rows) - T)`` cycles (on its last step; a one-step tile on its only step).

Input stalls (``valid`` low inside a tile) add exactly their number of cycles to the latency.
Reset (``rst``, synchronous, active high) clears every register: a tile cut by a reset produces
no further output, and the weights must be loaded again.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from workloads.errors import InputError

from .layouts import (
    index_bits,
    os_act_layout,
    out_layout,
    pe_weights_layout,
    ws_act_layout,
    ws_load_layout,
)
from .pe import SparsePE, act_beat_layout, check_params, ws_chain_layout

__all__ = ["SparseArray"]


def _delay(m: Module, sig, n: int, name: str):
    """``sig`` delayed by ``n`` clock cycles (a chain of registers)."""
    cur = sig
    for i in range(n):
        nxt = Signal.like(cur, name=f"{name}_d{i + 1}")
        m.d.sync += nxt.eq(cur)
        cur = nxt
    return cur


class SparseArray(wiring.Component):
    """R×C sparse MAC array for N:M (``n`` multipliers, ``m``-wide windows) — see module docstring.

    ``SparseArray(rows=4, cols=3, n=2, m=4, width=8)`` has read-only ``rows``, ``cols``, ``n``,
    ``m``, ``width``, ``acc_width`` (default 32), ``dataflow`` (default ``"ws"``), ``index_bits``.
    Bad parameters are rejected with the value shown:

    >>> SparseArray(rows=0, cols=3, n=2, m=4)
    Traceback (most recent call last):
    ...
    workloads.errors.InputError: SparseArray: rows must be in 1..256, got 0
    """

    def __init__(self, *, rows: int, cols: int, n: int, m: int, width: int = 8,
                 acc_width: int = 32, dataflow: str = "ws") -> None:
        try:
            check_params("SparseArray", rows=rows, cols=cols, n=n, m=m, width=width,
                         acc_width=acc_width, dataflow=dataflow)
        except InputError:
            self._MustUse__silence = True  # a rejected component is not an unused one
            raise
        self._rows, self._cols, self._n, self._m = rows, cols, n, m
        self._width, self._acc_width, self._dataflow = width, acc_width, dataflow
        out_sig = wiring.Signature({"valid": Out(1), "payload": Out(out_layout(cols, acc_width))})
        if dataflow == "ws":
            members = {
                "act": In(stream.Signature(ws_act_layout(rows, m, width))),
                "load": In(stream.Signature(ws_load_layout(cols, n, m, width))),
                "out": Out(out_sig),
            }
        else:
            members = {
                "act": In(stream.Signature(os_act_layout(rows, cols, n, m, width))),
                "out": Out(out_sig),
            }
        super().__init__(members)

    rows = property(lambda self: self._rows, doc="PE rows R.")
    cols = property(lambda self: self._cols, doc="PE columns C.")
    n = property(lambda self: self._n, doc="Multipliers per PE (N of N:M).")
    m = property(lambda self: self._m, doc="Window lanes per PE (M of N:M).")
    width = property(lambda self: self._width, doc="Signed operand width in bits.")
    acc_width = property(lambda self: self._acc_width, doc="Partial-sum / output width in bits.")
    dataflow = property(lambda self: self._dataflow, doc="'ws' or 'os'.")

    @property
    def index_bits(self) -> int:
        return index_bits(self._m)

    @property
    def tag_bits(self) -> int:
        """Width of the WS load-chain row tag."""
        return max(1, (self._rows - 1).bit_length())

    def params(self) -> dict:
        """The parameters as plain data (for the export JSON)."""
        return {"rows": self._rows, "cols": self._cols, "n": self._n, "m": self._m,
                "width": self._width, "acc_width": self._acc_width, "dataflow": self._dataflow,
                "index_bits": self.index_bits}

    # ------------------------------------------------------------------ elaboration
    def elaborate(self, platform) -> Module:
        m = Module()
        R, C = self._rows, self._cols
        pes = [[SparsePE(n=self._n, m=self._m, width=self._width, acc_width=self._acc_width,
                         dataflow=self._dataflow, tag_bits=self.tag_bits)
                for _ in range(C)] for _ in range(R)]
        for r in range(R):
            for c in range(C):
                m.submodules[f"pe_{r}_{c}"] = pes[r][c]
        if self._dataflow == "ws":
            self._elaborate_ws(m, pes)
        else:
            self._elaborate_os(m, pes)
        return m

    def _feed_rows(self, m: Module, pes, in_reg) -> None:
        """Input register -> row skew (row r delayed r cycles) -> PE(r, 0); rows flow right."""
        beat = act_beat_layout(self._m, self._width)
        for r in range(self._rows):
            row_in = Signal(beat, name=f"row{r}_in")
            m.d.comb += [row_in.data.eq(in_reg.data[r]), row_in.valid.eq(in_reg.valid),
                         row_in.first.eq(in_reg.first), row_in.last.eq(in_reg.last)]
            m.d.comb += pes[r][0].a_in.eq(_delay(m, row_in, r, f"rskew{r}"))
            for c in range(1, self._cols):
                m.d.comb += pes[r][c].a_in.eq(pes[r][c - 1].a_out)

    def _elaborate_ws(self, m: Module, pes) -> None:
        R, C = self._rows, self._cols
        act, load, out = self.act, self.load, self.out

        # --- handshake: how many beats of the next tile's weights are in the shadow chain
        pending = Signal(range(R + 1))
        full_now = Signal()
        m.d.comb += [
            load.ready.eq(pending < R),
            full_now.eq((pending == R) | ((pending == R - 1) & load.valid)),
            act.ready.eq(~act.payload.first | full_now),
        ]
        act_fire = act.valid & act.ready
        load_fire = load.valid & load.ready
        with m.If(act_fire & act.payload.first):
            m.d.sync += pending.eq(0)
        with m.Elif(load_fire):
            m.d.sync += pending.eq(pending + 1)

        # --- activations: input register, then skewed rows
        in_reg = Signal(data.StructLayout({"data": ws_act_layout(R, self._m, self._width)["data"].shape,
                                           "valid": 1, "first": 1, "last": 1}))
        m.d.sync += [in_reg.data.eq(act.payload.data), in_reg.first.eq(act.payload.first),
                     in_reg.last.eq(act.payload.last), in_reg.valid.eq(act_fire)]
        self._feed_rows(m, pes, in_reg)

        # --- weights: beat k of a tile goes to row R-1-k; column c skewed by c cycles
        chain = ws_chain_layout(self._n, self._m, self._width, self.tag_bits)
        for c in range(C):
            head = Signal(chain, name=f"wl_head{c}")
            m.d.comb += [head.wt.eq(load.payload[c]), head.tag.eq(R - 1 - pending),
                         head.valid.eq(load_fire)]
            m.d.comb += pes[0][c].wl_in.eq(_delay(m, head, c, f"wskew{c}"))
            for r in range(1, R):
                up = pes[r - 1][c].wl_out
                m.d.comb += [pes[r][c].wl_in.wt.eq(up.wt), pes[r][c].wl_in.tag.eq(up.tag),
                             pes[r][c].wl_in.valid.eq(up.valid & (up.tag >= r))]

        # --- partial sums flow down; bottom row deskewed to one output beat
        for c in range(C):
            m.d.comb += pes[0][c].psum_in.eq(0)
            for r in range(1, R):
                m.d.comb += pes[r][c].psum_in.eq(pes[r - 1][c].psum_out)
        flags = pes[R - 1][C - 1].a_out
        m.d.sync += [out.valid.eq(flags.valid), out.payload.first.eq(flags.first),
                     out.payload.last.eq(flags.last)]
        for c in range(C):
            m.d.sync += out.payload.data[c].eq(
                _delay(m, pes[R - 1][c].psum_out, C - 1 - c, f"dskew{c}"))

    def _elaborate_os(self, m: Module, pes) -> None:
        R, C = self._rows, self._cols
        act, out = self.act, self.out

        # --- handshake: tiles start >= R cycles apart, and their last steps too (drain chain)
        since_first = Signal(range(R + 1), init=R)
        since_last = Signal(range(R + 1), init=R)
        m.d.comb += act.ready.eq((~act.payload.first | (since_first >= R))
                                 & (~act.payload.last | (since_last >= R)))
        act_fire = act.valid & act.ready
        for cnt, flag in ((since_first, act.payload.first), (since_last, act.payload.last)):
            with m.If(act_fire & flag):
                m.d.sync += cnt.eq(1)
            with m.Elif(cnt < R):
                m.d.sync += cnt.eq(cnt + 1)

        lay = os_act_layout(R, C, self._n, self._m, self._width)
        in_reg = Signal(data.StructLayout({"data": lay["data"].shape, "w": lay["w"].shape,
                                           "valid": 1, "first": 1, "last": 1}))
        m.d.sync += [in_reg.data.eq(act.payload.data), in_reg.w.eq(act.payload.w),
                     in_reg.first.eq(act.payload.first), in_reg.last.eq(act.payload.last),
                     in_reg.valid.eq(act_fire)]
        self._feed_rows(m, pes, in_reg)

        # --- weights stream down the columns, column c skewed by c cycles
        wts = pe_weights_layout(self._n, self._m, self._width)
        for c in range(C):
            col_in = Signal(wts, name=f"col{c}_w")
            m.d.comb += col_in.eq(in_reg.w[c])
            m.d.comb += pes[0][c].wt_in.eq(_delay(m, col_in, c, f"cskew{c}"))
            for r in range(1, R):
                m.d.comb += pes[r][c].wt_in.eq(pes[r - 1][c].wt_out)

        # --- drain: column c shifts its output registers down, bottom first
        beat_valid = Signal(C)
        beat_first = Signal(C)
        beat_last = Signal(C)
        for c in range(C):
            active = Signal(name=f"drain{c}")
            j = Signal(range(R), name=f"drain{c}_j")
            bottom = pes[R - 1][c].a_in
            with m.If(bottom.valid & bottom.last):
                m.d.sync += [active.eq(1), j.eq(0)]
            with m.Elif(active):
                m.d.sync += j.eq(j + 1)
                with m.If(j == R - 1):
                    m.d.sync += active.eq(0)
            m.d.comb += pes[0][c].o_in.eq(0)
            for r in range(R):
                if r:
                    m.d.comb += pes[r][c].o_in.eq(pes[r - 1][c].o_out)
                m.d.comb += pes[r][c].o_shift.eq(active & (j < r))
            dv = _delay(m, active, C - 1 - c, f"ovskew{c}")
            df = _delay(m, active & (j == 0), C - 1 - c, f"ofskew{c}")
            dl = _delay(m, active & (j == R - 1), C - 1 - c, f"olskew{c}")
            m.d.comb += [beat_valid[c].eq(dv), beat_first[c].eq(df), beat_last[c].eq(dl)]
            m.d.sync += out.payload.data[c].eq(
                _delay(m, pes[R - 1][c].o_out, C - 1 - c, f"odskew{c}"))
        m.d.sync += [out.valid.eq(beat_valid[C - 1]), out.payload.first.eq(beat_first[C - 1]),
                     out.payload.last.eq(beat_last[C - 1])]
