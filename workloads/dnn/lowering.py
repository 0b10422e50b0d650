"""Lowering a model to the GEMMs of one training step (forward, backward data, weight update).

What is modelled
----------------
Every GEMM computes ``out[m, n] = Σ_k A[m, k] · B[k, n]``, repeated ``count`` times.  ``B`` is
the weight operand when ``weight_operand`` is true: only then can BDWP prune it, N:M along
``k``.  For a conv2d / linear layer with ``P`` output positions per sample (``oh·ow`` or
``tokens``), ``G`` groups, ``Cin``/``Cout`` channels per group and a ``kh x kw`` kernel:

====  ===============================  ===============  ================  =============  ======
pass  what                             m                k                 n              B
====  ===============================  ===============  ================  =============  ======
FF    forward, im2col                  batch·P          Cin·kh·kw         Cout           weight
BP    gradient w.r.t. the input         batch·P          Cout              Cin·kh·kw      weight
WU    gradient w.r.t. the weight        Cin·kh·kw        batch·P           Cout           dense
====  ===============================  ===============  ================  =============  ======

``count = G`` (per group ``Cin = in_ch / G``, ``Cout = out_ch / G``): a grouped convolution is
a batched GEMM of ``G`` independent instances, a depthwise one (``G = in_ch``) has ``Cin = 1``.
The im2col ``k`` axis of FF is ordered ``(kh, kw, Cin)``, so runs of ``channels = Cin``
consecutive ``k`` elements are consecutive input channels *of one group* and N:M groups of
``M | Cin`` never straddle a kernel position or a convolution group (BDWP prunes along the input
channels inside each group; BP along the output channels inside each group).  When the channels
per group are fewer than ``M`` or not a multiple of it (a depthwise conv: 1; ShuffleNet's
first grouped 1x1 conv), that GEMM cannot be pruned N:M and the scheduler runs it dense
(`dataflow.sat.effective_nm`), exactly as it does for the 3-channel first convolution.

Two forms of BP (``bp_form``), same MACs, same N:M groups (along ``Cout``):

* ``col2im`` (default): the table above; BP produces the im2col-shaped input gradient, which
  ``col2im`` scatter-adds back (elementwise work, not a GEMM).  The reduction is ``Cout`` only,
  so layers with few output channels under-fill an array that reduces down its rows.
* ``implicit_gemm``: BP as the transposed convolution of ``dY`` with the flipped kernel,
  gathered directly into ``dX``: ``m = batch·P``, ``k = Cout·th·tw``, ``n = Cin``.  A stride
  ``s`` convolution is split into its ``sh·sw`` sub-pixel phases (input positions with the same
  ``(x + pad) mod s``); phase ``(ph, pw)`` sees ``th·tw`` kernel taps (``th`` = taps ``j < kh``
  with ``j ≡ ph mod sh``), and phases with the same tap count are one GEMM with a larger
  ``count``.  Each phase GEMM is given ``m = batch·oh·ow`` rows (an input phase has about as
  many positions as the output grid; borders are not trimmed), so the MACs equal col2im's
  exactly.  For stride 1 this is the single GEMM ``(batch·P) × (Cout·kh·kw) × Cin``.

BP is omitted for a layer that no trainable layer precedes (the first layer of a CNN or ViT;
``first_layer_bp="skip"``, the default): the gradient w.r.t. the model's input is never needed.
``first_layer_bp="compute"`` keeps it (as a framework does when the input requires a
gradient).  BERT and GPT-2 begin with embeddings, so all their linear layers have BP.

An activation x activation ``matmul`` (``C = A·B``, attention) has one FF GEMM and two BP
GEMMs (``dA = dC·Bᵀ`` and ``dB = Aᵀ·dC``), all dense, ``count = batch·heads``; no WU.  Norms and
embeddings have no GEMM; their (and every layer's) elementwise work is `Layer.out_elements`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workloads.dnn.layers import Layer
from workloads.dnn.zoo import Model
from workloads.errors import InputError

__all__ = ["Gemm", "Pass", "training_gemms", "layer_gemms", "layer_table", "non_gemm_elements"]

Pass = Literal["FF", "BP", "WU"]
_PASSES = ("FF", "BP", "WU")


@dataclass(frozen=True)
class Gemm:
    """``count`` GEMMs ``out[m, n] = Σ_k A[m, k]·B[k, n]`` of one layer in one training pass.

    ``weight_operand``: ``B`` is the layer's weight (prunable N:M along ``k``); otherwise both
    operands are activations or gradients and the GEMM is dense.  ``channels`` is the length of
    the runs of consecutive channels along ``k`` (``Cin`` for a conv's im2col ``k``; ``k``
    itself otherwise; it defaults to ``k``): an N:M group of ``M`` elements must fit in one run,
    so ``M`` must divide ``channels``.

    >>> Gemm("fc", "FF", 32, 512, 1000, weight_operand=True).macs
    16384000
    """

    layer: str
    pass_: Pass
    m: int
    k: int
    n: int
    count: int = 1
    weight_operand: bool = False
    channels: int | None = None

    def __post_init__(self) -> None:
        where = f"gemm {self.layer!r} {self.pass_}"
        if self.pass_ not in _PASSES:
            raise InputError(f"gemm {self.layer!r}: pass_ must be FF, BP or WU, got {self.pass_!r}")
        for name in ("m", "k", "n", "count"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"{where}: {name} must be an int >= 1, got {value!r}")
        if self.channels is None:
            object.__setattr__(self, "channels", self.k)
        if (
            not isinstance(self.channels, int)
            or self.channels < 1
            or self.k % self.channels
        ):
            raise InputError(
                f"{where}: channels must be an int >= 1 dividing k={self.k}, got {self.channels!r}"
            )

    @property
    def macs(self) -> int:
        """Multiply-accumulates of all ``count`` instances: ``m·k·n·count``."""
        return self.m * self.k * self.n * self.count


def _check_batch(batch: int) -> int:
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise InputError(f"batch: must be an int >= 1, got {batch!r}")
    return batch


BP_FORMS = ("col2im", "implicit_gemm")
FIRST_LAYER_BP = ("skip", "compute")


def _taps(kernel: int, stride: int) -> list[int]:
    """Kernel taps seen by each of the ``stride`` sub-pixel phases along one axis."""
    return [len(range(p, kernel, stride)) for p in range(stride)]


def _implicit_bp(layer: Layer, rows: int, cin: int, cout: int, g: int) -> list[Gemm]:
    (kh, kw), (sh, sw) = layer.kernel, layer.stride
    by_k: dict[int, int] = {}
    for th in _taps(kh, sh):
        for tw in _taps(kw, sw):
            if th * tw:
                by_k[th * tw] = by_k.get(th * tw, 0) + 1
    return [Gemm(layer.name, "BP", rows, cout * t, cin, g * n, True, cout)
            for t, n in sorted(by_k.items(), reverse=True)]


def layer_gemms(layer: Layer, batch: int, *, backward_data: bool = True,
                bp_form: str = "col2im") -> tuple[Gemm, ...]:
    """The training GEMMs of one layer (FF, then BP unless ``backward_data`` is false, then WU).

    ``bp_form``: ``col2im`` or ``implicit_gemm`` (see the module docstring).
    """
    batch = _check_batch(batch)
    if bp_form not in BP_FORMS:
        raise InputError(f"lowering.bp_form: expected one of {', '.join(BP_FORMS)}, got {bp_form!r}")
    name = layer.name
    if layer.kind in ("conv2d", "linear"):
        if layer.kind == "conv2d":
            g = layer.groups
            kh, kw = layer.kernel
            rows = batch * layer.out_hw[0] * layer.out_hw[1]
            cin, cout, window = layer.in_ch // g, layer.out_ch // g, kh * kw
        else:
            g, rows, cin, cout, window = 1, batch * layer.tokens, layer.in_features, \
                layer.out_features, 1
        out = [Gemm(name, "FF", rows, cin * window, cout, g, True, cin)]
        if backward_data:
            if bp_form == "implicit_gemm" and layer.kind == "conv2d" and window > 1:
                out += _implicit_bp(layer, rows, cin, cout, g)
            else:
                out.append(Gemm(name, "BP", rows, cout, cin * window, g, True, cout))
        out.append(Gemm(name, "WU", cin * window, rows, cout, g, False))
        return tuple(out)
    if layer.kind == "matmul":
        count = batch * layer.count
        m, k, n = layer.m, layer.k, layer.n
        out = [Gemm(name, "FF", m, k, n, count)]
        if backward_data:
            out += [Gemm(name, "BP", m, n, k, count),  # dA = dC·Bᵀ
                    Gemm(name, "BP", k, m, n, count)]  # dB = Aᵀ·dC
        return tuple(out)
    return ()


def training_gemms(model: Model, batch: int, *, bp_form: str = "col2im",
                   first_layer_bp: str = "skip") -> tuple[Gemm, ...]:
    """All GEMMs of one training step on ``batch`` samples, in forward layer order.

    ``bp_form`` and ``first_layer_bp``: see the module docstring.

    >>> from workloads.dnn import get_model
    >>> g = training_gemms(get_model("resnet18"), 32)
    >>> [(x.layer, x.pass_) for x in g[:4]]
    [('conv1', 'FF'), ('conv1', 'WU'), ('layer1.0.conv1', 'FF'), ('layer1.0.conv1', 'BP')]
    """
    batch = _check_batch(batch)
    if first_layer_bp not in FIRST_LAYER_BP:
        raise InputError(f"lowering.first_layer_bp: expected one of {', '.join(FIRST_LAYER_BP)}, "
                         f"got {first_layer_bp!r}")
    out: list[Gemm] = []
    trainable_before = first_layer_bp == "compute"
    for layer in model.layers:
        out += layer_gemms(layer, batch, backward_data=trainable_before, bp_form=bp_form)
        trainable_before = trainable_before or layer.params > 0
    return tuple(out)


def layer_table(model: Model, batch: int) -> list[dict]:
    """One JSON-ready row per layer: name, type, params, per-sample forward MACs and output
    elements, and its training GEMMs (pass, M, N, K, count, MACs, weight_operand)."""
    batch = _check_batch(batch)
    by_layer: dict[str, list[Gemm]] = {}
    for gemm in training_gemms(model, batch):
        by_layer.setdefault(gemm.layer, []).append(gemm)
    return [
        {
            "name": layer.name,
            "type": layer.kind,
            "params": layer.params,
            "macs_per_sample": layer.macs,
            "out_elements_per_sample": layer.out_elements,
            "gemms": [
                {"pass": g.pass_, "M": g.m, "N": g.n, "K": g.k, "count": g.count,
                 "MACs": g.macs, "weight_operand": g.weight_operand}
                for g in by_layer.get(layer.name, [])
            ],
        }
        for layer in model.layers
    ]


def non_gemm_elements(model: Model, batch: int) -> dict[str, int]:
    """Forward output elements per layer for ``batch`` samples: the elementwise work (bias,
    activation, norm, softmax, residual add, embedding lookup) a vector unit charges once per
    element; the backward pass touches the same elements again."""
    batch = _check_batch(batch)
    return {layer.name: batch * layer.out_elements for layer in model.layers}
