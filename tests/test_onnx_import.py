"""ONNX import: the nine real graphs of the onnx wheel, a BERT layer and MobileNet built with
onnx.helper, grouped/depthwise lowering, every entry point, and one-line errors for bad files."""

from __future__ import annotations

import json
import math
import textwrap
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper, shape_inference

from archsim.api import simulate
from archsim.cli import main
from archsim.config import load_config
from dataflow.sat import GemmSpec, effective_nm, training_gemm_specs
from workloads.dnn import Layer, get_model, layer_table, training_gemms
from workloads.dnn import onnx_examples as ex
from workloads.dnn.onnx_import import import_onnx, load_model, nm_weight_stats, weight_arrays
from workloads.errors import InputError
from workloads.sparsity import NM, nm_mask

LIGHT = Path(onnx.__file__).parent / "backend/test/data/light"

# Forward MACs and parameters per sample of the nine graphs, written down from `_count`
# below (independent of the importer: it reads only onnx's own inferred shapes and sums
# ``output elements x weight fan-in`` per Conv and ``M·K·N`` per Gemm; parameters are weights
# + biases + 2 per BatchNorm channel).  Published cross-checks: AlexNet (BVLC) 60,965,224
# params; VGG-19 143,667,240 params / 19.6 GMACs; SqueezeNet 1.0 1,235,496 params; ResNet-50
# equals the zoo's torchvision resnet50 (25,557,032 / 4.089 G); DenseNet-121 7,978,856 params.
EXPECTED = {
    "light_bvlc_alexnet": (654_560_384, 60_965_224),
    "light_densenet121": (2_834_161_664, 7_978_856),
    "light_inception_v1": (1_431_556_352, 6_998_552),
    "light_inception_v2": (2_018_851_840, 11_194_984),
    "light_resnet50": (4_089_184_256, 25_557_032),
    "light_shufflenet": (124_664_528, 1_393_320),
    "light_squeezenet": (349_151_936, 1_235_496),
    "light_vgg19": (19_632_062_464, 143_667_240),
    "light_zfnet512": (1_481_727_008, 87_250_536),
}


def _count(path: Path) -> tuple[int, int]:
    """Independent count from onnx's inferred shapes (see EXPECTED)."""
    g = shape_inference.infer_shapes(onnx.load(str(path))).graph
    shp = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
           for vi in [*g.input, *g.value_info, *g.output]}
    shp.update({t.name: list(t.dims) for t in g.initializer})
    macs = params = 0
    for n in g.node:
        if n.op_type == "Conv":
            w, y = shp[n.input[1]], shp[n.output[0]]
            macs += math.prod(y) // y[0] * math.prod(w[1:])  # per sample
            params += math.prod(w) + (w[0] if len(n.input) > 2 else 0)
        elif n.op_type == "Gemm":
            b, y = shp[n.input[1]], shp[n.output[0]]
            macs += math.prod(y) // y[0] * (math.prod(b) // y[1])
            params += math.prod(b) + y[1]
        elif n.op_type == "BatchNormalization":
            params += 2 * shp[n.input[1]][0]
    return macs, params


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def sat_cfg():
    return load_config("sat")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_light_graph_imports_counts_and_trains_2_8(name, sat_cfg):
    path = LIGHT / f"{name}.onnx"
    imp = import_onnx(path)
    assert (imp.model.macs, imp.model.params) == EXPECTED[name] == _count(path)
    # Every node is a layer or listed (nothing silently dropped).
    nodes = len(onnx.load(str(path), load_external_data=False).graph.node)
    assert len(imp.layer_nodes) + len(imp.other_ops) == nodes
    r = simulate(sat_cfg, {"model": str(path), "batch": 1, "sparsity": "2:8"})
    gemms = training_gemms(imp.model, 1)
    assert r.metrics["dense_macs"] == sum(g.macs for g in gemms)
    assert r.metrics["effective_macs"] < r.metrics["dense_macs"]
    assert r.total_cycles > 0 and r.workload == f"{name}/b1/2:8"


