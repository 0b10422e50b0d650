"""Model zoo: exact published parameter and MAC totals, and the training-GEMM lowering."""

from __future__ import annotations

import json

import pytest

from workloads.dnn import (
    MODELS,
    Gemm,
    conv2d,
    get_model,
    layer_gemms,
    layer_table,
    linear,
    non_gemm_elements,
    training_gemms,
)
from workloads.errors import InputError

# Published totals: torchvision model cards / `sum(p.numel())`, Hugging Face configs.
PARAMS = {
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "vgg16": 138_357_544,
    "vit_b_16": 86_567_656,
    "bert_base": 109_482_240,
    "gpt2": 124_439_808,
}
# torchvision's published GFLOPS (really GMACs: conv + linear, and attention matmuls for ViT).
GMACS = {"resnet18": 1.814, "resnet50": 4.089, "vgg16": 15.470, "vit_b_16": 17.564}


def test_registry_has_the_six_models():
    assert set(MODELS) == set(PARAMS)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_param_totals_exact(name):
    assert get_model(name).params == PARAMS[name]


@pytest.mark.parametrize("name", sorted(GMACS))
def test_mac_totals_match_torchvision(name):
    assert round(get_model(name).macs / 1e9, 3) == GMACS[name]


def test_known_layer_shapes():
    r50 = get_model("resnet50")
    # v1.5: the stride sits on the 3x3 conv of the first bottleneck of a stage.
    assert r50.layer("layer2.0.conv1").stride == (1, 1)
    assert r50.layer("layer2.0.conv2").stride == (2, 2)
    assert r50.layer("layer4.2.conv3").out_hw == (7, 7)
    vit = get_model("vit_b_16")
    assert vit.layer("encoder.pos_embedding").num == 197
    assert vit.layer("encoder.layers.encoder_layer_0.self_attention.scores").macs == (
        12 * 197 * 64 * 197
    )
    gpt2 = get_model("gpt2")
    head = gpt2.layer("lm_head")
    assert head.params == 0 and head.macs == 1024 * 768 * 50257


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_every_weighted_layer_has_ff_wu_and_bp_except_first(name):
    model = get_model(name)
    gemms = training_gemms(model, 2)
    passes: dict[str, list[str]] = {}
    for g in gemms:
        passes.setdefault(g.layer, []).append(g.pass_)
    first = model.layers[0].name
    for layer in model.layers:
        got = passes.get(layer.name, [])
        if layer.kind in ("conv2d", "linear"):
            expected = ["FF", "WU"] if layer.name == first else ["FF", "BP", "WU"]
            assert got == expected, layer.name
        elif layer.kind == "matmul":
            assert got == ["FF", "BP", "BP"], layer.name
        else:
            assert got == [], layer.name
    # In forward layer order.
    order = {layer.name: i for i, layer in enumerate(model.layers)}
    idx = [order[g.layer] for g in gemms]
    assert idx == sorted(idx)


@pytest.mark.parametrize("name", sorted(PARAMS))
@pytest.mark.parametrize("batch", [1, 3])
def test_ff_gemm_macs_equal_layer_macs_times_batch(name, batch):
    model = get_model(name)
    ff = {g.layer: g.macs for g in training_gemms(model, batch) if g.pass_ == "FF"}
    for layer in model.layers:
        if layer.macs:
            assert ff[layer.name] == layer.macs * batch, layer.name
    assert sum(ff.values()) == model.macs * batch


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_bp_and_wu_have_the_ff_work(name):
    """Each backward GEMM of a layer does as many MACs as its forward GEMM; WU is dense."""
    model = get_model(name)
    gemms = training_gemms(model, 2)
    assert all(not g.weight_operand for g in gemms if g.pass_ == "WU")
    for layer in model.layers:
        mine = [g for g in gemms if g.layer == layer.name]
        for g in mine[1:]:
            assert g.macs == mine[0].macs


