"""The sparse processing element (PE) of the N:M sparse MAC array.

A PE built for N:M has ``P = n`` multipliers and sees an activation window of ``W = m`` signed
values per cycle.  It holds ``P`` signed weights with their ``ceil(log2 m)``-bit positions in the
window; per cycle it selects the ``P`` activations with ``P`` ``m:1`` muxes, multiplies them by the
weights and reduces the products in an adder tree (one combinational cycle, so the accumulator
latency of the timing contract is 1).

Dense mode is the same datapath with identity positions (``idx[p] = p``; window lanes ``>= P``
unused); a fully dense array is simply the instance ``n == m``.

Two dataflows (chosen at elaboration, ``dataflow="ws"`` or ``"os"``):

* **WS** (weight stationary): the PE keeps an *active* weight set ``A`` and a *shadow* set ``S``.
  ``S`` is one stage of a per-column shift chain (``wl_in`` -> ``wl_out``, written when
  ``wl_in.valid``) through which the next tile's weights travel down while the current tile
  streams.  When an activation beat flagged ``first`` passes, the PE computes with ``S`` and copies
  ``S`` into ``A`` (the swap travels diagonally through the array with the data).
  ``psum_out <= psum_in + Σ_p w[p]·a[idx[p]]``; ``a_out <= a_in`` (registered).
* **OS** (output stationary): weights stream down the columns (``wt_in`` -> ``wt_out``,
  registered), activations along the rows (``a_in`` -> ``a_out``).  ``acc <= (first ? 0 : acc) + dot``
  on valid beats; on the ``last`` beat the result goes to the output register ``O``, which is
  also one stage of a per-column drain chain (``o_in`` -> ``o_out``, shifted when ``o_shift``).

Timing granularity: exact, one clock per step; every output register listed above is a flip-flop.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from workloads.errors import InputError

from .layouts import index_bits, pe_weights_layout, window_layout

__all__ = ["SparsePE", "check_params"]

WIDTHS = (8, 16)
DATAFLOWS = ("ws", "os")


def _check_int(owner: str, name: str, value, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{owner}: {name} must be an integer, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise InputError(f"{owner}: {name} must be {rng}, got {value!r}")
    return value


def check_params(owner: str, *, n, m, width, acc_width, dataflow, rows=1, cols=1) -> None:
    """Check the shared parameters of the PE and the array; raise `InputError` naming the field."""
    _check_int(owner, "rows", rows, 1, 256)
    _check_int(owner, "cols", cols, 1, 256)
    _check_int(owner, "m", m, 1, 256)
    _check_int(owner, "n", n, 1)
    if n > m:
        raise InputError(f"{owner}: n must be <= m (N:M with 1 <= N <= M), got n={n!r}, m={m!r}")
    if isinstance(width, bool) or width not in WIDTHS:
        raise InputError(f"{owner}: width must be 8 or 16 (signed operands), got {width!r}")
    _check_int(owner, "acc_width", acc_width, 2 * width, 64)
    if dataflow not in DATAFLOWS:
        raise InputError(f"{owner}: dataflow must be 'ws' or 'os', got {dataflow!r}")


def act_beat_layout(m: int, width: int) -> data.StructLayout:
    """What travels along a PE row: the window plus valid/first/last."""
    return data.StructLayout({"data": window_layout(m, width), "valid": 1, "first": 1, "last": 1})


def ws_chain_layout(n: int, m: int, width: int, tag_bits: int) -> data.StructLayout:
    """One stage of the WS shadow-weight chain: weights, destination row, moving flag."""
    return data.StructLayout({
        "wt": pe_weights_layout(n, m, width),
        "tag": unsigned(tag_bits),
        "valid": 1,
    })


def dot(m: Module, wt, window, n: int, mm: int, acc_width: int):
    """``Σ_p wt.w[p] · window[wt.idx[p]]`` as an ``acc_width``-bit signed value (adder tree)."""
    terms = []
    for p in range(n):
        a = window[wt.idx[p]] if mm > 1 else window[0]
        prod = Signal(signed(2 * len(a)), name=f"prod{p}")
        m.d.comb += prod.eq(wt.w[p] * a)
        terms.append(prod)
    while len(terms) > 1:  # balanced adder tree
        nxt = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
        if len(terms) % 2:
            nxt.append(terms[-1])
        terms = nxt
    s = Signal(signed(acc_width), name="dot")
    m.d.comb += s.eq(terms[0])
    return s


class SparsePE(wiring.Component):
    """One sparse PE: ``n`` multipliers over an ``m``-wide window (see module docstring).

    Parameters are keyword-only and checked (read back as read-only properties):

    >>> SparsePE(n=3, m=2, width=8, acc_width=32)
    Traceback (most recent call last):
    ...
    workloads.errors.InputError: SparsePE: n must be <= m (N:M with 1 <= N <= M), got n=3, m=2
    """

    def __init__(self, *, n: int, m: int, width: int = 8, acc_width: int = 32,
                 dataflow: str = "ws", tag_bits: int = 1) -> None:
        try:
            check_params("SparsePE", n=n, m=m, width=width, acc_width=acc_width, dataflow=dataflow)
            _check_int("SparsePE", "tag_bits", tag_bits, 1, 16)
        except InputError:
            self._MustUse__silence = True  # a rejected component is not an unused one
            raise
        self._n, self._m, self._width, self._acc_width = n, m, width, acc_width
        self._dataflow, self._tag_bits = dataflow, tag_bits
        beat = act_beat_layout(m, width)
        members = {"a_in": In(beat), "a_out": Out(beat)}
        if dataflow == "ws":
            chain = ws_chain_layout(n, m, width, tag_bits)
            members.update({
                "psum_in": In(signed(acc_width)),
                "psum_out": Out(signed(acc_width)),
                "wl_in": In(chain),
                "wl_out": Out(chain),
            })
        else:
            wts = pe_weights_layout(n, m, width)
            members.update({
                "wt_in": In(wts),
                "wt_out": Out(wts),
                "o_in": In(signed(acc_width)),
                "o_shift": In(1),
                "o_out": Out(signed(acc_width)),
            })
        super().__init__(members)

    n = property(lambda self: self._n, doc="Multipliers per PE (N of N:M).")
    m = property(lambda self: self._m, doc="Window lanes per PE (M of N:M).")
    width = property(lambda self: self._width, doc="Signed operand width in bits.")
    acc_width = property(lambda self: self._acc_width, doc="Accumulator / partial-sum width.")
    dataflow = property(lambda self: self._dataflow, doc="'ws' or 'os'.")
    tag_bits = property(lambda self: self._tag_bits, doc="Width of the WS load-chain row tag.")

    @property
    def index_bits(self) -> int:
        return index_bits(self._m)

    def elaborate(self, platform) -> Module:
        m = Module()
        m.d.sync += self.a_out.eq(self.a_in)
        if self._dataflow == "ws":
            active = Signal(pe_weights_layout(self._n, self._m, self._width))
            swap = Signal()
            m.d.comb += swap.eq(self.a_in.valid & self.a_in.first)
            use = Signal.like(active)
            with m.If(swap):
                m.d.comb += use.eq(self.wl_out.wt)
                m.d.sync += active.eq(self.wl_out.wt)
            with m.Else():
                m.d.comb += use.eq(active)
            s = dot(m, use, self.a_in.data, self._n, self._m, self._acc_width)
            m.d.sync += self.psum_out.eq(self.psum_in + s)
            # Shadow chain stage: written when a beat travels through this row.
            m.d.sync += self.wl_out.valid.eq(self.wl_in.valid)
            with m.If(self.wl_in.valid):
                m.d.sync += [self.wl_out.wt.eq(self.wl_in.wt), self.wl_out.tag.eq(self.wl_in.tag)]
        else:
            m.d.sync += self.wt_out.eq(self.wt_in)
            acc = Signal(signed(self._acc_width))
            s = dot(m, self.wt_in, self.a_in.data, self._n, self._m, self._acc_width)
            nxt = Signal(signed(self._acc_width))
            m.d.comb += nxt.eq((acc & ~self.a_in.first.replicate(self._acc_width)) + s)
            with m.If(self.a_in.valid):
                m.d.sync += acc.eq(nxt)
            with m.If(self.a_in.valid & self.a_in.last):
                m.d.sync += self.o_out.eq(nxt)
            with m.Elif(self.o_shift):
                m.d.sync += self.o_out.eq(self.o_in)
        return m