def test_vgg19_by_hand():
    """VGG-19 (configuration E) from its layer list, not from any graph."""
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
           512, 512, 512, 512, "M"]
    macs, cin, hw = 0, 3, 224
    for c in cfg:
        if c == "M":
            hw //= 2
            continue
        macs += hw * hw * c * cin * 9
        cin = c
    macs += 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    assert import_onnx(LIGHT / "light_vgg19.onnx").model.macs == macs


def test_resnet50_equals_the_zoo_layer_by_layer():
    """The onnx graph (Caffe2 ResNet-50) puts the stride on the 3x3 conv, like torchvision's
    v1.5 that the zoo models: every layer's kind, shapes, MACs and params agree in order."""
    onnx_m = import_onnx(LIGHT / "light_resnet50.onnx").model
    zoo = get_model("resnet50")
    assert len(onnx_m.layers) == len(zoo.layers)
    for a, b in zip(onnx_m.layers, zoo.layers):
        assert (a.kind, a.macs, a.params) == (b.kind, b.macs, b.params), (a.name, b.name)
        if a.kind == "conv2d":
            assert (a.in_ch, a.out_ch, a.kernel, a.stride, a.in_hw) == \
                   (b.in_ch, b.out_ch, b.kernel, b.stride, b.in_hw)
    key = lambda g: (g.pass_, g.m, g.k, g.n, g.count, g.weight_operand, g.channels)  # noqa: E731
    assert [key(g) for g in training_gemms(onnx_m, 2)] == [key(g) for g in training_gemms(zoo, 2)]


def test_transformer_block_equals_bert_layer(tmp_path):
    path = ex.save(ex.transformer_block(), tmp_path / "bert_layer.onnx")
    imp = import_onnx(path, batch=3)
    zoo = [l for l in get_model("bert_base").layers if l.name.startswith("encoder.layer.0.")]
    got = {l.name: l for l in imp.model.layers}
    for z in zoo:
        short = z.name.removeprefix("encoder.layer.0.").removeprefix("attention.self.")
        a = got[short]
        assert (a.kind, a.macs, a.params) == (z.kind, z.macs, z.params), z.name
    assert imp.model.macs == sum(l.macs for l in zoo) == 931_135_488
    scores = got["scores"]
    assert (scores.m, scores.k, scores.n, scores.count) == (128, 64, 128, 12)
    # The bias Adds are recognised and listed, softmax and reshapes are listed too.
    summary = imp.op_summary()
    assert summary["bias:Add"]["nodes"] == 6 and "elementwise:Softmax" in summary
    # Attention matmuls: FF + two dense BP GEMMs with count = batch x heads.
    g = [x for x in training_gemms(imp.model, 3) if x.layer == "scores"]
    assert [(x.pass_, x.count, x.weight_operand) for x in g] == [("FF", 36, False),
                                                                ("BP", 36, False),
                                                                ("BP", 36, False)]


def test_dynamic_batch_binding_gives_the_same_per_sample_model(tmp_path):
    path = ex.save(ex.transformer_block(seq=16, dim=64, heads=4, mlp=128), tmp_path / "t.onnx")
    with pytest.raises(InputError, match=r"t\.onnx: input 'x' has a dynamic batch dim"):
        import_onnx(path)
    a, b = import_onnx(path, batch=1).model, import_onnx(path, batch=5).model
    assert a.layers == b.layers and a.macs == 16 * 64 * 64 * 4 + 2 * 16 * 64 * 128 + \
        2 * 4 * 16 * 16 * 16


