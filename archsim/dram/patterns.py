"""Synthetic request patterns of the README's reference traces (``gen_traces.py``), seeded.

Addresses are 64 B aligned in a 16 GiB space, as in the reference traces.  ``gap_tck`` = 0 is the
saturated case (requests enter as fast as the controller accepts them); a gap G offers a load of
``tBURST / G`` of the bus (4 / G for DDR4).
"""

from __future__ import annotations

import numpy as np

__all__ = ["sequential", "uniform_random", "mix_writes", "SPACE_BYTES"]

SPACE_BYTES = 1 << 34


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def sequential(n: int, *, gap_tck: int = 0, step_bytes: int = 64, base: int = 0):
    """(addrs, arrivals) of ``n`` consecutive ``step_bytes`` requests."""
    addrs = base + np.arange(n, dtype=np.int64) * step_bytes
    return addrs, np.arange(n, dtype=np.int64) * gap_tck


def uniform_random(n: int, seed, *, gap_tck: int = 0, align_bytes: int = 64,
                   space_bytes: int = SPACE_BYTES):
    """(addrs, arrivals) of ``n`` uniformly random ``align_bytes``-aligned requests."""
    rng = _rng(seed)
    addrs = rng.integers(0, space_bytes // align_bytes, size=n, dtype=np.int64) * align_bytes
    return addrs, np.arange(n, dtype=np.int64) * gap_tck


def mix_writes(n: int, seed, write_fraction: float = 1 / 3) -> np.ndarray:
    """Bool write flags, each True with probability ``write_fraction`` (2R:1W at 1/3)."""
    return _rng(seed).random(n) < write_fraction
