"""Packed layouts of the array's ports, and numpy packers for testbenches.

Every port of the PE and the array is a `data.StructLayout` / `data.ArrayLayout`; in the Verilog
that Amaranth emits they are flat vectors with element 0 (and the first struct field) in the least
significant bits.  The ``pack_*`` / ``unpack_*`` helpers here turn numpy tiles into those integers
(and back) from the *same* layout objects the circuit uses, so a testbench cannot drift from the
circuit's bit order.

Layouts (``P = n`` multipliers, ``W = m`` window lanes, ``B = ceil(log2 m)`` index bits):

* window:       ``ArrayLayout(signed(width), W)``
* PE weights:   ``StructLayout({"w": ArrayLayout(signed(width), P), "idx": ArrayLayout(unsigned(B), P)})``
* WS act beat:  ``{"data": ArrayLayout(window, rows), "first": 1, "last": 1}``
* WS load beat: ``ArrayLayout(PE weights, cols)``: one PE row of weights
* OS act beat:  ``{"data": ArrayLayout(window, rows), "w": ArrayLayout(PE weights, cols), "first": 1, "last": 1}``
* out beat:     ``{"data": ArrayLayout(signed(acc_width), cols), "first": 1, "last": 1}``
"""

from __future__ import annotations

import math

import numpy as np
from amaranth.hdl import signed, unsigned
from amaranth.lib import data

__all__ = [
    "index_bits",
    "window_layout",
    "pe_weights_layout",
    "ws_act_layout",
    "ws_load_layout",
    "os_act_layout",
    "out_layout",
    "pack_values",
    "unpack_values",
    "pack_ws_act",
    "pack_ws_load",
    "pack_os_act",
    "unpack_out",
]


def index_bits(m: int) -> int:
    """Bits of one window position: ``ceil(log2 m)`` (0 for ``m == 1``)."""
    return max(0, math.ceil(math.log2(m))) if m > 1 else 0


def window_layout(m: int, width: int) -> data.ArrayLayout:
    return data.ArrayLayout(signed(width), m)


def pe_weights_layout(n: int, m: int, width: int) -> data.StructLayout:
    return data.StructLayout({
        "w": data.ArrayLayout(signed(width), n),
        "idx": data.ArrayLayout(unsigned(index_bits(m)), n),
    })


def ws_act_layout(rows: int, m: int, width: int) -> data.StructLayout:
    return data.StructLayout({
        "data": data.ArrayLayout(window_layout(m, width), rows),
        "first": 1,
        "last": 1,
    })


def ws_load_layout(cols: int, n: int, m: int, width: int) -> data.ArrayLayout:
    return data.ArrayLayout(pe_weights_layout(n, m, width), cols)


def os_act_layout(rows: int, cols: int, n: int, m: int, width: int) -> data.StructLayout:
    return data.StructLayout({
        "data": data.ArrayLayout(window_layout(m, width), rows),
        "w": data.ArrayLayout(pe_weights_layout(n, m, width), cols),
        "first": 1,
        "last": 1,
    })


def out_layout(cols: int, acc_width: int) -> data.StructLayout:
    return data.StructLayout({
        "data": data.ArrayLayout(signed(acc_width), cols),
        "first": 1,
        "last": 1,
    })


_BYTE_DTYPES = {8: "<u1", 16: "<u2", 32: "<u4", 64: "<u8"}


def pack_values(values, bits: int) -> int:
    """Pack a flat sequence of integers, ``bits`` each, element 0 in the LSBs (two's complement)."""
    flat = np.asarray(values, dtype=np.int64).reshape(-1)
    if bits == 0 or flat.size == 0:
        return 0
    if bits in _BYTE_DTYPES:
        mask = np.uint64((1 << bits) - 1) if bits < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
        raw = (flat.astype(np.uint64) & mask).astype(_BYTE_DTYPES[bits])
        return int.from_bytes(raw.tobytes(), "little")
    mask = (1 << bits) - 1
    out = 0
    for v in reversed(flat.tolist()):
        out = (out << bits) | (int(v) & mask)
    return out


