"""Model zoo: the layer shapes of six published networks, exact to the parameter.

What is modelled
----------------
Each model is the sequence of its GEMM-bearing layers (conv2d, linear, attention matmuls) and
parameter-bearing layers (norms, embeddings) in forward order, with the shapes of the reference
implementation:

============  ======================================================  ==============  =========
name          reference                                               params          fwd MACs
============  ======================================================  ==============  =========
resnet18      torchvision ``resnet18``, 3x224x224                     11,689,512      1.814 G
resnet50      torchvision ``resnet50`` (v1.5: stride on the 3x3)      25,557,032      4.089 G
vgg16         torchvision ``vgg16`` (no BN), 3x224x224                138,357,544     15.470 G
vit_b_16      torchvision ``vit_b_16``, 224, patch 16, 197 tokens     86,567,656      17.564 G
bert_base     HF ``bert-base-uncased`` encoder + pooler, seq 128      109,482,240     11.174 G
gpt2          HF ``gpt2`` (small), seq 1024, LM head tied to ``wte``  124,439,808     145.824 G
============  ======================================================  ==============  =========

MACs count conv, linear and attention matmuls (as torchvision's published GFLOPS do); norms,
activations, softmax and pooling are not MACs.  GPT-2's attention is counted as a full
``1024 x 1024`` score matrix (the causal mask is applied to it, not used to skip work).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from workloads.dnn.layers import Layer, conv2d, embedding, linear, matmul, norm
from workloads.errors import InputError, did_you_mean

__all__ = ["Model", "MODELS", "get_model"]


@dataclass(frozen=True)
class Model:
    """A network as a tuple of `Layer`s in forward order; ``input`` describes one sample."""

    name: str
    layers: tuple[Layer, ...]
    input: str

    def __post_init__(self) -> None:
        seen: dict[str, Layer] = {}
        for layer in self.layers:
            if layer.name in seen:
                raise InputError(f"model {self.name!r}: duplicate layer name {layer.name!r}")
            if layer.tied_to is not None:
                src = seen.get(layer.tied_to)
                if src is None or src.kind != "embedding":
                    raise InputError(
                        f"model {self.name!r}: layer {layer.name!r} is tied to "
                        f"{layer.tied_to!r}, which is not an earlier embedding"
                    )
                if {src.num, src.dim} != {layer.in_features, layer.out_features}:
                    raise InputError(
                        f"model {self.name!r}: layer {layer.name!r} shape does not match the "
                        f"tied embedding {src.name!r}"
                    )
            seen[layer.name] = layer

    @property
    def params(self) -> int:
        """Trainable parameters (tied weights counted once)."""
        return sum(layer.params for layer in self.layers)

    @property
    def macs(self) -> int:
        """Forward multiply-accumulates per sample."""
        return sum(layer.macs for layer in self.layers)

    def layer(self, name: str) -> Layer:
        """The layer called ``name``; unknown names are an `InputError`."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise InputError(f"layer: unknown {name!r} in model {self.name!r}")


# ---- ResNet (torchvision) ---------------------------------------------------------------