def test_mobilenet_v1_depthwise(tmp_path):
    path = ex.save(ex.mobilenet_v1(), tmp_path / "mobilenet_v1.onnx")
    m = import_onnx(path).model
    # Howard et al. 2017, Table 1/2: 4.2 M parameters, 569 M mult-adds (BN parameters included).
    assert m.params == 4_231_976 and m.macs == 568_740_352
    dw = m.layer("dw2")
    assert (dw.groups, dw.in_ch, dw.stride, dw.out_hw) == (64, 64, (2, 2), (56, 56))
    ff, bp, wu = training_gemms(m, 2)[2:5]  # conv0 has FF+WU, then dw1's three GEMMs
    assert (ff.layer, ff.m, ff.k, ff.n, ff.count, ff.channels) == ("dw1", 2 * 112 * 112, 9, 1,
                                                                   32, 1)
    assert (bp.k, bp.n, bp.count, wu.m, wu.k, wu.n) == (1, 9, 32, 9, 2 * 112 * 112, 1)
    # BDWP: one channel per group cannot be 2:8, so the depthwise GEMMs stay dense; the
    # pointwise ones are pruned.
    specs = {(s.layer, s.pass_): s for s in training_gemm_specs(training_gemms(m, 2))}
    assert effective_nm(specs["dw1", "FF"], NM(2, 8)).is_dense
    assert effective_nm(specs["dw1", "BP"], NM(2, 8)).is_dense
    assert effective_nm(specs["pw1", "FF"], NM(2, 8)) == NM(2, 8)


def test_grouped_conv_channels_per_group_decide_nm():
    """Grouped GEMMs: count = groups, k = (Cin/G)·kh·kw, n = Cout/G; N:M inside each group."""
    from workloads.dnn import conv2d, layer_gemms

    ok = conv2d("g4", 64, 128, kernel=3, padding=1, in_hw=14, groups=4)  # 16 channels / group
    few = conv2d("g16", 64, 64, kernel=1, in_hw=14, groups=16)  # 4 channels / group < M = 8
    ff, bp, wu = layer_gemms(ok, 2)
    assert (ff.m, ff.k, ff.n, ff.count, ff.channels) == (2 * 196, 16 * 9, 32, 4, 16)
    assert (bp.k, bp.n, bp.channels) == (32, 16 * 9, 32)
    assert sum(g.macs for g in (ff,)) == 2 * ok.macs
    spec = lambda g: GemmSpec(g.layer, g.pass_, g.m, g.k, g.n, g.count, True,  # noqa: E731
                              channels=g.channels)
    assert effective_nm(spec(ff), NM(2, 8)) == NM(2, 8)
    assert effective_nm(spec(layer_gemms(few, 2)[0]), NM(2, 8)).is_dense
    assert effective_nm(spec(layer_gemms(few, 2)[0]), NM(2, 4)) == NM(2, 4)


