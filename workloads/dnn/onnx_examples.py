"""Small ONNX graphs built with ``onnx.helper``, for tests, benchmarks and as import examples.

* `transformer_block`: one BERT-base encoder layer (Q/K/V projections, batched-MatMul
  attention over heads, output projection, two LayerNorms, MLP) on ``[batch, seq, dim]``.
* `mobilenet_v1`: MobileNet v1 (Howard et al. 2017, Table 1): a 3x3 conv then 13 depthwise
  3x3 + pointwise 1x1 pairs, global average pool, FC; BatchNorm after every conv.
* `small_cnn`: a conv, a grouped conv, a depthwise conv and a classifier with **random real
  initializers** (for the weight statistics and tile cutting).

Weights are ``ConstantOfShape`` placeholders (a few bytes, like the onnx backend-test "light"
models) unless ``real_weights`` is set, then seeded random initializers.  ``batch=None`` leaves
the batch dim symbolic (``"N"``), to be bound at import.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["transformer_block", "mobilenet_v1", "small_cnn", "save"]

_OPSET = 17


class _Builder:
    def __init__(self, real_weights: bool, seed: int | np.random.Generator | None) -> None:
        from onnx import helper

        self.h = helper
        self.nodes: list = []
        self.inits: list = []
        self.real = real_weights
        self.rng = np.random.default_rng(seed)
        self.n = 0

    def name(self, base: str) -> str:
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, name: str, shape: tuple[int, ...], scale: float = 0.05,
              nm: tuple[int, int] | None = None) -> str:
        """A weight: random (``nm``: already pruned N:M along axis 1) or a placeholder."""
        from onnx import TensorProto, numpy_helper

        if self.real:
            arr = (self.rng.standard_normal(shape) * scale).astype(np.float32)
            if nm is not None:
                from workloads.sparsity import NM, nm_mask

                arr = arr * nm_mask(arr, NM(*nm), axis=1)
            self.inits.append(numpy_helper.from_array(arr, name))
        else:
            shp = f"{name}_shape"
            self.inits.append(numpy_helper.from_array(np.asarray(shape, dtype=np.int64), shp))
            self.nodes.append(self.h.make_node(
                "ConstantOfShape", [shp], [name], name=f"{name}_fill",
                value=self.h.make_tensor("v", TensorProto.FLOAT, [1], [0.01])))
        return name

    def ints(self, name: str, values) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))
        return name

    def node(self, op: str, inputs, name: str | None = None, **attrs) -> str:
        name = name or self.name(op.lower())
        out = f"{name}_out"
        self.nodes.append(self.h.make_node(op, list(inputs), [out], name=name, **attrs))
        return out

    def model(self, graph_name: str, x_name: str, x_shape, y: str):
        from onnx import TensorProto

        h = self.h
        x = h.make_tensor_value_info(x_name, TensorProto.FLOAT, x_shape)
        out = h.make_tensor_value_info(y, TensorProto.FLOAT, None)
        g = h.make_graph(self.nodes, graph_name, [x], [out], self.inits)
        return h.make_model(g, opset_imports=[h.make_opsetid("", _OPSET)],
                            producer_name="archsim.onnx_examples")


def save(model, path: str | Path) -> Path:
    """Write a ModelProto to ``path`` (parent folders created)."""
    import onnx

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(p))
    return p


def transformer_block(*, seq: int = 128, dim: int = 768, heads: int = 12, mlp: int = 3072,
                      batch: int | None = None, real_weights: bool = False, seed=0):
    """A BERT encoder layer: the shapes of `workloads.dnn.zoo`'s ``bert_base`` layer."""
    b = _Builder(real_weights, seed)
    hd = dim // heads
    x = "x"

    def dense(inp, name, din, dout):
        w = b.const(f"{name}.weight", (din, dout))
        bias = b.const(f"{name}.bias", (dout,))
        y = b.node("MatMul", [inp, w], name=name)
        return b.node("Add", [y, bias], name=f"{name}.add_bias")

    split = b.ints("split_shape", [0, seq, heads, hd])
    merge = b.ints("merge_shape", [0, seq, dim])
    q = b.node("Transpose", [b.node("Reshape", [dense(x, "query", dim, dim), split])],
               perm=[0, 2, 1, 3])  # [B, H, S, d]
    k = b.node("Transpose", [b.node("Reshape", [dense(x, "key", dim, dim), split])],
               perm=[0, 2, 3, 1])  # [B, H, d, S]
    v = b.node("Transpose", [b.node("Reshape", [dense(x, "value", dim, dim), split])],
               perm=[0, 2, 1, 3])
    scores = b.node("MatMul", [q, k], name="scores")
    scale = b.const("scale", (1,))
    probs = b.node("Softmax", [b.node("Mul", [scores, scale])], axis=-1)
    ctx = b.node("MatMul", [probs, v], name="context")
    ctx = b.node("Reshape", [b.node("Transpose", [ctx], perm=[0, 2, 1, 3]), merge])
    att = dense(ctx, "attention.output.dense", dim, dim)
    h1 = b.node("LayerNormalization", [b.node("Add", [att, x]), b.const("ln1.g", (dim,)),
                                       b.const("ln1.b", (dim,))], name="attention.output.LayerNorm",
                axis=-1)
    inter = b.node("Relu", [dense(h1, "intermediate.dense", dim, mlp)])
    out = dense(inter, "output.dense", mlp, dim)
    y = b.node("LayerNormalization", [b.node("Add", [out, h1]), b.const("ln2.g", (dim,)),
                                      b.const("ln2.b", (dim,))], name="output.LayerNorm", axis=-1)
    return b.model("bert_layer", x, [batch or "N", seq, dim], y)


