"""Tiles for the cocotb scenarios: random ones from a seed, real MiniLM weights, ONNX initializers.

Real tiles: a MiniLM-L6 layer-0 weight (float32 ``[out, in]``, from ``models/weights/`` in the
shared test data; the pytest side finds it through the ``shared_data`` fixture of
``tests/conftest.py`` and passes the folder as ``cfg["weights_dir"]``) is quantised to int8 (symmetric per tensor), N:M-pruned along the input axis (the FF
reduction axis) with `workloads.sparsity.nm_mask` / `compress`, and multiplied by seeded random
int8 activations; the GEMM is cut into array tiles by the dataflow package
(`dataflow.tiles.cut_tiles`, the same cutting the simulator's schedules use).  Each real tile
also carries numpy's matmul of the masked operands over the tile's range, and the tiles' golden
outputs must add back (`dataflow.tiles.assemble`) to numpy's full ``A @ B``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dataflow.contract import golden_os, golden_ws
from dataflow.sat import ArrayShape
from dataflow.tiles import assemble, cut_tiles
from rtl.bench import Tile, quantize_int8, random_tiles
from workloads.sparsity import NM, nm_mask


def real_tiles(cfg: dict, sc: dict) -> list[Tile]:
    """Tiles of a ``real`` scenario; the weights must be there (a missing file is an error: the
    pytest side drops real scenarios, visibly, when the shared data is absent)."""
    if not cfg.get("weights_dir"):
        raise FileNotFoundError(f"scenario {sc['name']}: no weights_dir in the configuration")
    wdir = Path(cfg["weights_dir"])
    if not (wdir / sc["weights"]).is_file():
        raise FileNotFoundError(f"scenario {sc['name']}: {wdir / sc['weights']} not found")
    w = np.load(wdir / sc["weights"])  # float32 [out, in]
    return weight_tiles(cfg, sc, w.T, sc["weights"])


def onnx_tiles(cfg: dict, sc: dict) -> list[Tile]:
    """Tiles from an ONNX initializer: scenario keys ``onnx`` (path), ``layer`` (layer name as
    `workloads.dnn.import_onnx` names it), optional ``group`` (of a grouped conv), ``seed``,
    ``count``, ``steps``.  The FF weight operand ``B[k, n]`` (im2col order) is taken from the
    initializer by `workloads.dnn.onnx_import.onnx_ff_weight`."""
    from workloads.dnn.onnx_import import onnx_ff_weight

    layer, b = onnx_ff_weight(sc["onnx"], sc["layer"], group=sc.get("group", 0))
    if layer.kind == "conv2d" and (layer.in_ch // layer.groups) % cfg["m"]:
        raise ValueError(f"{sc['layer']}: M={cfg['m']} does not divide the "
                         f"{layer.in_ch // layer.groups} input channels per group")
    return weight_tiles(cfg, sc, b, f"{Path(sc['onnx']).name}:{sc['layer']}")


def weight_tiles(cfg: dict, sc: dict, b_float: np.ndarray, label: str) -> list[Tile]:
    """Quantise a float FF weight ``B[k, n]`` to int8, prune it N:M along ``k``, multiply by
    seeded int activations and cut the corner of the GEMM into array tiles (see module doc)."""
    rows, cols, n, m, width = cfg["rows"], cfg["cols"], cfg["n"], cfg["m"], cfg["width"]
    ws = cfg["dataflow"] == "ws"
    b = quantize_int8(b_float)  # [K, N], int8 values (per-tensor scale)
    nm = NM(n, m)
    b = b * nm_mask(b, nm, axis=0)  # N:M along the input (FF reduction) axis
    rng = np.random.default_rng(sc["seed"])
    lim = (1 << (width - 1)) - 1
    steps = sc.get("steps", 16)
    # A corner of the GEMM with about `count` tiles: 4 tiles along K, 6 along N (the last one
    # ragged, so zero-padded edge tiles are covered), one along M.
    k_len = 4 * (rows * m if ws else steps * m)
    b = b[: min(k_len, b.shape[0]), : 6 * cols - 1]
    m_rows = steps if ws else rows
    a = rng.integers(-lim - 1, lim + 1, size=(m_rows, b.shape[0]), dtype=np.int64)
    shape = ArrayShape(rows=rows, cols=cols, multipliers_per_pe=n, window=m)
    cut = cut_tiles(a, b, nm, shape, dataflow=cfg["dataflow"], max_stream=steps)
    golden = golden_ws if ws else golden_os
    full = assemble(cut, [golden(t.acts, t.weights, t.indices) for t in cut], *a.shape[:1], b.shape[1])
    if not np.array_equal(full, a @ b):
        raise AssertionError(f"{label}: tiles do not add up to numpy's A @ B")
    e = m  # reduction elements per PE step (the RTL instance has P = N, W = M)
    out = []
    name = f"{label}(int8 w, int{width} a, {nm}, seed={sc['seed']})"
    for t in cut[: sc.get("count")]:
        T = t.stream_len
        if ws:
            ref = a[t.m0:t.m0 + T, t.k0:t.k0 + rows * e] @ b[t.k0:t.k0 + rows * e, t.n0:t.n0 + cols]
            ref = np.pad(ref, ((0, 0), (0, cols - ref.shape[1])))
        else:
            ref = a[t.m0:t.m0 + rows, t.k0:t.k0 + T * e] @ b[t.k0:t.k0 + T * e, t.n0:t.n0 + cols]
            ref = np.pad(ref, ((0, rows - ref.shape[0]), (0, cols - ref.shape[1])))
        out.append(Tile(t.acts, t.weights, t.indices,
                        f"{name}[m0={t.m0}, n0={t.n0}, k0={t.k0}]", ref))
    return out


def make_tiles(cfg: dict, sc: dict) -> list[Tile]:
    """The tiles of one scenario (see `tests/rtl/test_cocotb_array.py` for the scenario keys)."""
    if sc["kind"] == "real":
        return real_tiles(cfg, sc)
    if sc["kind"] == "onnx":
        return onnx_tiles(cfg, sc)
    steps = tuple(sc.get("steps", (1, 24)))
    return random_tiles(sc["seed"], sc["count"], dataflow=cfg["dataflow"], rows=cfg["rows"],
                        cols=cfg["cols"], n=cfg["n"], m=cfg["m"], width=cfg["width"], steps=steps)