def test_conv_lowering_shapes_and_channel_runs():
    c = conv2d("c", 64, 128, kernel=3, stride=2, padding=1, in_hw=56)
    ff, bp, wu = layer_gemms(c, 4)
    p = 4 * 28 * 28
    assert (ff.m, ff.k, ff.n, ff.weight_operand, ff.channels) == (p, 64 * 9, 128, True, 64)
    assert (bp.m, bp.k, bp.n, bp.weight_operand, bp.channels) == (p, 128, 64 * 9, True, 128)
    assert (wu.m, wu.k, wu.n, wu.weight_operand) == (64 * 9, p, 128, False)


def test_linear_lowering_shapes():
    fc = linear("fc", 768, 3072, tokens=128)
    ff, bp, wu = layer_gemms(fc, 2)
    assert (ff.m, ff.k, ff.n) == (256, 768, 3072)
    assert (bp.m, bp.k, bp.n) == (256, 3072, 768)
    assert (wu.m, wu.k, wu.n) == (768, 256, 3072)


def test_attention_matmul_lowering():
    model = get_model("bert_base")
    name = "encoder.layer.0.attention.self.scores"
    ff, bp_a, bp_b = [g for g in training_gemms(model, 2) if g.layer == name]
    assert (ff.m, ff.k, ff.n, ff.count, ff.weight_operand) == (128, 64, 128, 24, False)
    assert (bp_a.m, bp_a.k, bp_a.n) == (128, 128, 64)  # dQ = dS·K
    assert (bp_b.m, bp_b.k, bp_b.n) == (64, 128, 128)  # dKᵀ = Qᵀ·dS


def test_layer_table_is_json_and_consistent():
    model = get_model("resnet18")
    table = layer_table(model, 8)
    json.dumps(table)
    assert [row["name"] for row in table] == [layer.name for layer in model.layers]
    fc = table[-1]
    assert fc["type"] == "linear"
    assert {g["pass"]: (g["M"], g["N"], g["K"]) for g in fc["gemms"]} == {
        "FF": (8, 1000, 512),
        "BP": (8, 512, 1000),
        "WU": (512, 1000, 8),
    }
    total = sum(g["MACs"] for row in table for g in row["gemms"])
    assert total == sum(g.macs for g in training_gemms(model, 8))


def test_non_gemm_elements():
    model = get_model("resnet18")
    elems = non_gemm_elements(model, 2)
    assert elems["conv1"] == 2 * 64 * 112 * 112
    assert elems["bn1"] == 2 * 64 * 112 * 112
    assert elems["fc"] == 2 * 1000


@pytest.mark.parametrize("bad", ["foo", "ResNet18", ""])
def test_unknown_model_is_an_input_error(bad):
    with pytest.raises(InputError, match="model: unknown") as err:
        get_model(bad)
    assert "resnet18" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "8", True])
def test_bad_batch_is_an_input_error(bad):
    with pytest.raises(InputError, match="batch"):
        training_gemms(get_model("resnet18"), bad)
    with pytest.raises(InputError, match="batch"):
        layer_table(get_model("resnet18"), bad)


def test_bad_shapes_are_input_errors():
    with pytest.raises(InputError, match="groups"):
        conv2d("c", 6, 8, kernel=3, in_hw=8, groups=4)
    with pytest.raises(InputError, match="kernel"):
        conv2d("c", 3, 8, kernel=9, in_hw=4)
    with pytest.raises(InputError, match="in_features"):
        linear("fc", 0, 10)
    with pytest.raises(InputError, match="channels"):
        Gemm("x", "FF", 2, 6, 2, channels=4)
    with pytest.raises(InputError, match="pass_"):
        Gemm("x", "XX", 2, 6, 2)


def test_layers_round_trip_through_json():
    import dataclasses

    from workloads.dnn import Layer

    for layer in get_model("resnet50").layers[:4] + get_model("gpt2").layers[-2:]:
        again = Layer(**json.loads(json.dumps(dataclasses.asdict(layer))))
        assert again == layer
