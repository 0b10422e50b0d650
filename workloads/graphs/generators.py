"""Synthetic sparse matrices: R-MAT (Kronecker) graphs and uniform random matrices.

What is modelled
----------------
* `rmat`: the recursive-matrix generator of Chakrabarti, Zhan & Faloutsos (2004) with the
  Graph500 defaults (``a, b, c, d = .57, .19, .19, .05``, edge factor 16): each of
  ``edge_factor · 2**scale`` directed edges picks, bit by bit from the most significant, one of
  the four quadrants with probabilities ``a, b, c, d``.  All edges are drawn at once, one numpy
  pass per bit.  No noise is added to the probabilities.  By default (``permute=True``, as the
  Graph500 reference generator does) the vertex labels are then relabelled by a uniformly
  random permutation drawn from a child of the same generator (``Generator.spawn``), so the high-degree vertices are spread
  over the id range (and over any address space laid out by id).  With ``permute=False`` the
  raw Kronecker labels are kept and low vertex ids are the high-degree ones.  Graph500 also
  shuffles the edge list; a CSR matrix has no edge order, so that step has no counterpart.
* `uniform_random`: every position equally likely (Erdős–Rényi-like), either an exact total
  ``density`` or exactly ``nnz_per_row`` distinct columns in every row.

Randomness comes only from the ``seed`` argument (an int or a ``numpy.random.Generator``);
the global numpy generator is never used.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import scipy.sparse as sp

from workloads.errors import InputError

__all__ = ["rmat", "uniform_random"]

_VALUES = ("ones", "uniform")
_MAX_ENTRIES = 2**31 - 1


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise InputError(f"seed: expected an int >= 0 or a numpy.random.Generator, got {seed!r}")


def _int_at_least(name: str, value, low: int, high: int | None = None) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise InputError(f"{name}: expected an int, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in {low}..{high}"
        raise InputError(f"{name}: must be {bound}, got {value}")
    return int(value)


def _check_values(values: str) -> str:
    if values not in _VALUES:
        raise InputError(f"values: must be one of {', '.join(_VALUES)}, got {values!r}")
    return values


def _draw_values(rng: np.random.Generator, values: str, size: int) -> np.ndarray:
    if values == "ones":
        return np.ones(size, dtype=np.float64)
    return rng.random(size)


def rmat(
    scale: int,
    edge_factor: int = 16,
    a: float = 0.57,
    b: float = 0.19,
    c: float = 0.19,
    d: float = 0.05,
    *,
    seed: int | np.random.Generator,
    self_loops: bool = True,
    duplicates: bool = True,
    values: str = "ones",
    permute: bool = True,
) -> sp.csr_array:
    """An R-MAT graph as a ``2**scale`` square ``csr_array`` (row = source, column = target).

    ``edge_factor · 2**scale`` edges are drawn.  ``self_loops=False`` drops edges ``i -> i``.
    ``duplicates=True`` keeps repeated edges, summed into one entry (with ``values="ones"`` the
    entry is the multiplicity); ``duplicates=False`` reduces the graph to its pattern, one entry
    per distinct edge.  ``values`` is ``"ones"`` or ``"uniform"`` (U[0, 1) per edge).

    ``permute=True`` (the Graph500 default) relabels vertex ``v`` as ``perm[v]`` for a uniformly
    random permutation ``perm`` of ``range(2**scale)``, drawn from a child generator spawned
    from ``seed`` (``Generator.spawn``), which leaves the stream of edge and value draws
    untouched: the result is exactly ``P·A·Pᵀ`` of the ``permute=False`` matrix for the same
    seed (same degree multisets, same values, hubs no longer at the lowest ids).

    >>> A = rmat(4, seed=1)
    >>> A.shape, int(A.sum())
    ((16, 16), 256)
    """
    scale = _int_at_least("scale", scale, 1, 30)
    edge_factor = _int_at_least("edge_factor", edge_factor, 1)
    probs = []
    for name, p in (("a", a), ("b", b), ("c", c), ("d", d)):
        if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
            raise InputError(f"{name}: probability must be in [0, 1], got {p!r}")
        probs.append(float(p))
    if not math.isclose(sum(probs), 1.0, rel_tol=0.0, abs_tol=1e-9):
        raise InputError(f"a+b+c+d: probabilities must sum to 1, got {sum(probs)!r}")
    values = _check_values(values)
    if not isinstance(permute, (bool, np.bool_)):
        raise InputError(f"permute: expected a bool, got {permute!r}")
    nodes = 2**scale
    edges = edge_factor * nodes
    if edges > _MAX_ENTRIES:
        raise InputError(f"edge_factor*2**scale: {edges} edges is more than {_MAX_ENTRIES}")
    rng = _rng(seed)

    a_, ab, abc = probs[0], probs[0] + probs[1], probs[0] + probs[1] + probs[2]
    dtype = np.int32 if scale <= 30 else np.int64
    rows = np.zeros(edges, dtype=dtype)
    cols = np.zeros(edges, dtype=dtype)
    for bit in range(scale - 1, -1, -1):
        r = rng.random(edges)
        down = r >= ab  # quadrants c or d: the row bit is set
        right = ((r >= a_) & (r < ab)) | (r >= abc)  # quadrants b or d: the column bit is set
        rows |= down.astype(dtype) << bit
        cols |= right.astype(dtype) << bit

    if not self_loops:
        keep = rows != cols
        rows, cols = rows[keep], cols[keep]
    if duplicates:
        vals = _draw_values(rng, values, rows.size)
        out = sp.coo_array((vals, (rows, cols)), shape=(nodes, nodes)).tocsr()
        out.sum_duplicates()
    else:
        pattern = sp.coo_array(
            (np.ones(rows.size, dtype=np.float64), (rows, cols)), shape=(nodes, nodes)
        ).tocsr()
        pattern.sum_duplicates()
        pattern.data = _draw_values(rng, values, pattern.nnz)
        out = pattern
    out.sort_indices()
    if permute:
        perm = rng.spawn(1)[0].permutation(nodes).astype(dtype)
        coo = out.tocoo()
        out = sp.csr_array((coo.data, (perm[coo.row], perm[coo.col])), shape=(nodes, nodes))
        out.sort_indices()
    return out


def uniform_random(
    rows: int,
    cols: int,
    *,
    density: float | None = None,
    nnz_per_row: int | None = None,
    seed: int | np.random.Generator,
    values: str = "uniform",
) -> sp.csr_array:
    """A ``rows x cols`` ``csr_array`` with uniformly placed non-zeros.

    Give exactly one of ``density`` (``round(density·rows·cols)`` distinct positions chosen
    uniformly over the whole matrix) or ``nnz_per_row`` (that many distinct columns in every
    row).  ``values`` is ``"uniform"`` (U[0, 1)) or ``"ones"``.

    >>> np.diff(uniform_random(4, 8, nnz_per_row=2, seed=0).indptr).tolist()
    [2, 2, 2, 2]
    """
    rows = _int_at_least("rows", rows, 1)
    cols = _int_at_least("cols", cols, 1)
    values = _check_values(values)
    if (density is None) == (nnz_per_row is None):
        raise InputError("density/nnz_per_row: give exactly one of them")
    rng = _rng(seed)
    if density is not None:
        if not isinstance(density, numbers.Real) or isinstance(density, bool) \
                or not 0.0 <= density <= 1.0:
            raise InputError(f"density: must be in [0, 1], got {density!r}")
        total = round(float(density) * rows * cols)
        if total > _MAX_ENTRIES:
            raise InputError(f"density: {total} non-zeros is more than {_MAX_ENTRIES}")
        flat = np.sort(rng.choice(rows * cols, size=total, replace=False))
        r, c = np.divmod(flat, cols)
    else:
        k = _int_at_least("nnz_per_row", nnz_per_row, 0, cols)
        if rows * k > _MAX_ENTRIES:
            raise InputError(f"nnz_per_row: {rows * k} non-zeros is more than {_MAX_ENTRIES}")
        c = _distinct_columns(rng, rows, cols, k).ravel()
        r = np.repeat(np.arange(rows, dtype=np.int64), k)
    vals = _draw_values(rng, values, r.size)
    out = sp.csr_array((vals, (r, c)), shape=(rows, cols))
    out.sort_indices()
    return out


def _distinct_columns(rng: np.random.Generator, rows: int, cols: int, k: int) -> np.ndarray:
    """``rows x k`` array: each row holds ``k`` distinct columns, sorted, uniformly chosen."""
    if k == 0:
        return np.zeros((rows, 0), dtype=np.int64)
    if 4 * k > cols:
        # Dense regime: a random key per position; the k smallest keys win.
        keys = rng.random((rows, cols))
        return np.sort(np.argpartition(keys, k - 1, axis=1)[:, :k], axis=1)
    # Sparse regime: draw with replacement, then redraw only the repeated entries until every
    # row is distinct.  The process treats all column labels alike, so the final set of each
    # row is uniform over the k-subsets.
    out = np.sort(rng.integers(0, cols, size=(rows, k)), axis=1)
    while True:
        dup = np.zeros(out.shape, dtype=bool)
        dup[:, 1:] = out[:, 1:] == out[:, :-1]
        count = int(dup.sum())
        if count == 0:
            return out
        bad_rows = np.flatnonzero(dup.any(axis=1))
        out[dup] = rng.integers(0, cols, size=count)
        out[bad_rows] = np.sort(out[bad_rows], axis=1)