#: MobileNet v1 body (Table 1): (output channels of the pointwise conv, stride of the dw conv)
MOBILENET_V1 = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
                (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def mobilenet_v1(*, image: int = 224, classes: int = 1000, batch: int | None = 1,
                 real_weights: bool = False, seed=0):
    """MobileNet v1 (width 1.0): 4,231,976 parameters with BN, 568.7 M MACs at 224."""
    b = _Builder(real_weights, seed)

    def conv_bn(inp, name, cin, cout, k, s, groups=1):
        w = b.const(f"{name}.weight", (cout, cin // groups, k, k))
        y = b.node("Conv", [inp, w], name=name, kernel_shape=[k, k], strides=[s, s],
                   pads=[k // 2] * 4, group=groups)
        bn = [b.const(f"{name}.bn.{p}", (cout,)) for p in ("scale", "bias", "mean", "var")]
        y = b.node("BatchNormalization", [y, *bn], name=f"{name}.bn")
        return b.node("Relu", [y])

    y = conv_bn("input", "conv0", 3, 32, 3, 2)
    cin = 32
    for i, (cout, s) in enumerate(MOBILENET_V1, start=1):
        y = conv_bn(y, f"dw{i}", cin, cin, 3, s, groups=cin)
        y = conv_bn(y, f"pw{i}", cin, cout, 1, 1)
        cin = cout
    y = b.node("Flatten", [b.node("GlobalAveragePool", [y])])
    y = b.node("Gemm", [y, b.const("fc.weight", (classes, cin)), b.const("fc.bias", (classes,))],
               name="fc", transB=1)
    return b.model("mobilenet_v1", "input", [batch or "N", 3, image, image], y)


def small_cnn(*, batch: int | None = 1, seed=0, image: int = 16):
    """Conv 3→32, grouped conv 32→64 (4 groups of 8), depthwise 3x3, pointwise 64→32, FC 10;
    seeded random initializers; the pointwise weight is already 2:8 along its input channels
    (as if pruned before export)."""
    b = _Builder(True, seed)
    w0 = b.const("conv0.weight", (32, 3, 3, 3))
    y = b.node("Relu", [b.node("Conv", [image_input := "input", w0], name="conv0",
                                kernel_shape=[3, 3], pads=[1, 1, 1, 1])])
    y = b.node("Conv", [y, b.const("grouped.weight", (64, 8, 3, 3))], name="grouped",
               kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=4, strides=[2, 2])
    y = b.node("Conv", [y, b.const("dw.weight", (64, 1, 3, 3))], name="dw", kernel_shape=[3, 3],
               pads=[1, 1, 1, 1], group=64)
    y = b.node("Conv", [y, b.const("pw.weight", (32, 64, 1, 1), nm=(2, 8))], name="pw",
               kernel_shape=[1, 1])
    y = b.node("Flatten", [b.node("GlobalAveragePool", [y])])
    y = b.node("Gemm", [y, b.const("fc.weight", (32, 10)), b.const("fc.bias", (10,))], name="fc")
    return b.model("small_cnn", image_input, [batch or "N", 3, image, image], y)
