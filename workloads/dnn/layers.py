"""One DNN layer with exact shapes: its parameters, forward MACs and output size per sample.

What is modelled
----------------
A `Layer` is one operator of a network, described by shapes only (no values):

* ``conv2d``: a 2-D convolution, optionally grouped (``groups`` > 1; depthwise when
  ``groups == in_ch``), dilated, with asymmetric padding (``padding`` is top/left,
  ``padding_end`` bottom/right when it differs, as ONNX allows) and with a bias.
* ``linear``: a fully connected layer applied at ``tokens`` positions per sample (1 for a CNN
  classifier, the sequence length for a transformer).  A ``tied_to`` layer reuses another
  layer's weight (GPT-2's LM head reuses the token embedding): it is a GEMM with a weight
  operand but adds no parameters.
* ``matmul``: an activation x activation product (attention ``Q·Kᵀ`` and ``A·V``):
  ``count`` instances of ``[m, k] x [k, n]`` per sample (one per head); no parameters.
* ``norm``: BatchNorm / LayerNorm over ``features`` channels at ``tokens`` positions; its
  affine scale and shift are its ``2 * features`` parameters; no GEMM.
* ``embedding``: a learned table of ``num x dim`` (word, position, token-type embeddings, ViT's
  class token and position embedding); looked up or added at ``tokens`` positions; no GEMM.

Pooling, activations, softmax and residual additions are not layers here: they have no
parameters and no GEMM; their elementwise cost is charged on the producing layer's
`Layer.out_elements`.

Use the constructors `conv2d`, `linear`, `matmul`, `norm` and `embedding`; they compute derived
shapes (a convolution's output size) and the dataclass checks that every shape is consistent.

>>> c = conv2d("conv1", 3, 64, kernel=7, stride=2, padding=3, in_hw=224)
>>> c.out_hw, c.params, c.macs
((112, 112), 9408, 118013952)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workloads.errors import InputError

__all__ = ["Layer", "LayerKind", "conv2d", "linear", "matmul", "norm", "embedding"]

LayerKind = Literal["conv2d", "linear", "matmul", "embedding", "norm"]
_KINDS = ("conv2d", "linear", "matmul", "embedding", "norm")

# Shape fields each kind uses; every other shape field must keep its default.
_FIELDS = {
    "conv2d": ("in_ch", "out_ch", "kernel", "stride", "padding", "in_hw", "out_hw", "groups",
               "bias", "dilation", "padding_end"),
    "linear": ("in_features", "out_features", "tokens", "bias", "tied_to"),
    "matmul": ("m", "k", "n", "count"),
    "norm": ("features", "tokens"),
    "embedding": ("num", "dim", "tokens"),
}
_POSITIVE = {
    "conv2d": ("in_ch", "out_ch", "groups"),
    "linear": ("in_features", "out_features", "tokens"),
    "matmul": ("m", "k", "n", "count"),
    "norm": ("features", "tokens"),
    "embedding": ("num", "dim", "tokens"),
}


def _pair(value: int | tuple[int, int], what: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    try:
        a, b = value
    except (TypeError, ValueError):
        raise InputError(f"{what}: expected an int or a pair of ints, got {value!r}") from None
    return (a, b)


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True)
class Layer:
    """One layer's shapes.  ``params`` counts weights and biases; ``macs`` is per sample.

    Only the fields of the layer's ``kind`` are meaningful (see the module docstring); the
    others keep their defaults, and `__post_init__` rejects a layer that sets them.
    """

    name: str
    kind: LayerKind
    # conv2d
    in_ch: int = 0
    out_ch: int = 0
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    in_hw: tuple[int, int] = (0, 0)
    out_hw: tuple[int, int] = (0, 0)
    groups: int = 1
    dilation: tuple[int, int] = (1, 1)
    #: bottom/right padding when it differs from ``padding`` (top/left); None: symmetric
    padding_end: tuple[int, int] | None = None
    # linear
    in_features: int = 0
    out_features: int = 0
    tied_to: str | None = None
    # conv2d and linear
    bias: bool = False
    # linear, norm, embedding: positions per sample
    tokens: int = 1
    # matmul: count x ([m, k] x [k, n]) per sample
    m: int = 0
    k: int = 0
    n: int = 0
    count: int = 1
    # norm
    features: int = 0
    # embedding
    num: int = 0
    dim: int = 0

    def __post_init__(self) -> None:
        where = f"layer {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"layer name: expected a non-empty string, got {self.name!r}")
        if self.kind not in _KINDS:
            raise InputError(f"{where}: kind must be one of {', '.join(_KINDS)}; got {self.kind!r}")
        for field_name in ("kernel", "stride", "padding", "in_hw", "out_hw", "dilation",
                           "padding_end"):
            if isinstance(getattr(self, field_name), list):  # e.g. read back from JSON
                object.__setattr__(self, field_name, tuple(getattr(self, field_name)))
        used = _FIELDS[self.kind]
        for field_name, default in _DEFAULTS.items():
            if field_name not in used and getattr(self, field_name) != default:
                raise InputError(f"{where}: field {field_name!r} does not apply to a {self.kind}")
        for field_name in _POSITIVE[self.kind]:
            value = getattr(self, field_name)
            if not _is_int(value) or value < 1:
                raise InputError(f"{where}: {field_name} must be an int >= 1, got {value!r}")
        if self.kind == "conv2d":
            self._check_conv(where)

    def _check_conv(self, where: str) -> None:
        for field_name in ("kernel", "stride", "padding", "in_hw", "out_hw", "dilation",
                           "padding_end"):
            pair = getattr(self, field_name)
            if field_name == "padding_end" and pair is None:
                continue
            if not (isinstance(pair, tuple) and len(pair) == 2 and all(map(_is_int, pair))):
                raise InputError(f"{where}: {field_name} must be a pair of ints, got {pair!r}")
        if (min(*self.kernel, *self.stride, *self.in_hw, *self.dilation) < 1
                or min(*self.padding, *self.pads_end) < 0):
            raise InputError(
                f"{where}: kernel, stride, dilation, in_hw must be >= 1 and padding >= 0, got "
                f"kernel {self.kernel}, stride {self.stride}, dilation {self.dilation}, in_hw "
                f"{self.in_hw}, padding {self.padding}/{self.pads_end}"
            )
        if self.in_ch % self.groups or self.out_ch % self.groups:
            raise InputError(
                f"{where}: groups={self.groups} must divide in_ch={self.in_ch} and "
                f"out_ch={self.out_ch}"
            )
        expected = _conv_out_hw(self.in_hw, self.kernel, self.stride, self.padding,
                                self.dilation, self.pads_end)
        if min(expected) < 1:
            raise InputError(f"{where}: kernel {self.kernel} larger than padded input {self.in_hw}")
        if self.out_hw != expected:
            raise InputError(f"{where}: out_hw {self.out_hw} inconsistent, expected {expected}")

    # ---- derived quantities -------------------------------------------------------------
    @property
    def pads_end(self) -> tuple[int, int]:
        """Bottom/right padding of a conv2d (``padding`` unless set apart)."""
        return self.padding if self.padding_end is None else self.padding_end

    @property
    def has_weight(self) -> bool:
        """True for layers whose GEMM has a weight operand (conv2d and linear, tied or not)."""
        return self.kind in ("conv2d", "linear")

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """PyTorch layout of the weight: ``[out, in/groups, kh, kw]`` or ``[out, in]``."""
        if self.kind == "conv2d":
            return (self.out_ch, self.in_ch // self.groups, *self.kernel)
        if self.kind == "linear":
            return (self.out_features, self.in_features)
        return ()

    @property
    def params(self) -> int:
        """Trainable parameters: weights + biases, norm affine pairs, embedding tables."""
        if self.kind == "conv2d":
            kh, kw = self.kernel
            return self.out_ch * (self.in_ch // self.groups) * kh * kw + self.out_ch * self.bias
        if self.kind == "linear":
            if self.tied_to is not None:
                return 0
            return self.in_features * self.out_features + self.out_features * self.bias
        if self.kind == "norm":
            return 2 * self.features
        if self.kind == "embedding":
            return self.num * self.dim
        return 0

    @property
    def macs(self) -> int:
        """Forward multiply-accumulates per sample (GEMM work only; bias adds not counted)."""
        if self.kind == "conv2d":
            kh, kw = self.kernel
            oh, ow = self.out_hw
            return oh * ow * self.out_ch * (self.in_ch // self.groups) * kh * kw
        if self.kind == "linear":
            return self.tokens * self.in_features * self.out_features
        if self.kind == "matmul":
            return self.count * self.m * self.k * self.n
        return 0

    @property
    def out_elements(self) -> int:
        """Forward output elements per sample: what a vector unit touches after this layer."""
        if self.kind == "conv2d":
            return self.out_ch * self.out_hw[0] * self.out_hw[1]
        if self.kind == "linear":
            return self.tokens * self.out_features
        if self.kind == "matmul":
            return self.count * self.m * self.n
        if self.kind == "norm":
            return self.tokens * self.features
        return self.tokens * self.dim  # embedding


_DEFAULTS = {
    name: getattr(Layer, name)
    for name in ("in_ch", "out_ch", "kernel", "stride", "padding", "in_hw", "out_hw", "groups",
                 "in_features", "out_features", "tied_to", "bias", "tokens", "m", "k", "n",
                 "count", "features", "num", "dim", "dilation", "padding_end")
}


def _conv_out_hw(in_hw, kernel, stride, padding, dilation=(1, 1), pads_end=None) -> tuple[int, int]:
    pads_end = padding if pads_end is None else pads_end
    return tuple(
        (i + p0 + p1 - d * (kk - 1) - 1) // s + 1
        for i, kk, s, p0, p1, d in zip(in_hw, kernel, stride, padding, pads_end, dilation)
    )


def conv2d(
    name: str,
    in_ch: int,
    out_ch: int,
    *,
    kernel: int | tuple[int, int],
    in_hw: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    groups: int = 1,
    bias: bool = False,
    dilation: int | tuple[int, int] = 1,
    padding_end: int | tuple[int, int] | None = None,
) -> Layer:
    """A 2-D convolution; ``out_hw`` is computed from the other shapes.

    ``groups`` splits the channels into independent convolutions (``groups == in_ch``:
    depthwise); ``padding_end`` is the bottom/right padding when it differs from ``padding``.

    >>> dw = conv2d("dw", 32, 32, kernel=3, padding=1, in_hw=112, groups=32)
    >>> dw.params, dw.macs
    (288, 3612672)
    """
    kernel = _pair(kernel, f"layer {name!r}: kernel")
    stride = _pair(stride, f"layer {name!r}: stride")
    padding = _pair(padding, f"layer {name!r}: padding")
    in_hw = _pair(in_hw, f"layer {name!r}: in_hw")
    dilation = _pair(dilation, f"layer {name!r}: dilation")
    if padding_end is not None:
        padding_end = _pair(padding_end, f"layer {name!r}: padding_end")
        if padding_end == padding:
            padding_end = None
    out_hw = _conv_out_hw(in_hw, kernel, stride, padding, dilation, padding_end)
    return Layer(name, "conv2d", in_ch=in_ch, out_ch=out_ch, kernel=kernel, stride=stride,
                 padding=padding, in_hw=in_hw, out_hw=out_hw, groups=groups, bias=bias,
                 dilation=dilation, padding_end=padding_end)


def linear(
    name: str,
    in_features: int,
    out_features: int,
    *,
    tokens: int = 1,
    bias: bool = True,
    tied_to: str | None = None,
) -> Layer:
    """A fully connected layer at ``tokens`` positions per sample."""
    return Layer(name, "linear", in_features=in_features, out_features=out_features,
                 tokens=tokens, bias=bias, tied_to=tied_to)


def matmul(name: str, m: int, k: int, n: int, *, count: int = 1) -> Layer:
    """``count`` activation x activation products ``[m, k] x [k, n]`` per sample."""
    return Layer(name, "matmul", m=m, k=k, n=n, count=count)


def norm(name: str, features: int, *, tokens: int = 1) -> Layer:
    """BatchNorm / LayerNorm over ``features`` at ``tokens`` positions (2·features params)."""
    return Layer(name, "norm", features=features, tokens=tokens)


def embedding(name: str, num: int, dim: int, *, tokens: int = 1) -> Layer:
    """A learned ``num x dim`` table used at ``tokens`` positions per sample."""
    return Layer(name, "embedding", num=num, dim=dim, tokens=tokens)