def unpack_values(word: int, bits: int, count: int, *, signed_: bool = True) -> np.ndarray:
    """Inverse of `pack_values`: ``count`` integers of ``bits`` bits each, as int64."""
    word = int(word)
    if bits in _BYTE_DTYPES and bits <= 64:
        raw = word.to_bytes(count * bits // 8, "little")
        vals = np.frombuffer(raw, dtype=_BYTE_DTYPES[bits]).astype(np.uint64)
        if bits == 64:
            return vals.astype(np.int64) if signed_ else vals
        vals = vals.astype(np.int64)
    else:
        mask = (1 << bits) - 1
        vals = np.array([(word >> (i * bits)) & mask for i in range(count)], dtype=np.int64)
    if signed_:
        vals = np.where(vals >= (1 << (bits - 1)), vals - (1 << bits), vals)
    return vals.astype(np.int64)


def _pack_pe_weights(w: np.ndarray, idx: np.ndarray, n: int, m: int, width: int) -> np.ndarray:
    """Per-PE packed weight words for ``w[..., n]`` / ``idx[..., n]`` (object array of ints)."""
    ib = index_bits(m)
    lead = w.shape[:-1]
    w2 = np.asarray(w, dtype=np.int64).reshape(-1, n)
    i2 = np.asarray(idx, dtype=np.int64).reshape(-1, n)
    words = [pack_values(wr, width) | (pack_values(ir, ib) << (n * width)) for wr, ir in zip(w2, i2)]
    return np.array(words, dtype=object).reshape(lead)


def _concat(words, bits: int) -> int:
    out = 0
    for v in reversed(list(words)):
        out = (out << bits) | int(v)
    return out


def pack_ws_act(acts_t: np.ndarray, width: int, *, first: bool, last: bool) -> int:
    """One WS activation beat: ``acts_t[rows, m]`` plus the tile flags."""
    rows, m = acts_t.shape
    lay = ws_act_layout(rows, m, width)
    word = pack_values(acts_t, width)
    return word | (int(first) << lay["first"].offset) | (int(last) << lay["last"].offset)


def pack_ws_load(w_row: np.ndarray, idx_row: np.ndarray, m: int, width: int) -> int:
    """One WS load beat: the weights ``w_row[cols, n]`` / ``idx_row[cols, n]`` of one PE row."""
    cols, n = w_row.shape
    pe_bits = pe_weights_layout(n, m, width).size
    return _concat(_pack_pe_weights(w_row, idx_row, n, m, width), pe_bits)


def pack_os_act(acts_t: np.ndarray, w_t: np.ndarray, idx_t: np.ndarray, width: int, *,
                first: bool, last: bool) -> int:
    """One OS beat: window ``acts_t[rows, m]``, column weights ``w_t[cols, n]`` / ``idx_t``."""
    rows, m = acts_t.shape
    cols, n = w_t.shape
    lay = os_act_layout(rows, cols, n, m, width)
    pe_bits = pe_weights_layout(n, m, width).size
    word = pack_values(acts_t, width)
    word |= _concat(_pack_pe_weights(w_t, idx_t, n, m, width), pe_bits) << lay["w"].offset
    return word | (int(first) << lay["first"].offset) | (int(last) << lay["last"].offset)


def unpack_out(word: int, cols: int, acc_width: int) -> tuple[np.ndarray, bool, bool]:
    """An output beat: ``(values[cols], first, last)``."""
    lay = out_layout(cols, acc_width)
    word = int(word)
    vals = unpack_values(word & ((1 << (cols * acc_width)) - 1), acc_width, cols)
    return vals, bool((word >> lay["first"].offset) & 1), bool((word >> lay["last"].offset) & 1)
