"""N:M structured sparsity: ratios, magnitude masks, BDWP and the compressed form.

What is modelled
----------------
* ``NM(n, m)``: keep ``n`` of every ``m`` consecutive elements along one axis.
* ``nm_mask(w, nm, axis)``: magnitude top-N per group of M along ``axis`` (ties broken by the
  lower index, so the result is deterministic).
* BDWP (bidirectional weight pruning, SAT): the forward (FF) copy of a weight is N:M along the
  FF reduction axis (input channels), the backward (BP) copy is N:M along the BP reduction axis
  (output channels); the weight-update (WU) GEMM stays dense.  For a weight stored as
  ``[out_features, in_features]`` (PyTorch layout), FF groups run along axis 1 and BP groups
  along axis 0.
* ``compress`` / ``decompress``: the hardware's storage form: per group, the N kept values and
  their ``ceil(log2 M)``-bit positions inside the group.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workloads.errors import InputError

if TYPE_CHECKING:  # numpy is imported by the functions that need it: parsing an N:M is numpy-free
    import numpy as np

__all__ = ["NM", "DENSE", "parse_nm", "nm_mask", "bdwp_masks", "compress", "decompress"]


@dataclass(frozen=True, order=True)
class NM:
    """An N:M ratio: ``n`` non-zeros in every group of ``m`` consecutive elements.

    ``NM(1, 1)`` is dense.  Invalid ratios raise `InputError`:

    >>> NM(2, 8).density
    0.25
    >>> NM(0, 4)
    Traceback (most recent call last):
    ...
    workloads.errors.InputError: sparsity: N must be >= 1, got 0:4
    """

    n: int
    m: int

    def __post_init__(self) -> None:
        if not isinstance(self.n, int) or not isinstance(self.m, int):
            raise InputError(f"sparsity: N and M must be integers, got {self.n!r}:{self.m!r}")
        if self.n < 1:
            raise InputError(f"sparsity: N must be >= 1, got {self.n}:{self.m}")
        if self.m < 1:
            raise InputError(f"sparsity: M must be >= 1, got {self.n}:{self.m}")
        if self.n > self.m:
            raise InputError(f"sparsity: N must be <= M, got {self.n}:{self.m}")

    @property
    def is_dense(self) -> bool:
        return self.n == self.m

    @property
    def density(self) -> float:
        return self.n / self.m

    @property
    def index_bits(self) -> int:
        """Bits of one in-group position: ``ceil(log2 M)`` (0 for M = 1)."""
        return max(0, math.ceil(math.log2(self.m)))

    def __str__(self) -> str:
        return "dense" if self.is_dense else f"{self.n}:{self.m}"


DENSE = NM(1, 1)

_NM_RE = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*$")


def parse_nm(text: str) -> NM:
    """Parse ``"2:8"`` or ``"dense"`` into an `NM`; anything else is an `InputError`."""
    if isinstance(text, NM):
        return text
    s = str(text).strip().lower()
    if s == "dense":
        return DENSE
    match = _NM_RE.match(s)
    if not match:
        raise InputError(f"sparsity: expected 'N:M' or 'dense', got {text!r}")
    return NM(int(match.group(1)), int(match.group(2)))


def _check_axis(w: np.ndarray, nm: NM, axis: int, what: str) -> int:
    if w.ndim == 0:
        raise InputError(f"{what}: expected an array with at least one axis")
    if not -w.ndim <= axis < w.ndim:
        raise InputError(f"{what}: axis {axis} out of range for a {w.ndim}-d array")
    axis %= w.ndim
    if w.shape[axis] % nm.m:
        raise InputError(
            f"{what}: M={nm.m} does not divide the pruned axis {axis} of length {w.shape[axis]}"
        )
    return axis


def nm_mask(w: np.ndarray, nm: NM, axis: int = -1) -> np.ndarray:
    """Boolean mask keeping the N largest-magnitude entries of every M along ``axis``.

    Ties are broken by the lower position in the group (stable sort), so the mask is a pure
    function of the values.

    >>> import numpy as np
    >>> nm_mask(np.array([[1., -4., 3., 2.]]), NM(2, 4), axis=1).astype(int)
    array([[0, 1, 1, 0]])
    """
    import numpy as np

    w = np.asarray(w)
    axis = _check_axis(w, nm, axis, "nm_mask")
    if nm.is_dense:
        return np.ones(w.shape, dtype=bool)
    moved = np.moveaxis(w, axis, -1)
    groups = moved.reshape(*moved.shape[:-1], -1, nm.m)
    # Stable argsort of -|w|: the first N positions are the kept ones, lower index wins ties.
    order = np.argsort(-np.abs(groups), axis=-1, kind="stable")
    keep = np.zeros(groups.shape, dtype=bool)
    np.put_along_axis(keep, order[..., : nm.n], True, axis=-1)
    return np.moveaxis(keep.reshape(moved.shape), -1, axis)


def bdwp_masks(weight: np.ndarray, nm: NM, *, in_axis: int = 1, out_axis: int = 0):
    """BDWP masks of one weight: ``(ff_mask, bp_mask)``.

    ``ff_mask`` is N:M along the input-channel axis (the FF reduction axis), ``bp_mask`` along
    the output-channel axis (the BP reduction axis).  The WU GEMM is dense, so it has no mask.
    Defaults follow PyTorch's ``[out, in, ...]`` layout.
    """
    return nm_mask(weight, nm, axis=in_axis), nm_mask(weight, nm, axis=out_axis)


def compress(w: np.ndarray, nm: NM, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Compressed N:M form along ``axis``: ``(values, indices)``.

    The pruned axis of length ``L`` becomes ``L // M * N`` long.  ``indices`` hold each kept
    value's position inside its group (``0 .. M-1``, ascending within a group), as ``uint8``.
    Entries are chosen by `nm_mask`, so ``decompress(*compress(w)) == w * nm_mask(w)``.
    """
    import numpy as np

    w = np.asarray(w)
    axis = _check_axis(w, nm, axis, "compress")
    mask = nm_mask(w, nm, axis)
    moved_w = np.moveaxis(w, axis, -1)
    moved_m = np.moveaxis(mask, axis, -1)
    groups_w = moved_w.reshape(*moved_w.shape[:-1], -1, nm.m)
    groups_m = moved_m.reshape(groups_w.shape)
    # Positions of the kept entries in ascending order: sort key puts kept ones first.
    pos = np.argsort(~groups_m, axis=-1, kind="stable")[..., : nm.n]
    vals = np.take_along_axis(groups_w, pos, axis=-1)
    flat = (*moved_w.shape[:-1], -1)
    values = np.moveaxis(vals.reshape(flat), -1, axis)
    indices = np.moveaxis(pos.astype(np.uint8).reshape(flat), -1, axis)
    return values, indices


def decompress(values: np.ndarray, indices: np.ndarray, nm: NM, axis: int = -1) -> np.ndarray:
    """Inverse of `compress`: scatter the kept values back into a dense array of zeros."""
    import numpy as np

    values = np.asarray(values)
    indices = np.asarray(indices)
    if values.shape != indices.shape:
        raise InputError(f"decompress: values {values.shape} and indices {indices.shape} differ")
    axis %= values.ndim
    if values.shape[axis] % nm.n:
        raise InputError(
            f"decompress: N={nm.n} does not divide axis {axis} of length {values.shape[axis]}"
        )
    if indices.size and int(indices.max()) >= nm.m:
        raise InputError(f"decompress: index {int(indices.max())} >= M={nm.m}")
    mv = np.moveaxis(values, axis, -1)
    mi = np.moveaxis(indices, axis, -1).astype(np.intp)
    gv = mv.reshape(*mv.shape[:-1], -1, nm.n)
    gi = mi.reshape(gv.shape)
    out = np.zeros((*gv.shape[:-1], nm.m), dtype=values.dtype)
    np.put_along_axis(out, gi, gv, axis=-1)
    out = out.reshape(*mv.shape[:-1], -1)
    return np.moveaxis(out, -1, axis)
