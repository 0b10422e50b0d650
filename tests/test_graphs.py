"""Matrix Market I/O, generators and bundled matrices."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from workloads.errors import InputError
from workloads.graphs import (
    bundled_names,
    load_matrix,
    read_mtx,
    rmat,
    uniform_random,
    write_mtx,
)
from workloads.graphs.bundled import _data_dir

BUNDLED = [
    "karate", "west0067", "minnesota", "power", "email-Eu-core", "ca-GrQc", "polblogs",
    "zenios", "PGPgiantcompo",
]


def same(a, b) -> bool:
    a, b = sp.csr_array(a), sp.csr_array(b)
    return a.shape == b.shape and (a != b).nnz == 0


# ---- bundled matrices and read_mtx against scipy ------------------------------------------


def test_bundled_names():
    assert sorted(bundled_names()) == sorted(BUNDLED)


def test_attribution_lists_every_bundled_file():
    text = _data_dir().joinpath("ATTRIBUTION.md").read_text(encoding="utf-8")
    for name in BUNDLED:
        assert f"| {name}.mtx |" in text


@pytest.mark.parametrize("name", BUNDLED)
def test_read_mtx_equals_scipy_mmread(name):
    path = _data_dir().joinpath(f"{name}.mtx")
    ours = read_mtx(path)
    ref = scipy.io.mmread(str(path))
    assert isinstance(ours, sp.csr_array)
    assert ours.dtype == np.float64
    assert ours.has_canonical_format
    assert ours.nnz == sp.coo_array(ref).nnz
    assert same(ours, ref)
    assert same(load_matrix(name), ours)


def test_load_matrix_by_path_and_unknown_name(tmp_path):
    path = tmp_path / "m.mtx"
    write_mtx(path, sp.csr_array(np.eye(3)))
    assert same(load_matrix(str(path)), np.eye(3))
    assert same(load_matrix(path), np.eye(3))
    with pytest.raises(InputError, match="karate") as err:
        load_matrix("no-such-graph")
    assert "no-such-graph" in str(err.value)


# ---- read_mtx semantics ---------------------------------------------------------------------


def write(tmp_path, text, name="bad.mtx"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_symmetric_expansion_keeps_the_diagonal_once(tmp_path):
    path = write(tmp_path, "%%MatrixMarket matrix coordinate real symmetric\n"
                 "% a comment\n3 3 3\n1 1 5\n2 1 2\n3 2 -1.5\n", "sym.mtx")
    a = read_mtx(path).toarray()
    np.testing.assert_array_equal(a, [[5, 2, 0], [2, 0, -1.5], [0, -1.5, 0]])
    assert same(read_mtx(path), scipy.io.mmread(str(path)))


def test_pattern_integer_and_duplicates(tmp_path):
    pat = write(tmp_path, "%%MatrixMarket matrix coordinate pattern general\n2 3 2\n1 3\n2 1\n",
                "pat.mtx")
    np.testing.assert_array_equal(read_mtx(pat).toarray(), [[0, 0, 1], [1, 0, 0]])
    dup = write(tmp_path, "%%MatrixMarket matrix coordinate integer general\n\n2 2 3\n"
                "1 1 2\n1 1 3\n2 2 -4\n", "dup.mtx")
    a = read_mtx(dup)
    assert a.nnz == 2 and a.has_canonical_format
    np.testing.assert_array_equal(a.toarray(), [[5, 0], [0, -4]])


def test_empty_matrix(tmp_path):
    path = write(tmp_path, "%%MatrixMarket matrix coordinate real general\n4 5 0\n", "e.mtx")
    a = read_mtx(path)
    assert a.shape == (4, 5) and a.nnz == 0


def test_round_trip_write_read(tmp_path):
    rng = np.random.default_rng(3)
    a = uniform_random(50, 40, density=0.1, seed=rng)
    a.data = rng.standard_normal(a.nnz) * 1e-7  # values that need all 17 digits
    path = tmp_path / "rt.mtx"
    write_mtx(path, a)
    b = read_mtx(path)
    assert same(a, b)
    np.testing.assert_array_equal(a.data, b.data)
    assert same(scipy.io.mmread(str(path)), a)


def test_write_rejects_non_2d(tmp_path):
    with pytest.raises(InputError, match="2-D"):
        write_mtx(tmp_path / "x.mtx", np.zeros(3))


HEADER = "%%MatrixMarket matrix coordinate real general\n"
MALFORMED = {
    "empty": ("", "empty file"),
    "no_header": ("3 3 1\n1 1 1\n", "header"),
    "short_header": ("%%MatrixMarket matrix coordinate real\n1 1 0\n", "header"),
    "array_format": ("%%MatrixMarket matrix array real general\n1 1\n1\n", "format"),
    "complex_field": ("%%MatrixMarket matrix coordinate complex general\n1 1 0\n", "field"),
    "skew": ("%%MatrixMarket matrix coordinate real skew-symmetric\n1 1 0\n", "symmetry"),
    "no_size": (HEADER + "% only comments\n", "size line"),
    "bad_size": (HEADER + "3 x 1\n1 1 1\n", "size line"),
    "sym_not_square": (
        "%%MatrixMarket matrix coordinate real symmetric\n2 3 0\n", "square"),
    "too_few": (HEADER + "3 3 3\n1 1 1\n2 2 2\n", "fewer"),
    "too_many": (HEADER + "3 3 1\n1 1 1\n2 2 2\n", "more entries"),
    "row_range": (HEADER + "3 3 2\n1 1 1\n4 1 1\n", "line 4: row index 4 out of range"),
    "col_zero": (HEADER + "3 3 1\n1 0 1\n", "line 3: column index 0 out of range"),
    "value_nan_text": (HEADER + "3 3 1\n1 1 abc\n", "line 3: value 'abc' is not a number"),
    "index_text": (HEADER + "3 3 1\nx 1 1\n", "line 3: row index 'x' is not an integer"),
    "missing_value": (HEADER + "3 3 2\n1 1\n2 2 1 7\n", "line 3: expected 3 fields"),
    "integer_float": (
        "%%MatrixMarket matrix coordinate integer general\n2 2 1\n1 1 2.5\n",
        "not an integer"),
    "pattern_with_value": (
        "%%MatrixMarket matrix coordinate pattern general\n2 2 1\n1 1 1\n", "expected 2 fields"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_name_the_file(tmp_path, case):
    text, reason = MALFORMED[case]
    path = write(tmp_path, text, f"{case}.mtx")
    with pytest.raises(InputError) as err:
        read_mtx(path)
    message = str(err.value)
    assert f"{case}.mtx" in message
    assert reason in message
    assert "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="nothere.mtx: no such file"):
        read_mtx(tmp_path / "nothere.mtx")


# ---- generators -------------------------------------------------------------------------


def test_rmat_shape_and_edge_count():
    a = rmat(8, seed=42)
    assert isinstance(a, sp.csr_array) and a.shape == (256, 256)
    assert a.has_canonical_format and a.dtype == np.float64
    assert a.sum() == 16 * 256  # duplicates kept as multiplicities
    assert a.nnz <= 16 * 256
    # Skewed: without the Graph500 relabelling the first rows (quadrant a) carry far more
    # edges than the last.
    deg = np.diff(rmat(8, seed=42, permute=False).indptr)
    assert deg[:16].sum() > 5 * deg[-16:].sum()


def test_rmat_permutation_relabels_vertices():
    for kw in ({}, {"values": "uniform"}, {"duplicates": False, "self_loops": False}):
        p = rmat(9, seed=7, **kw)
        q = rmat(9, seed=7, permute=False, **kw)
        assert p.has_canonical_format and p.nnz == q.nnz and p.sum() == pytest.approx(q.sum())
        # degree multisets (out and in) and the value multiset are unchanged
        for m in (lambda x: np.diff(x.indptr), lambda x: np.diff(sp.csc_array(x).indptr)):
            assert np.array_equal(np.sort(m(p)), np.sort(m(q)))
        assert np.array_equal(np.sort(p.data), np.sort(q.data))
        assert p.diagonal().sum() == pytest.approx(q.diagonal().sum())  # self-loops stay self-loops
    # the permuted graph is P·A·Pᵀ: recover the relabelling from the seed's generator state
    perm = np.random.default_rng(7).spawn(1)[0].permutation(2**9)
    for kw in ({}, {"values": "uniform"}):
        p, q = rmat(9, seed=7, **kw), rmat(9, seed=7, permute=False, **kw)
        assert same(sp.csr_array(p[perm][:, perm]), q)  # p[perm[i], perm[j]] == q[i, j]
    p = rmat(9, seed=7)
    # deterministic per seed; hubs no longer sit at the lowest ids
    assert same(rmat(9, seed=7), p) and not same(rmat(9, seed=8), p)
    deg = np.diff(p.indptr)
    assert deg[:32].sum() < 3 * deg[-32:].sum()
    with pytest.raises(InputError, match="permute"):
        rmat(4, seed=0, permute="yes")


def test_rmat_is_deterministic_per_seed():
    assert same(rmat(7, seed=1), rmat(7, seed=1))
    assert not same(rmat(7, seed=1), rmat(7, seed=2))
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    assert same(rmat(6, values="uniform", seed=g1), rmat(6, values="uniform", seed=g2))


def test_rmat_options():
    a = rmat(7, edge_factor=8, seed=3, self_loops=False, duplicates=False)
    assert a.diagonal().sum() == 0
    assert np.all(a.data == 1.0)
    b = rmat(7, edge_factor=8, seed=3, self_loops=False, duplicates=False, values="uniform")
    assert same(a != 0, b != 0) and np.all((b.data >= 0) & (b.data < 1))
    full = rmat(7, edge_factor=8, seed=3, self_loops=False)
    assert same(full != 0, a != 0)  # same pattern; duplicates only change the values


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"scale": 0}, "scale"),
        ({"scale": 2.5}, "scale"),
        ({"scale": 4, "edge_factor": 0}, "edge_factor"),
        ({"scale": 4, "a": 0.6}, "sum to 1"),
        ({"scale": 4, "a": -0.1, "b": 0.86}, "a: probability"),
        ({"scale": 4, "values": "gauss"}, "values"),
        ({"scale": 4, "seed": None}, "seed"),
        ({"scale": 4, "seed": "x"}, "seed"),
    ],
)
def test_rmat_validation(kwargs, field):
    kwargs = {"seed": 0, **kwargs}
    with pytest.raises(InputError, match=field):
        rmat(**kwargs)


def test_uniform_random():
    a = uniform_random(30, 50, nnz_per_row=7, seed=0)
    assert a.shape == (30, 50) and np.all(np.diff(a.indptr) == 7) and a.has_canonical_format
    b = uniform_random(30, 50, density=0.2, seed=0)
    assert b.nnz == 300
    assert same(uniform_random(30, 50, density=0.2, seed=0), b)
    c = uniform_random(10, 8, nnz_per_row=6, seed=1, values="ones")  # dense regime
    assert np.all(np.diff(c.indptr) == 6) and np.all(c.data == 1.0)
    with pytest.raises(InputError, match="exactly one"):
        uniform_random(3, 3, seed=0)
    with pytest.raises(InputError, match="density"):
        uniform_random(3, 3, density=1.5, seed=0)
    with pytest.raises(InputError, match="nnz_per_row"):
        uniform_random(3, 3, nnz_per_row=4, seed=0)


def test_reading_a_4mb_file_round_trips(tmp_path):
    # Speed is measured in benchmarks (BENCHMARKS.md), not asserted here.
    a = rmat(14, seed=9, values="uniform")  # ~250k entries, ~5 MB of text
    path = tmp_path / "big.mtx"
    write_mtx(path, a)
    assert path.stat().st_size > 4_000_000
    b = read_mtx(path)
    assert same(a, b)