def _graph(nodes, inits, x_shape, opset=17):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)
    y = helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)
    g = helper.make_graph(nodes, "g", [x], [y], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _w(name, shape):
    return numpy_helper.from_array(np.ones(shape, dtype=np.float32), name)


@pytest.mark.parametrize("attrs, x_hw, out_hw", [
    (dict(dilations=[2, 2], pads=[2, 2, 2, 2]), (20, 20), (20, 20)),
    (dict(pads=[0, 0, 1, 1], strides=[2, 2]), (16, 16), (8, 8)),  # asymmetric (TF "SAME")
    (dict(auto_pad="SAME_UPPER", strides=[2, 2]), (15, 16), (8, 8)),
    (dict(auto_pad="VALID", strides=[1, 2]), (9, 9), (7, 4)),
])
def test_conv_attributes(tmp_path, attrs, x_hw, out_hw):
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c", kernel_shape=[3, 3], **attrs)
    path = tmp_path / "c.onnx"
    onnx.save(_graph([node], [_w("w", (8, 4, 3, 3))], [1, 4, *x_hw]), str(path))
    layer = import_onnx(path).model.layer("c")
    assert layer.out_hw == out_hw and layer.macs == out_hw[0] * out_hw[1] * 8 * 4 * 9
    assert Layer(**json.loads(json.dumps(asdict(layer)))) == layer  # JSON round trip


def test_conv1d_and_matmul_of_weight_on_the_left(tmp_path):
    conv = helper.make_node("Conv", ["x", "w"], ["c"], name="c1d", kernel_shape=[5], pads=[2, 2])
    mm = helper.make_node("MatMul", ["v", "c"], ["y"], name="wx")  # W[16, 8] · c[B, 8, 30]
    path = tmp_path / "c1.onnx"
    onnx.save(_graph([conv, mm], [_w("w", (8, 3, 5)), _w("v", (16, 8))], [2, 3, 30]), str(path))
    m = import_onnx(path).model
    assert m.layer("c1d").macs == 30 * 8 * 3 * 5 and m.layer("c1d").out_hw == (1, 30)
    wx = m.layer("wx")
    assert (wx.kind, wx.in_features, wx.out_features, wx.tokens) == ("linear", 8, 16, 30)


# ---- entry points -------------------------------------------------------------------------


def test_cli_layers_import_run_and_schedule(capsys, tmp_path):
    path = LIGHT / "light_squeezenet.onnx"
    code, out, err = _run(capsys, "workloads", "layers", path, "--batch", "2", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["batch"] == 2
    for row in doc["layers"]:
        for g in row["gemms"]:
            assert g.pop("MACs_per_sample") * 2 == g["MACs"]
    assert doc["layers"] == layer_table(load_model(str(path)), 2)
    code, out, err = _run(capsys, "workloads", "import", path, "--json", tmp_path / "r.json")
    assert code == 0, err
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["macs_per_sample"] == EXPECTED["light_squeezenet"][0]
    assert rep["other_ops"]["elementwise:Concat"]["nodes"] == 8 and "Concat" in out
    code, out, err = _run(capsys, "schedule", "--model", path, "--batch", "1", "--sparsity", "2:8")
    assert code == 0 and out.count(" FF ") == 26, err
    code, out, err = _run(capsys, "run", "sat", "--model", path, "--batch", "1", "--sparsity",
                          "2:8", "--compare-dense")
    assert code == 0 and "speedup vs dense" in out, err


def test_sweep_spec_takes_an_onnx_model_relative_to_the_spec(tmp_path):
    from archsim.sweep import expand, load_spec

    ex.save(ex.transformer_block(seq=8, dim=32, heads=2, mlp=64), tmp_path / "m" / "t.onnx")
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent("""
        base: sat
        axes: {workload.sparsity: ["dense", "2:8"]}
        workloads:
          - {model: m/t.onnx, batch: 2}
    """))
    points = expand(load_spec(spec))
    assert [p.workload["model"] for p in points] == [str((tmp_path / "m/t.onnx").resolve())] * 2
    r = simulate(load_config("sat"), points[1].workload)
    assert r.workload == "t/b2/2:8"
    spec.write_text(spec.read_text().replace("m/t.onnx", "m/absent.onnx"))
    with pytest.raises(InputError, match=r"workloads\[0\]\.model: m/absent\.onnx: file not found"):
        load_spec(spec)


# ---- bad files: one line naming the file (and node), exit 2 -------------------------------


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    out = {}
    p = tmp_path / "notes.onnx"
    p.write_text("this is not a protobuf\n" * 20)
    out["not_onnx"] = (p, "not a valid ONNX model")
    p = tmp_path / "truncated.onnx"
    data = (LIGHT / "light_resnet50.onnx").read_bytes()
    p.write_bytes(data[: len(data) // 2])
    out["truncated"] = (p, "not a valid ONNX model")
    m = onnx.load(str(LIGHT / "light_squeezenet.onnx"))
    m.opset_import[0].version = onnx.defs.onnx_opset_version() + 5
    p = tmp_path / "future.onnx"
    onnx.save(m, str(p))
    out["opset"] = (p, f"opset {onnx.defs.onnx_opset_version() + 5} is newer")
    p = ex.save(ex.transformer_block(seq=8, dim=32, heads=2, mlp=64), tmp_path / "dyn.onnx")
    out["dynamic_batch"] = (p, "input 'x' has a dynamic batch dim (N); give --batch")
    node = helper.make_node("Conv", ["x", "conv1.weight"], ["y"], name="conv1", kernel_shape=[3, 3])
    p = tmp_path / "noweights.onnx"
    onnx.save(_graph([node], [], [1, 3, 8, 8]), str(p))
    out["missing_weights"] = (p, "node 'conv1' (Conv): weight input 'conv1.weight' is missing")
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", kernel_shape=[2, 2])
    p = tmp_path / "deconv.onnx"
    onnx.save(_graph([node], [_w("w", (3, 4, 2, 2))], [1, 3, 8, 8]), str(p))
    out["mac_op"] = (p, "node 'up' (ConvTranspose): operator carries MACs but has no lowering")
    branch = helper.make_graph([helper.make_node("Identity", ["x"], ["b"])], "branch", [],
                               [helper.make_tensor_value_info("b", TensorProto.FLOAT, None)])
    cond = numpy_helper.from_array(np.array(True), "cond")
    node = helper.make_node("If", ["cond"], ["y"], name="maybe", then_branch=branch,
                            else_branch=branch)
    p = tmp_path / "if.onnx"
    onnx.save(_graph([node], [cond], [1, 3, 8, 8]), str(p))
    out["control_flow"] = (p, "node 'maybe' (If): control flow with a subgraph")
    return out


@pytest.mark.parametrize("case", ["not_onnx", "truncated", "opset", "dynamic_batch",
                                  "missing_weights", "mac_op", "control_flow"])
def test_bad_files_are_one_line_errors(capsys, tmp_path, case):
    path, fragment = _bad_files(tmp_path)[case]
    code, out, err = _run(capsys, "workloads", "import", path)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ") and fragment in lines[0], err
    if case != "dynamic_batch":  # --model with a batch: same error through run sat
        code, _, err = _run(capsys, "run", "sat", "--model", path, "--batch", "1")
        assert code == 2 and str(path) in err and len(err.strip().splitlines()) == 1


# ---- real weights -------------------------------------------------------------------------


def test_weight_statistics_from_initializers(capsys, tmp_path):
    path = ex.save(ex.small_cnn(seed=3), tmp_path / "small.onnx")
    imp = import_onnx(path)
    ws = weight_arrays(imp)
    assert set(ws) == {"conv0", "grouped", "dw", "pw", "fc"}
    src = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    np.testing.assert_array_equal(ws["fc"], src["fc.weight"].T)  # Gemm B [in, out] -> [out, in]
    nm = NM(2, 8)
    stats = {n: nm_weight_stats(imp.model.layer(n), w, nm) for n, w in ws.items()}
    assert not stats["conv0"]["prunable"] and not stats["dw"]["prunable"]  # 3 and 1 ch/group
    assert stats["pw"]["groups_already_nm"] == 1.0 and stats["pw"]["magnitude_kept"] == 1.0
    # Independent: the grouped conv's groups of 8 input channels (= one whole group) per
    # (out channel, kh, kw): keep the 2 largest magnitudes.
    w = np.abs(src["grouped.weight"].astype(np.float64))  # [64, 8, 3, 3]
    top2 = np.sort(w, axis=1)[:, -2:].sum()
    assert stats["grouped"]["magnitude_kept"] == pytest.approx(top2 / w.sum(), rel=1e-12)
    assert stats["grouped"]["groups_already_nm"] == 0.0
    code, out, err = _run(capsys, "workloads", "import", path, "--weights", "--json",
                          tmp_path / "w.json")
    assert code == 0, err
    assert "groups already N:M" in out
    rep = json.loads((tmp_path / "w.json").read_text())
    assert {r["layer"]: r["groups_already_nm"] for r in rep["weights"]["per_layer"]}["pw"] == 1.0


def test_placeholder_weights_have_no_values():
    imp = import_onnx(LIGHT / "light_bvlc_alexnet.onnx")
    assert weight_arrays(imp) == {}  # ConstantOfShape placeholders: shapes only
    assert len(imp.weight_inputs) == 8


def test_nm_mask_along_groups_matches_sparsity_module():
    """`nm_weight_stats` prunes exactly what `nm_mask` keeps along the input-channel axis."""
    from workloads.dnn import linear

    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 16))
    s = nm_weight_stats(linear("l", 16, 6), w, NM(2, 8))
    kept = np.abs(w * nm_mask(w, NM(2, 8), axis=1)).sum() / np.abs(w).sum()
    assert s["magnitude_kept"] == pytest.approx(kept)