def _resnet(name: str, block: str, blocks: tuple[int, ...], image: int = 224) -> Model:
    layers: list[Layer] = []

    def conv_bn(conv_name: str, bn_name: str, cin: int, cout: int, k: int, s: int, p: int,
                hw: int) -> int:
        conv = conv2d(conv_name, cin, cout, kernel=k, stride=s, padding=p, in_hw=hw)
        layers.append(conv)
        layers.append(norm(bn_name, cout, tokens=conv.out_hw[0] * conv.out_hw[1]))
        return conv.out_hw[0]

    hw = conv_bn("conv1", "bn1", 3, 64, 7, 2, 3, image)
    hw = (hw + 2 * 1 - 3) // 2 + 1  # maxpool 3x3, stride 2, padding 1
    expansion = 1 if block == "basic" else 4
    inplanes = 64
    for stage, (planes, count) in enumerate(zip((64, 128, 256, 512), blocks), start=1):
        for i in range(count):
            stride = 2 if (stage > 1 and i == 0) else 1
            p = f"layer{stage}.{i}"
            in_hw = hw
            if block == "basic":
                hw = conv_bn(f"{p}.conv1", f"{p}.bn1", inplanes, planes, 3, stride, 1, in_hw)
                hw = conv_bn(f"{p}.conv2", f"{p}.bn2", planes, planes, 3, 1, 1, hw)
            else:  # bottleneck v1.5: the stride sits on the 3x3
                hw = conv_bn(f"{p}.conv1", f"{p}.bn1", inplanes, planes, 1, 1, 0, in_hw)
                hw = conv_bn(f"{p}.conv2", f"{p}.bn2", planes, planes, 3, stride, 1, hw)
                hw = conv_bn(f"{p}.conv3", f"{p}.bn3", planes, planes * expansion, 1, 1, 0, hw)
            if stride != 1 or inplanes != planes * expansion:
                conv_bn(f"{p}.downsample.0", f"{p}.downsample.1", inplanes, planes * expansion,
                        1, stride, 0, in_hw)
            inplanes = planes * expansion
    layers.append(linear("fc", 512 * expansion, 1000))  # after global average pooling
    return Model(name, tuple(layers), f"image 3x{image}x{image}")


def _resnet18() -> Model:
    return _resnet("resnet18", "basic", (2, 2, 2, 2))


def _resnet50() -> Model:
    return _resnet("resnet50", "bottleneck", (3, 4, 6, 3))


# ---- VGG-16 (torchvision, configuration D, no BN) ---------------------------------------


def _vgg16(image: int = 224) -> Model:
    cfg = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
           "M")
    layers: list[Layer] = []
    cin, hw = 3, image
    for idx, item in enumerate(cfg):
        if item == "M":
            hw //= 2
            continue
        # torchvision indexes features as conv, relu, (pool): keep its module indices.
        conv = conv2d(f"features.{_vgg_index(cfg, idx)}", cin, item, kernel=3, padding=1,
                      in_hw=hw, bias=True)
        layers.append(conv)
        cin = item
    # AdaptiveAvgPool2d((7, 7)) is the identity at 224x224.
    layers += [
        linear("classifier.0", 512 * 7 * 7, 4096),
        linear("classifier.3", 4096, 4096),
        linear("classifier.6", 4096, 1000),
    ]
    return Model("vgg16", tuple(layers), f"image 3x{image}x{image}")


def _vgg_index(cfg: tuple, idx: int) -> int:
    return sum(1 if item == "M" else 2 for item in cfg[:idx])


# ---- Transformers ----------------------------------------------------------------------


def _attention(prefix: str, tokens: int, dim: int, heads: int) -> list[Layer]:
    head_dim = dim // heads
    return [
        matmul(f"{prefix}.scores", tokens, head_dim, tokens, count=heads),  # Q·Kᵀ
        matmul(f"{prefix}.context", tokens, tokens, head_dim, count=heads),  # A·V
    ]


def _vit_b_16(image: int = 224, patch: int = 16) -> Model:
    dim, heads, mlp, depth = 768, 12, 3072, 12
    proj = conv2d("conv_proj", 3, dim, kernel=patch, stride=patch, in_hw=image, bias=True)
    tokens = proj.out_hw[0] * proj.out_hw[1] + 1
    layers: list[Layer] = [
        proj,
        embedding("class_token", 1, dim, tokens=1),
        embedding("encoder.pos_embedding", tokens, dim, tokens=tokens),
    ]
    for i in range(depth):
        p = f"encoder.layers.encoder_layer_{i}"
        layers += [
            norm(f"{p}.ln_1", dim, tokens=tokens),
            linear(f"{p}.self_attention.in_proj", dim, 3 * dim, tokens=tokens),
            *_attention(f"{p}.self_attention", tokens, dim, heads),
            linear(f"{p}.self_attention.out_proj", dim, dim, tokens=tokens),
            norm(f"{p}.ln_2", dim, tokens=tokens),
            linear(f"{p}.mlp.0", dim, mlp, tokens=tokens),
            linear(f"{p}.mlp.3", mlp, dim, tokens=tokens),
        ]
    layers += [
        norm("encoder.ln", dim, tokens=tokens),
        linear("heads.head", dim, 1000, tokens=1),  # on the class token only
    ]
    return Model("vit_b_16", tuple(layers), f"image 3x{image}x{image} ({tokens} tokens)")


