"""``archsim workloads import MODEL.onnx``: what the ONNX importer makes of a graph.

Prints the import summary (opset, parameters, forward MACs, layers by kind, grouped and
depthwise convolutions, every operator that became no layer with its elementwise work), the
training GEMM totals at ``--batch``, and with ``--weights`` the N:M statistics of the real
initializers per layer (what BDWP's FF copy keeps).  ``--json OUT`` writes all of it.
Registered under ``archsim workloads`` by `archsim.cli.sat` (one call, `register_import`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from workloads.errors import InputError

__all__ = ["register_import", "import_report"]


def register_import(wsub) -> None:
    """Add ``import`` to the ``archsim workloads`` sub-commands."""
    p = wsub.add_parser("import", help="import an ONNX graph: layers, MACs, non-MAC operators, "
                                       "N:M statistics of its weights")
    p.add_argument("model", metavar="MODEL.onnx")
    p.add_argument("--batch", type=int, default=None,
                   help="binds a dynamic batch dim; also the batch of the GEMM totals "
                        "(default: the graph's fixed batch)")
    p.add_argument("--weights", action="store_true",
                   help="per-layer N:M pruning statistics of the initializers")
    p.add_argument("--sparsity", default="2:8", help="N:M for --weights (default 2:8)")
    p.add_argument("--json", metavar="OUT", help="write the report as JSON")
    p.set_defaults(func=_cmd_import)


def import_report(path: str, *, batch: int | None = None, weights: bool = False,
                  sparsity: str = "2:8") -> dict:
    """The JSON-ready report of `_cmd_import` (also used by the benchmark)."""
    from workloads.dnn import layer_table, training_gemms
    from workloads.dnn.onnx_import import import_onnx, nm_weight_stats, weight_arrays
    from workloads.sparsity import parse_nm

    if batch is not None and batch < 1:
        raise InputError(f"--batch: must be >= 1, got {batch}")
    imp = import_onnx(path, batch=batch)
    train_batch = batch or imp.graph_batch
    rep = imp.report()
    gemms = training_gemms(imp.model, train_batch)
    rep["training"] = {"batch": train_batch, "gemms": len(gemms),
                       **{f"{p}_macs": sum(g.macs for g in gemms if g.pass_ == p)
                          for p in ("FF", "BP", "WU")}}
    rep["layer_table"] = layer_table(imp.model, train_batch)
    if weights:
        nm = parse_nm(sparsity)
        arrays = weight_arrays(imp)
        rep["weights"] = {"sparsity": str(nm), "layers_with_values": len(arrays),
                          "layers_with_weights": len(imp.weight_inputs),
                          "per_layer": [nm_weight_stats(imp.model.layer(n), w, nm)
                                        for n, w in arrays.items()]}
    return rep


def _cmd_import(args: argparse.Namespace) -> int:
    rep = import_report(args.model, batch=args.batch, weights=args.weights,
                        sparsity=args.sparsity)
    print(f"{rep['file']}: opset {rep['opset']}, producer {rep['producer'] or '?'}, "
          f"imported in {rep['import_seconds'] * 1e3:.0f} ms")
    print(f"{rep['model']}: {rep['params']:,} parameters, {rep['macs_per_sample'] / 1e9:.3f} "
          f"GMACs forward per sample; input {rep['input']}")
    print("layers            " + ", ".join(f"{k} {v}" for k, v in rep["layers"].items())
          + f"; grouped convs {rep['grouped_convs']} (depthwise {rep['depthwise_convs']})")
    t = rep["training"]
    print(f"training batch {t['batch']}: {t['gemms']} GEMMs, FF {t['FF_macs']:,} BP "
          f"{t['BP_macs']:,} WU {t['WU_macs']:,} MACs")
    print("operators without MACs (kind:op  nodes  output elements per sample):")
    for k, v in sorted(rep["other_ops"].items()):
        print(f"  {k:<32} {v['nodes']:>6} {v['out_elements']:>14,}")
    if "weights" in rep:
        w = rep["weights"]
        print(f"weights: {w['layers_with_values']} of {w['layers_with_weights']} weight layers "
              f"have initializer values; {w['sparsity']} along input channels per group:")
        print(f"  {'layer':<30} {'weights':>10} {'ch/grp':>6} {'zeros':>6} "
              f"{'kept |w|':>8} {'groups already N:M':>18}")
        for s in w["per_layer"]:
            kept = f"{s['magnitude_kept']:.3f}" if s["prunable"] else "dense"
            already = "-" if s["groups_already_nm"] is None else f"{s['groups_already_nm']:.3f}"
            print(f"  {s['layer'][:30]:<30} {s['weights']:>10,} {s['channels_per_group']:>6} "
                  f"{s['zeros']:>6.3f} {kept:>8} {already:>18}")
    if args.json:
        p = Path(args.json)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(rep, indent=1) + "\n")
        except OSError as exc:
            raise InputError(f"{args.json}: cannot write ({exc.strerror})") from None
    return 0
