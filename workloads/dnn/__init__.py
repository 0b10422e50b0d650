"""DNN workloads: layers with exact shapes, a model zoo, and lowering to training GEMMs.

>>> from workloads.dnn import get_model, training_gemms
>>> m = get_model("resnet50")
>>> m.params, round(m.macs / 1e9, 3)
(25557032, 4.089)
>>> sum(g.macs for g in training_gemms(m, 1) if g.pass_ == "FF") == m.macs
True
"""

from workloads.dnn.layers import Layer, LayerKind, conv2d, embedding, linear, matmul, norm
from workloads.dnn.lowering import (
    Gemm,
    Pass,
    layer_gemms,
    layer_table,
    non_gemm_elements,
    training_gemms,
)
from workloads.dnn.zoo import MODELS, Model, get_model
from workloads.dnn.onnx_import import import_onnx, load_model

__all__ = [
    "Layer",
    "LayerKind",
    "Model",
    "MODELS",
    "get_model",
    "load_model",
    "import_onnx",
    "Gemm",
    "Pass",
    "training_gemms",
    "layer_gemms",
    "layer_table",
    "non_gemm_elements",
    "conv2d",
    "linear",
    "matmul",
    "norm",
    "embedding",
]
