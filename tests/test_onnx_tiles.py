"""Array tiles cut from ONNX initializers, checked against the golden model (no cocotb)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from dataflow.contract import golden_os, golden_ws
from workloads.dnn import onnx_examples as ex
from workloads.dnn.onnx_import import onnx_ff_weight

sys.path.insert(0, str(Path(__file__).parent / "rtl"))
from scenarios import make_tiles  # noqa: E402  (the cocotb scenarios' tile maker)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return ex.save(ex.small_cnn(seed=7), tmp_path_factory.mktemp("onnx") / "small.onnx")


def test_ff_weight_is_the_im2col_operand_of_one_group(small):
    """``im2col(x) @ B`` equals a direct grouped convolution of group 1 (kh, kw, Cin order)."""
    layer, b = onnx_ff_weight(small, "grouped", group=1)
    w = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(small)).graph.initializer}
    w = w["grouped.weight"].astype(np.float64)  # [64, 8, 3, 3], 4 groups
    rng = np.random.default_rng(0)
    x = rng.standard_normal((layer.in_ch, *layer.in_hw))
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    cin_g, cout_g = 8, 16
    xs = xp[cin_g:2 * cin_g]  # group 1's input channels
    oh, ow = layer.out_hw
    direct = np.zeros((oh, ow, cout_g))
    cols = np.zeros((oh * ow, 9 * cin_g))
    for i in range(oh):
        for j in range(ow):
            patch = xs[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3]  # stride 2
            direct[i, j] = np.einsum("chw,ochw->o", patch, w[cout_g:2 * cout_g])
            cols[i * ow + j] = patch.transpose(1, 2, 0).reshape(-1)  # (kh, kw, cin)
    assert b.shape == (9 * cin_g, cout_g)
    np.testing.assert_allclose(cols @ b, direct.reshape(-1, cout_g), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dataflow", ["ws", "os"])
@pytest.mark.parametrize("layer, group", [("pw", 0), ("grouped", 3), ("fc", 0)])
def test_onnx_tiles_match_the_golden_model(small, dataflow, layer, group):
    cfg = dict(dataflow=dataflow, rows=4, cols=4, n=2, m=8, width=8)
    sc = dict(kind="onnx", onnx=str(small), layer=layer, group=group, seed=11, count=12, steps=5)
    tiles = make_tiles(cfg, sc)  # asserts the full GEMM re-assembles to numpy's A @ B
    assert tiles and all(t.ref is not None for t in tiles)
    golden = golden_ws if dataflow == "ws" else golden_os
    for t in tiles:
        np.testing.assert_array_equal(golden(t.acts, t.w, t.idx), t.ref, err_msg=t.name)
        # N:M: at most N non-zero weights per PE step, indices inside the window of M.
        assert (np.count_nonzero(t.w, axis=-1) <= 2).all() and (t.idx < 8).all()


def test_onnx_tiles_refuse_a_group_narrower_than_m(small):
    cfg = dict(dataflow="ws", rows=4, cols=4, n=2, m=8, width=8)
    with pytest.raises(ValueError, match="M=8 does not divide the 1 input channels per group"):
        make_tiles(cfg, dict(kind="onnx", onnx=str(small), layer="dw", seed=0, count=1))
