"""N:M masks, BDWP and the compressed form, on real MiniLM weights and random tensors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workloads.errors import InputError
from workloads.sparsity import NM, bdwp_masks, compress, decompress, nm_mask, parse_nm

#: MiniLM-L6 layer-0 weights in the shared test data (`shared_data` fixture, tests/conftest.py)
REAL = ["minilm_l6_layer0_q", "minilm_l6_layer0_k", "minilm_l6_layer0_v",
        "minilm_l6_layer0_attn_out", "minilm_l6_layer0_ffn_fc1", "minilm_l6_layer0_ffn_fc2"]
RATIOS = [NM(1, 4), NM(2, 4), NM(2, 8), NM(1, 2), NM(4, 8)]


def group_counts(mask: np.ndarray, m: int, axis: int) -> np.ndarray:
    """Number of kept entries in every group of ``m`` consecutive elements along ``axis``."""
    moved = np.moveaxis(mask, axis, -1)
    return moved.reshape(*moved.shape[:-1], -1, m).sum(axis=-1)


def assert_keeps_largest(w: np.ndarray, mask: np.ndarray, m: int, axis: int) -> None:
    """Every kept entry is at least as large in magnitude as every dropped one of its group."""
    a = np.moveaxis(np.abs(w), axis, -1).reshape(-1, m)
    k = np.moveaxis(mask, axis, -1).reshape(-1, m)
    kept_min = np.where(k, a, np.inf).min(axis=1)
    dropped_max = np.where(~k, a, -np.inf).max(axis=1)
    assert np.all(kept_min >= dropped_max)


@pytest.mark.parametrize("name", REAL)
@pytest.mark.parametrize("nm", RATIOS, ids=str)
def test_bdwp_on_real_weights(name, nm, shared_data):
    w = np.load(shared_data.path(f"models/weights/{name}.npy"))  # [out_features, in_features], PyTorch nn.Linear layout
    assert w.ndim == 2
    ff, bp = bdwp_masks(w, nm)
    # FF: N of every M along the input (FF reduction) axis; BP: along the output axis.
    assert np.all(group_counts(ff, nm.m, axis=1) == nm.n)
    assert np.all(group_counts(bp, nm.m, axis=0) == nm.n)
    assert ff.sum() == bp.sum() == w.size * nm.n // nm.m
    assert_keeps_largest(w, ff, nm.m, axis=1)
    assert_keeps_largest(w, bp, nm.m, axis=0)
    values, indices = compress(w, nm, axis=1)
    assert values.shape == (w.shape[0], w.shape[1] // nm.m * nm.n)
    np.testing.assert_array_equal(decompress(values, indices, nm, axis=1), w * ff)


@pytest.mark.parametrize("nm", RATIOS, ids=str)
def test_bdwp_on_random_conv_weight(nm):
    rng = np.random.default_rng(1234)
    w = rng.standard_normal((16, 32, 3, 3)).astype(np.float32)  # [out, in, kh, kw]
    ff, bp = bdwp_masks(w, nm)
    assert np.all(group_counts(ff, nm.m, axis=1) == nm.n)
    assert np.all(group_counts(bp, nm.m, axis=0) == nm.n)
    assert_keeps_largest(w, ff, nm.m, axis=1)


def test_ties_break_to_the_lower_index():
    mask = nm_mask(np.ones((1, 8)), NM(2, 4), axis=1)
    assert mask.astype(int).tolist() == [[1, 1, 0, 0, 1, 1, 0, 0]]


def test_compress_round_trip_and_index_range():
    rng = np.random.default_rng(7)
    w = rng.standard_normal((12, 24))
    for axis in (0, 1):
        values, indices = compress(w, NM(2, 4), axis=axis)
        assert indices.dtype == np.uint8 and indices.max() < 4
        back = decompress(values, indices, NM(2, 4), axis=axis)
        np.testing.assert_array_equal(back, w * nm_mask(w, NM(2, 4), axis=axis))


def test_dense_ratio_keeps_everything():
    w = np.arange(12.0).reshape(3, 4)
    assert nm_mask(w, NM(4, 4), axis=1).all()
    assert nm_mask(w, parse_nm("dense"), axis=1).all()


@pytest.mark.parametrize("text", ["0:4", "5:4", "2:0", "x:4", "2/4", "", "-1:4"])
def test_invalid_ratios_are_input_errors(text):
    with pytest.raises(InputError, match="sparsity") as err:
        parse_nm(text)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("n, m", [(0, 4), (5, 4), (1, 0)])
def test_invalid_nm_constructor(n, m):
    with pytest.raises(InputError):
        NM(n, m)


def test_m_not_dividing_the_axis_is_an_input_error():
    w = np.zeros((8, 6))
    with pytest.raises(InputError, match="does not divide"):
        nm_mask(w, NM(2, 4), axis=1)
    with pytest.raises(InputError, match="does not divide"):
        bdwp_masks(np.zeros((6, 8)), NM(2, 4))  # BP axis (out = 6) fails
    with pytest.raises(InputError, match="does not divide"):
        compress(w, NM(2, 4), axis=1)


@st.composite
def tensors_and_ratios(draw):
    m = draw(st.sampled_from([1, 2, 4, 8]))
    n = draw(st.integers(1, m))
    ndim = draw(st.integers(1, 3))
    axis = draw(st.integers(0, ndim - 1))
    shape = [draw(st.integers(1, 4)) for _ in range(ndim)]
    shape[axis] = m * draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    w = np.random.default_rng(seed).standard_normal(shape)
    return w, NM(n, m), axis


@settings(max_examples=150, deadline=None)
@given(tensors_and_ratios())
def test_property_mask_shape_and_counts(case):
    w, nm, axis = case
    mask = nm_mask(w, nm, axis=axis)
    assert mask.shape == w.shape and mask.dtype == bool
    assert np.all(group_counts(mask, nm.m, axis) == nm.n)
    assert_keeps_largest(w, mask, nm.m, axis)


@settings(max_examples=150, deadline=None)
@given(tensors_and_ratios())
def test_property_compress_shapes_and_round_trip(case):
    w, nm, axis = case
    values, indices = compress(w, nm, axis=axis)
    expected = list(w.shape)
    expected[axis] = w.shape[axis] // nm.m * nm.n
    assert values.shape == indices.shape == tuple(expected)
    if nm.m > 1:
        # Positions are ascending inside each group.
        groups = np.moveaxis(indices, axis, -1).reshape(-1, nm.n).astype(int)
        assert np.all(np.diff(groups, axis=1) > 0)
    back = decompress(values, indices, nm, axis=axis)
    np.testing.assert_array_equal(back, w * nm_mask(w, nm, axis=axis))