def _bert_base(seq: int = 128) -> Model:
    dim, heads, mlp, depth, vocab, max_pos = 768, 12, 3072, 12, 30522, 512
    e = "embeddings"
    layers: list[Layer] = [
        embedding(f"{e}.word_embeddings", vocab, dim, tokens=seq),
        embedding(f"{e}.position_embeddings", max_pos, dim, tokens=seq),
        embedding(f"{e}.token_type_embeddings", 2, dim, tokens=seq),
        norm(f"{e}.LayerNorm", dim, tokens=seq),
    ]
    for i in range(depth):
        p = f"encoder.layer.{i}"
        layers += [
            linear(f"{p}.attention.self.query", dim, dim, tokens=seq),
            linear(f"{p}.attention.self.key", dim, dim, tokens=seq),
            linear(f"{p}.attention.self.value", dim, dim, tokens=seq),
            *_attention(f"{p}.attention.self", seq, dim, heads),
            linear(f"{p}.attention.output.dense", dim, dim, tokens=seq),
            norm(f"{p}.attention.output.LayerNorm", dim, tokens=seq),
            linear(f"{p}.intermediate.dense", dim, mlp, tokens=seq),
            linear(f"{p}.output.dense", mlp, dim, tokens=seq),
            norm(f"{p}.output.LayerNorm", dim, tokens=seq),
        ]
    layers.append(linear("pooler.dense", dim, dim, tokens=1))  # on [CLS] only
    return Model("bert_base", tuple(layers), f"{seq} tokens")


def _gpt2(seq: int = 1024) -> Model:
    dim, heads, mlp, depth, vocab, max_pos = 768, 12, 3072, 12, 50257, 1024
    layers: list[Layer] = [
        embedding("wte", vocab, dim, tokens=seq),
        embedding("wpe", max_pos, dim, tokens=seq),
    ]
    for i in range(depth):
        p = f"h.{i}"
        layers += [
            norm(f"{p}.ln_1", dim, tokens=seq),
            linear(f"{p}.attn.c_attn", dim, 3 * dim, tokens=seq),
            *_attention(f"{p}.attn", seq, dim, heads),
            linear(f"{p}.attn.c_proj", dim, dim, tokens=seq),
            norm(f"{p}.ln_2", dim, tokens=seq),
            linear(f"{p}.mlp.c_fc", dim, mlp, tokens=seq),
            linear(f"{p}.mlp.c_proj", mlp, dim, tokens=seq),
        ]
    layers += [
        norm("ln_f", dim, tokens=seq),
        linear("lm_head", dim, vocab, tokens=seq, bias=False, tied_to="wte"),
    ]
    return Model("gpt2", tuple(layers), f"{seq} tokens")


MODELS: dict[str, Callable[[], Model]] = {
    "resnet18": _resnet18,
    "resnet50": _resnet50,
    "vgg16": _vgg16,
    "vit_b_16": _vit_b_16,
    "bert_base": _bert_base,
    "gpt2": _gpt2,
}


@lru_cache(maxsize=None)
def _build(name: str) -> Model:
    return MODELS[name]()


def get_model(name: str) -> Model:
    """The zoo model called ``name`` (see `MODELS`); unknown names are an `InputError`.

    >>> get_model("resnet18").params
    11689512
    """
    if name not in MODELS:
        raise InputError(f"model: unknown {name!r}{did_you_mean(name, MODELS)} "
                         f"(choose one of {', '.join(MODELS)})")
    return _build(name)
