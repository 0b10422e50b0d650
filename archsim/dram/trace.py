"""DRAMsim3 trace format: one request per line, ``0x<ADDR> READ|WRITE <cycle>``.

``<cycle>`` is the arrival clock in the channel's tCK (0 everywhere = saturated replay: each
request enters as soon as the controller accepts it).  Blank lines and ``#`` comments are skipped.
A malformed line is an `InputError` naming ``file:line``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workloads.errors import InputError

__all__ = ["Trace", "read_trace", "write_trace"]


@dataclass(frozen=True)
class Trace:
    addrs: np.ndarray
    writes: np.ndarray
    arrivals: np.ndarray

    def __len__(self) -> int:
        return len(self.addrs)


_OPS = {"READ": False, "WRITE": True, "R": False, "W": True}


def read_trace(path: str | Path) -> Trace:
    path = Path(path)
    try:
        fh = path.open()
    except FileNotFoundError:
        raise InputError(f"{path}: trace file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read trace ({exc.strerror})") from None
    addrs: list[int] = []
    writes: list[bool] = []
    arrivals: list[int] = []
    last = 0
    with fh:
        for ln, line in enumerate(fh, 1):
            parts = line.split("#", 1)[0].split()
            if not parts:
                continue
            try:
                if len(parts) != 3:
                    raise ValueError
                a, op, cyc = parts
                addr = int(a, 16) if a[:2].lower() == "0x" else int(a)
                w = _OPS[op.upper()]
                c = int(cyc)
                if not (0 <= addr < 1 << 62 and 0 <= c < 1 << 62):
                    raise ValueError
            except (ValueError, KeyError):
                shown = line.strip()
                shown = shown if len(shown) <= 60 else shown[:57] + "..."
                raise InputError(f"{path}:{ln}: expected '0xADDR READ|WRITE CYCLE', "
                                 f"got {shown!r}") from None
            if c < last:
                raise InputError(f"{path}:{ln}: cycle {c} is before the previous line's {last} "
                                 "(cycles must not decrease)")
            last = c
            addrs.append(addr)
            writes.append(w)
            arrivals.append(c)
    if not addrs:
        raise InputError(f"{path}: trace has no requests")
    return Trace(np.asarray(addrs, dtype=np.int64), np.asarray(writes, dtype=bool),
                 np.asarray(arrivals, dtype=np.int64))


def write_trace(path: str | Path, addrs, writes, arrivals) -> None:
    """Write a trace in the same format (for comparisons with DRAMsim3)."""
    with open(path, "w") as f:
        for a, w, c in zip(np.asarray(addrs), np.asarray(writes), np.asarray(arrivals)):
            f.write(f"0x{int(a):X} {'WRITE' if w else 'READ'} {int(c)}\n")
