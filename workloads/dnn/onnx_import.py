"""Import an ONNX graph as a `Model`: the same layers, and so the same training GEMMs, as the zoo.

What is modelled
----------------
The graph is read with the ``onnx`` package, its batch dimension bound (a symbolic first dim
of every graph input takes ``batch``; a fixed one is kept), and shapes are inferred with
``onnx.shape_inference`` (strict mode).  Every node then becomes one of:

* a **GEMM-bearing layer** (`workloads.dnn.layers`), per sample, in graph (topological) order:

  - ``Conv`` (1-D or 2-D; any ``group``, so depthwise too; strides, pads incl. asymmetric and
    ``auto_pad``, dilations) → ``conv2d``; a grouped conv lowers to a batched GEMM with
    ``count = group`` (`workloads.dnn.lowering`);
  - ``Gemm`` and ``MatMul`` with a constant (weight) operand → ``linear`` applied at
    ``tokens`` = rows per sample; a bias is a ``Gemm``'s ``C`` or an ``Add`` of a constant
    vector right after a ``MatMul``;
  - ``MatMul`` / ``Gemm`` of two activations (attention ``Q·Kᵀ`` and ``A·V``) → ``matmul``
    with ``count`` = broadcast batch dims per sample (heads);

* a **normalisation layer** (``BatchNormalization``, ``LayerNormalization``,
  ``InstanceNormalization``, ``GroupNormalization``) → ``norm`` (no GEMM; 2·features
  parameters, vector-unit work like the zoo's norms);
* a **non-MAC operator** (activations, pooling, residual adds, softmax, reshapes, concat ...):
  no layer, but listed in `OnnxImport.other_ops` with its output elements per sample (the
  elementwise work a vector unit touches), never dropped silently;
* a **constant** node (``Constant``, ``ConstantOfShape`` and anything computed from constants
  only, e.g. the placeholder weights of the onnx backend-test "light" models): folded; listed
  with kind ``constant``.

Operators that carry MACs but have no lowering here (``ConvTranspose``, ``Einsum``, ``LSTM``,
quantised convs and matmuls, operators of custom domains, control flow with subgraphs ...) are an
`InputError` naming the file, the node and its op type.  So are files that are not ONNX, truncated files, opsets newer
than the installed ``onnx`` knows, inputs whose shape is unknown (except a batch dim bound by
``batch``) and node inputs that nothing defines (a Conv with missing weights).

Per sample: shapes are divided by the graph's batch (the bound or fixed first dim); the
training batch is chosen later (`training_gemms(model, batch)`), exactly as for the zoo.

Real weights: `weight_arrays` reads the initializers (or ``Constant`` tensors) behind each
layer's weight; `nm_weight_stats` reports what N:M magnitude pruning keeps of them, and
`ff_weight_matrix` lays a weight out as the FF GEMM's ``B[k, n]`` (im2col order, one group)
for cutting array tiles (`dataflow.tiles.cut_tiles`).
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from workloads.dnn.layers import Layer, conv2d, linear, matmul, norm
from workloads.dnn.zoo import Model, get_model
from workloads.errors import InputError
from workloads.sparsity import NM, nm_mask

__all__ = [
    "OnnxImport",
    "OtherOp",
    "import_onnx",
    "load_model",
    "is_onnx_path",
    "weight_arrays",
    "nm_weight_stats",
    "ff_weight_matrix",
    "onnx_ff_weight",
    "MAC_OPS_UNSUPPORTED",
]

#: Operators of the default domain that carry multiply-accumulates but are not lowered here.
MAC_OPS_UNSUPPORTED = frozenset({
    "ConvTranspose", "ConvInteger", "QLinearConv", "MatMulInteger", "QLinearMatMul", "Einsum",
    "LSTM", "GRU", "RNN", "DeformConv", "Attention", "MultiHeadAttention", "FusedConv",
    "FusedGemm", "FusedMatMul", "QGemm", "DynamicQuantizeMatMul", "MatMulNBits",
})
_NORM_OPS = ("BatchNormalization", "LayerNormalization", "InstanceNormalization",
             "GroupNormalization")
_DEFAULT_DOMAINS = ("", "ai.onnx")


@dataclass(frozen=True)
class OtherOp:
    """A node that became no layer: its kind (``elementwise`` or ``constant``), op type and
    forward output elements per sample (0 for constants)."""

    node: str
    op_type: str
    kind: str
    out_elements: int


@dataclass(frozen=True)
class OnnxImport:
    """The result of importing one ONNX file.

    ``model``: the layers per sample (same type as a zoo model); ``graph_batch``: the batch the
    shapes were inferred at (the bound or fixed first input dim); ``layer_nodes``: layer name →
    ONNX node name; ``weight_inputs``: layer name → the tensor name of its weight;
    ``other_ops``: every node that became no layer.
    """

    path: str
    model: Model
    graph_batch: int
    opset: int
    producer: str
    layer_nodes: dict[str, str]
    weight_inputs: dict[str, str]
    other_ops: tuple[OtherOp, ...]
    import_seconds: float

    def op_summary(self) -> dict[str, dict[str, int]]:
        """``{op_type: {"nodes": n, "out_elements": e}}`` of the non-layer nodes, by kind."""
        out: dict[str, dict[str, int]] = {}
        for op in self.other_ops:
            row = out.setdefault(f"{op.kind}:{op.op_type}", {"nodes": 0, "out_elements": 0})
            row["nodes"] += 1
            row["out_elements"] += op.out_elements
        return out

    def report(self) -> dict[str, Any]:
        """JSON-ready summary: totals, layer kinds, non-MAC operators."""
        kinds = Counter(layer.kind for layer in self.model.layers)
        grouped = [l.name for l in self.model.layers if l.kind == "conv2d" and l.groups > 1]
        depthwise = [l.name for l in self.model.layers
                     if l.kind == "conv2d" and l.groups > 1 and l.groups == l.in_ch]
        return {
            "file": self.path,
            "model": self.model.name,
            "input": self.model.input,
            "opset": self.opset,
            "producer": self.producer,
            "graph_batch": self.graph_batch,
            "params": self.model.params,
            "macs_per_sample": self.model.macs,
            "layers": dict(sorted(kinds.items())),
            "grouped_convs": len(grouped),
            "depthwise_convs": len(depthwise),
            "other_ops": self.op_summary(),
            "import_seconds": round(self.import_seconds, 4),
        }


# ---- entry points ------------------------------------------------------------------------


def is_onnx_path(name: str) -> bool:
    """True when ``name`` names an ONNX file rather than a zoo model (ends in ``.onnx``)."""
    return isinstance(name, (str, os.PathLike)) and str(name).lower().endswith(".onnx")


def load_model(name: str, *, batch: int | None = None) -> Model:
    """A zoo model by name, or the model of an ONNX file (a path ending in ``.onnx``).

    ``batch`` binds a symbolic batch dim of the ONNX graph's inputs (see `import_onnx`); it is
    ignored for zoo models.  This is the one place where ``--model`` is resolved.
    """
    if is_onnx_path(name):
        return import_onnx(name, batch=batch).model
    return get_model(name)


def import_onnx(path: str | os.PathLike, *, batch: int | None = None) -> OnnxImport:
    """Import the ONNX file at ``path`` (see the module docstring); cached per file version.

    ``batch``: value for a symbolic first dim of the graph inputs; required when there is one.
    """
    p = Path(path)
    if batch is not None and (not isinstance(batch, int) or isinstance(batch, bool) or batch < 1):
        raise InputError(f"batch: must be an int >= 1, got {batch!r}")
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if not p.is_file():
        raise InputError(f"{path}: not a file")
    return _import_cached(str(p.resolve()), str(path), st.st_mtime_ns, st.st_size, batch)


@lru_cache(maxsize=32)
def _import_cached(real: str, shown: str, _mtime: int, _size: int,
                   batch: int | None) -> OnnxImport:
    t0 = time.perf_counter()
    model_proto = _read(real, shown)
    return _Importer(model_proto, shown, batch).run(t0)


# ---- reading and checking ----------------------------------------------------------------


def _onnx():
    try:
        import onnx  # noqa: PLC0415 (heavy import, only when an ONNX file is given)
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError("onnx: the 'onnx' package is not installed (pip install onnx)") from None
    return onnx


def _read(real: str, shown: str):
    onnx = _onnx()
    try:
        data = Path(real).read_bytes()
    except OSError as exc:
        raise InputError(f"{shown}: cannot read ({exc.strerror})") from None
    if not data:
        raise InputError(f"{shown}: empty file, not an ONNX model")
    try:
        m = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf DecodeError and friends: not ONNX or truncated
        raise InputError(f"{shown}: not a valid ONNX model (protobuf: "
                         f"{_first_line(exc) or type(exc).__name__}); truncated or not ONNX") from None
    if m.ir_version < 1 or not m.HasField("graph") or not m.opset_import:
        raise InputError(f"{shown}: not an ONNX model (no IR version, graph or opset)")
    if not m.graph.node:
        raise InputError(f"{shown}: ONNX graph has no nodes")
    supported = onnx.defs.onnx_opset_version()
    for op in m.opset_import:
        if op.domain in _DEFAULT_DOMAINS and op.version > supported:
            raise InputError(f"{shown}: opset {op.version} is newer than the installed onnx "
                             f"{onnx.__version__} supports (up to {supported})")
    if m.ir_version > onnx.IR_VERSION:
        raise InputError(f"{shown}: IR version {m.ir_version} is newer than the installed onnx "
                         f"{onnx.__version__} supports (up to {onnx.IR_VERSION})")
    return m


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""


def _dims(value_info) -> list[int | str | None] | None:
    """Dims of a ValueInfo: int, symbolic name, or None (unknown); None if no shape at all."""
    t = value_info.type
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return None
    out: list[int | str | None] = []
    for d in t.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(int(d.dim_value))
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def _prod(xs) -> int:
    return int(math.prod(int(x) for x in xs))


class _Importer:
    def __init__(self, m, path: str, batch: int | None) -> None:
        self.m = m
        self.path = path
        self.batch = batch
        self.g = m.graph

    def err(self, node, msg: str) -> InputError:
        return InputError(f"{self.path}: node {_node_name(node)!r} ({node.op_type}): {msg}")

    # -- batch binding and shape inference ------------------------------------------------
    def bind_and_infer(self):
        onnx = _onnx()
        g = self.g
        inits = {t.name for t in g.initializer}
        graph_batch = None
        for vi in g.input:
            if vi.name in inits:
                continue
            dims = _dims(vi)
            if dims is None:
                raise InputError(f"{self.path}: input {vi.name!r} has no shape; cannot infer "
                                 f"the layer shapes")
            if not dims:
                continue  # a scalar input
            for i, d in enumerate(dims):
                if isinstance(d, int) and d > 0:
                    if i == 0:
                        graph_batch = graph_batch or d
                    continue
                if i == 0:
                    if self.batch is None:
                        raise InputError(
                            f"{self.path}: input {vi.name!r} has a dynamic batch dim "
                            f"({d or '?'}); give --batch (workload 'batch') to bind it")
                    dim = vi.type.tensor_type.shape.dim[0]
                    dim.Clear()
                    dim.dim_value = self.batch
                    graph_batch = graph_batch or self.batch
                    continue
                raise InputError(f"{self.path}: input {vi.name!r} has an unknown dim {i} "
                                 f"({d or '?'}); only the batch dim (0) can be bound")
        self.graph_batch = graph_batch or 1
        try:
            inferred = onnx.shape_inference.infer_shapes(self.m, check_type=False,
                                                         strict_mode=True, data_prop=True)
        except Exception as exc:  # InferenceError, ValidationError: a malformed graph
            raise InputError(f"{self.path}: shape inference failed: {_first_line(exc)}") from None
        shapes: dict[str, list] = {}
        for vi in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
            dims = _dims(vi)
            if dims is not None:
                shapes[vi.name] = dims
        for t in inferred.graph.initializer:
            shapes[t.name] = [int(d) for d in t.dims]
        self.shapes = shapes
        return inferred

    # -- main pass -------------------------------------------------------------------------
    def run(self, t0: float) -> OnnxImport:
        g = self.g
        self.check_defined()
        self.bind_and_infer()
        inits = {t.name for t in g.initializer} | {t.values.name for t in g.sparse_initializer}
        const: set[str] = set(inits)
        self.const = const  # grows as constant nodes are met (graph order is topological)
        consumers: dict[str, list] = {}
        for node in g.node:
            for name in node.input:
                consumers.setdefault(name, []).append(node)
        self.consumers = consumers
        opset = next((op.version for op in self.m.opset_import if op.domain in _DEFAULT_DOMAINS), 0)
        layers: list[Layer] = []
        layer_nodes: dict[str, str] = {}
        weight_inputs: dict[str, str] = {}
        others: list[OtherOp] = []
        names_used: set[str] = set()
        bias_adds: set[int] = set()
        for idx, node in enumerate(g.node):
            op = node.op_type
            if node.domain not in _DEFAULT_DOMAINS:
                raise self.err(node, f"operator of custom domain {node.domain!r}: its MACs are "
                                     f"unknown, cannot import")
            if op in ("If", "Loop", "Scan"):
                raise self.err(node, "control flow with a subgraph is not supported (the MACs "
                                     "of its body cannot be counted statically)")
            if op in MAC_OPS_UNSUPPORTED:
                raise self.err(node, "operator carries MACs but has no lowering in archsim "
                                     "(supported: Conv, Gemm, MatMul)")
            ins = [x for x in node.input if x]
            if op in ("Constant", "ConstantOfShape") or (ins and all(x in const for x in ins)) \
                    and op not in ("Conv", "Gemm", "MatMul"):
                const.update(o for o in node.output if o)
                others.append(OtherOp(_node_name(node), op, "constant", 0))
                continue
            name = _unique(_node_name(node) or f"{op}_{idx}", names_used)
            if op == "Conv":
                layer, w = self.conv(node, name, const)
                layers.append(layer)
                layer_nodes[name], weight_inputs[name] = _node_name(node), w
            elif op in ("Gemm", "MatMul"):
                layer, w, bias_add = self.gemm(node, name, const)
                layers.append(layer)
                layer_nodes[name] = _node_name(node)
                if w is not None:
                    weight_inputs[name] = w
                if bias_add is not None:
                    bias_adds.add(id(bias_add))
            elif op in _NORM_OPS:
                layers.append(self.norm(node, name))
                layer_nodes[name] = _node_name(node)
            else:
                kind = "elementwise"
                if id(node) in bias_adds:
                    kind = "bias"
                others.append(OtherOp(_node_name(node) or name, op, kind,
                                      self.out_elements(node)))
        if not any(layer.kind in ("conv2d", "linear", "matmul") for layer in layers):
            raise InputError(f"{self.path}: no Conv, Gemm or MatMul node: nothing to simulate")
        stem = Path(self.path).stem
        inputs = [vi for vi in g.input if vi.name not in inits]
        desc = ", ".join(f"{vi.name} {'x'.join(str(d) for d in self.shapes.get(vi.name, []))}"
                         for vi in inputs)
        model = Model(stem, tuple(layers), f"ONNX {Path(self.path).name}: {desc}")
        return OnnxImport(
            path=self.path, model=model, graph_batch=self.graph_batch, opset=opset,
            producer=f"{self.m.producer_name} {self.m.producer_version}".strip(),
            layer_nodes=layer_nodes, weight_inputs=weight_inputs, other_ops=tuple(others),
            import_seconds=time.perf_counter() - t0,
        )

    def check_defined(self) -> None:
        g = self.g
        defined = ({t.name for t in g.initializer} | {vi.name for vi in g.input}
                   | {t.values.name for t in g.sparse_initializer})
        for node in g.node:
            for i, name in enumerate(node.input):
                if name and name not in defined:
                    what = "weight " if node.op_type in ("Conv", "Gemm") and i == 1 else ""
                    raise self.err(node, f"{what}input {name!r} is missing (no initializer, "
                                         f"graph input or earlier node defines it)")
            defined.update(o for o in node.output if o)

    # -- shapes ----------------------------------------------------------------------------
    def shape(self, node, name: str, what: str) -> list[int]:
        dims = self.shapes.get(name)
        if dims is None or any(not isinstance(d, int) or d < 0 for d in dims):
            raise self.err(node, f"{what} {name!r} has an unknown shape ({dims}) after shape "
                                 f"inference")
        return [int(d) for d in dims]

    def per_sample(self, node, total: int, what: str) -> int:
        b = self.graph_batch
        if total % b:
            raise self.err(node, f"{what} ({total}) is not a multiple of the graph batch {b}; "
                                 f"cannot tell the per-sample work")
        return total // b

    def out_elements(self, node) -> int:
        total = 0
        for o in node.output:
            dims = self.shapes.get(o) if o else None
            if dims and all(isinstance(d, int) for d in dims):
                total += _prod(dims)
        b = self.graph_batch
        return total // b if total % b == 0 else total

    # -- lowering of each kind -------------------------------------------------------------
    def conv(self, node, name: str, const: set[str]) -> tuple[Layer, str]:
        ins = list(node.input)
        if len(ins) < 2 or not ins[1]:
            raise self.err(node, "weight input is missing")
        x = self.shape(node, ins[0], "input")
        w = self.shape(node, ins[1], "weight")
        a = _attrs(node)
        if len(x) == 3:  # Conv1d: [N, C, L] -> H = 1
            x = [x[0], x[1], 1, x[2]]
            w = [w[0], w[1], 1, w[2]] if len(w) == 3 else w
            lift = lambda v, fill: (fill, *v)  # noqa: E731
        elif len(x) == 4:
            lift = lambda v, fill: tuple(v)  # noqa: E731
        else:
            raise self.err(node, f"{len(x) - 2}-D convolution is not supported (1-D and 2-D are)")
        if len(w) != 4:
            raise self.err(node, f"weight {ins[1]!r} has shape {w}, expected 4 dims")
        n, cin, h, wd = x
        if n != self.graph_batch:
            raise self.err(node, f"input batch {n} differs from the graph batch "
                                 f"{self.graph_batch}")
        cout, cin_g, kh, kw = w
        groups = int(a.get("group", 1))
        if cin_g * groups != cin:
            raise self.err(node, f"weight {w} with group={groups} does not match {cin} input "
                                 f"channels")
        spatial = len(self.shapes[ins[0]]) - 2
        ks = a.get("kernel_shape")
        if ks is not None and tuple(lift(ks, 1)) != (kh, kw):
            raise self.err(node, f"kernel_shape {list(ks)} differs from the weight {w}")
        strides = lift(a.get("strides", [1] * spatial), 1)
        dil = lift(a.get("dilations", [1] * spatial), 1)
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        if auto in ("NOTSET", ""):
            pads = list(a.get("pads", [0] * (2 * spatial)))
            begin, end = pads[:spatial], pads[spatial:]
            begin, end = lift(begin, 0), lift(end, 0)
        elif auto == "VALID":
            begin = end = (0, 0)
        elif auto in ("SAME_UPPER", "SAME_LOWER"):
            begin, end = [], []
            for i, s, k, d in zip((h, wd), strides, (kh, kw), dil):
                out = -(-i // s)
                total = max((out - 1) * s + (k - 1) * d + 1 - i, 0)
                small, big = total // 2, total - total // 2
                begin.append(small if auto == "SAME_UPPER" else big)
                end.append(big if auto == "SAME_UPPER" else small)
        else:
            raise self.err(node, f"auto_pad {auto!r} is not understood")
        try:
            layer = conv2d(name, cin, cout, kernel=(kh, kw), in_hw=(h, wd), stride=tuple(strides),
                           padding=tuple(begin), padding_end=tuple(end), dilation=tuple(dil),
                           groups=groups, bias=len(ins) > 2 and bool(ins[2]))
        except InputError as exc:
            raise self.err(node, str(exc)) from None
        y = self.shapes.get(node.output[0])
        if y and all(isinstance(d, int) for d in y):
            want = (y[-2], y[-1]) if len(y) == 4 else (1, y[-1])
            if want != layer.out_hw or y[1] != cout:
                raise self.err(node, f"inferred output {y} differs from the computed "
                                     f"{[n, cout, *layer.out_hw]}")
        return layer, ins[1]

    def gemm(self, node, name: str, const: set[str]):
        ins = list(node.input)
        a_name, b_name = ins[0], ins[1]
        a = self.shape(node, a_name, "input A")
        b = self.shape(node, b_name, "input B")
        a_const, b_const = a_name in const, b_name in const
        bias_add = None
        if node.op_type == "Gemm":
            at = _attrs(node)
            if at.get("transA", 0):
                a = a[::-1]
            if at.get("transB", 0):
                b = b[::-1]
            has_bias = len(ins) > 2 and bool(ins[2])
            a_lead, (m, k) = [], a
            b_lead, (k2, n) = [], b
        else:
            if len(a) == 1:
                a = [1, a[0]]
            if len(b) == 1:
                b = [b[0], 1]
            a_lead, (m, k) = a[:-2], a[-2:]
            b_lead, (k2, n) = b[:-2], b[-2:]
            has_bias = False
        if k != k2:
            raise self.err(node, f"shapes {a} and {b} do not multiply")
        try:
            if b_const and not b_lead:  # x·W: a linear layer over every row of A
                if node.op_type == "MatMul":
                    bias_add = self._bias_add(node, n)
                    has_bias = bias_add is not None
                rows = self.per_sample(node, _prod(a_lead) * m, "rows of A")
                return linear(name, k, n, tokens=rows, bias=has_bias), b_name, bias_add
            if a_const and not a_lead and not b_const:  # W·x: linear over the columns of B
                cols = self.per_sample(node, _prod(b_lead) * n, "columns of B")
                return linear(name, k, m, tokens=cols, bias=has_bias), a_name, None
            if a_const or b_const:
                raise self.err(node, f"constant operand with batch dims ({a} x {b}) is not "
                                     f"supported")
            lead = np.broadcast_shapes(tuple(a_lead), tuple(b_lead))
            count_total = _prod(lead)
            if count_total % self.graph_batch == 0:
                return matmul(name, m, k, n, count=count_total // self.graph_batch), None, None
            rows = self.per_sample(node, m, "rows of A")
            return matmul(name, rows, k, n, count=count_total), None, None
        except InputError as exc:
            if str(exc).startswith(self.path):
                raise
            raise self.err(node, str(exc)) from None

    def _bias_add(self, node, n: int):
        """The ``Add`` of a constant ``[n]`` vector that directly follows a MatMul, if any."""
        out = node.output[0]
        users = self.consumers.get(out, [])
        if len(users) != 1 or users[0].op_type != "Add":
            return None
        add = users[0]
        other = [x for x in add.input if x != out]
        if len(other) != 1:
            return None
        dims = self.shapes.get(other[0])
        if dims is None or _prod(dims) != n or other[0] not in self.const:
            return None
        return add

    def norm(self, node, name: str) -> Layer:
        x = self.shape(node, node.input[0], "input")
        op = node.op_type
        if op == "LayerNormalization":
            axis = int(_attrs(node).get("axis", -1)) % len(x)
            features = _prod(x[axis:])
            tokens = self.per_sample(node, _prod(x[:axis]), "normalised rows")
        else:  # channel-wise: [N, C, ...]
            features = x[1] if len(x) > 1 else 1
            if x[0] != self.graph_batch:
                raise self.err(node, f"input batch {x[0]} differs from the graph batch "
                                     f"{self.graph_batch}")
            tokens = _prod(x[2:]) if len(x) > 2 else 1
        return norm(name, features, tokens=max(tokens, 1))


def _attrs(node) -> dict[str, Any]:
    onnx = _onnx()
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _node_name(node) -> str:
    return node.name or (node.output[0] if node.output else "")


def _unique(name: str, used: set[str]) -> str:
    base, i = name, 1
    while name in used:
        i += 1
        name = f"{base}#{i}"
    used.add(name)
    return name


# ---- real weights ------------------------------------------------------------------------


def weight_arrays(imp: OnnxImport) -> dict[str, np.ndarray]:
    """Layer name → its weight as float32 in the layer's PyTorch layout (`Layer.weight_shape`:
    ``[out, in/groups, kh, kw]`` or ``[out, in]``), for every weight held by an initializer or
    a ``Constant`` node.  Placeholder weights computed by nodes (``ConstantOfShape``) and weights
    fed as graph inputs have no values and are left out."""
    onnx = _onnx()
    from onnx import numpy_helper

    m = onnx.load(imp.path, load_external_data=False)
    base = str(Path(imp.path).resolve().parent)
    tensors = {t.name: t for t in m.graph.initializer}
    for node in m.graph.node:
        if node.op_type == "Constant" and node.output:
            for a in node.attribute:
                if a.name == "value":
                    tensors[node.output[0]] = a.t
    out: dict[str, np.ndarray] = {}
    nodes = {(_node_name(n)): n for n in m.graph.node}
    for layer in imp.model.layers:
        wname = imp.weight_inputs.get(layer.name)
        if wname is None or wname not in tensors:
            continue
        try:
            w = numpy_helper.to_array(tensors[wname], base_dir=base).astype(np.float32)
        except Exception as exc:
            raise InputError(f"{imp.path}: cannot read initializer {wname!r}: "
                             f"{_first_line(exc)}") from None
        node = nodes.get(imp.layer_nodes[layer.name])
        out[layer.name] = _to_torch_layout(layer, w, node, wname)
    return out


def _to_torch_layout(layer: Layer, w: np.ndarray, node, wname: str) -> np.ndarray:
    if layer.kind == "conv2d":
        return w.reshape(layer.weight_shape)
    # linear: ONNX MatMul x·W and Gemm without transB hold W as [in, out]; Gemm with transB
    # and a W·x MatMul hold it as [out, in].
    as_b = node is not None and len(node.input) > 1 and node.input[1] == wname
    trans_b = node is not None and node.op_type == "Gemm" and _attrs(node).get("transB", 0)
    if as_b and not trans_b:
        return w.reshape(layer.in_features, layer.out_features).T.copy()
    return w.reshape(layer.out_features, layer.in_features)


def ff_weight_matrix(layer: Layer, weight: np.ndarray, *, group: int = 0) -> np.ndarray:
    """The FF GEMM's ``B[k, n]`` of one group of a layer's weight (PyTorch layout in).

    Conv: ``k`` in im2col order ``(kh, kw, Cin/groups)`` (`workloads.dnn.lowering`), ``n`` =
    ``Cout/groups`` output channels of group ``group``; linear: ``B = Wᵀ``.  N:M groups of the
    FF copy run along ``k`` inside runs of ``Cin/groups`` channels.
    """
    w = np.asarray(weight)
    if w.shape != layer.weight_shape:
        raise InputError(f"layer {layer.name!r}: weight shape {w.shape} is not "
                         f"{layer.weight_shape}")
    if layer.kind == "linear":
        return w.T.copy()
    if layer.kind != "conv2d":
        raise InputError(f"layer {layer.name!r}: a {layer.kind} has no weight")
    g = layer.groups
    if not 0 <= group < g:
        raise InputError(f"layer {layer.name!r}: group must be in 0..{g - 1}, got {group}")
    cout_g = layer.out_ch // g
    wg = w[group * cout_g:(group + 1) * cout_g]  # [cout_g, cin_g, kh, kw]
    return wg.transpose(2, 3, 1, 0).reshape(-1, cout_g).copy()  # [(kh, kw, cin_g), cout_g]


def onnx_ff_weight(path: str | os.PathLike, layer: str, *, group: int = 0,
                   batch: int | None = None) -> tuple[Layer, np.ndarray]:
    """``(layer, B)``: the FF GEMM weight operand ``B[k, n]`` (float32, im2col order, one
    group) of the layer called ``layer`` in the ONNX file, from its initializer.

    This is what an RTL testbench quantises, prunes N:M along ``k`` and cuts into tiles
    (`dataflow.tiles.cut_tiles`), as it does for the MiniLM weights; N:M groups stay inside one
    convolution group's input channels when ``M`` divides ``channels_per_group``.
    """
    imp = import_onnx(path, batch=batch)
    lay = imp.model.layer(layer)
    arrays = weight_arrays(imp)
    if layer not in arrays:
        raise InputError(f"{path}: layer {layer!r} has no initializer values (placeholder, "
                         f"graph input or no weight)")
    return lay, ff_weight_matrix(lay, arrays[layer], group=group)


def nm_weight_stats(layer: Layer, weight: np.ndarray, nm: NM) -> dict[str, Any]:
    """What BDWP's FF copy keeps of a real weight: N:M magnitude pruning along the input
    channels inside each group.

    Returns ``prunable`` (M divides the channels per group), ``magnitude_kept`` (Σ|w| kept /
    Σ|w|), ``groups_already_nm`` (fraction of M-groups with at most N non-zeros already),
    ``zeros`` (fraction of exact zeros), and the group count.  Not prunable: the layer stays
    dense (``magnitude_kept`` = 1).
    """
    w = np.asarray(weight, dtype=np.float64)
    if layer.kind == "conv2d":
        cin_g = layer.in_ch // layer.groups
        mats = np.moveaxis(w, 1, -1).reshape(-1, cin_g)  # runs of input channels per group
    else:
        cin_g = layer.in_features
        mats = w.reshape(-1, cin_g)
    total = float(np.abs(w).sum())
    out: dict[str, Any] = {
        "layer": layer.name, "kind": layer.kind, "weights": int(w.size),
        "channels_per_group": cin_g, "zeros": float((w == 0).mean()) if w.size else 0.0,
    }
    if cin_g % nm.m:
        out.update(prunable=False, magnitude_kept=1.0, groups_already_nm=None, nm_groups=0)
        return out
    grp = mats.reshape(-1, nm.m)
    mask = nm_mask(grp, nm, axis=1)
    kept = float(np.abs(grp * mask).sum())
    already = float(((grp != 0).sum(axis=1) <= nm.n).mean())
    out.update(prunable=True, magnitude_kept=kept / total if total else 1.0,
               groups_already_nm=already, nm_groups=int(grp.shape[0]))
    return out
