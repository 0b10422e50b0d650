"""2:8 vs dense training on imported ONNX graphs, next to the zoo: speed-up, energy, import time.

For each model: import it (the nine graphs of the onnx wheel's ``backend/test/data/light`` and a
MobileNet v1 built with `workloads.dnn.onnx_examples`; the zoo's four by name), simulate one
training iteration dense and 2:8 on the default SAT config, and split the 2:8 and dense cycles
by layer class (depthwise, grouped with channels per group not divisible by M, other
dense-forced layers, N:M-pruned layers, attention matmuls) to show what limits the speed-up.

    python benchmarks/onnx_speedup.py [--batch 32] [--out out/onnx_bench] [--models ...]

Writes ``results.json`` and ``table.md`` under ``--out``; prints one summary line.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import onnx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from archsim.api import simulate  # noqa: E402
from archsim.config import load_config  # noqa: E402
from dataflow.sat import effective_nm, training_gemm_specs  # noqa: E402
from workloads.dnn import get_model, training_gemms  # noqa: E402
from workloads.dnn import onnx_examples as ex  # noqa: E402
from workloads.dnn.onnx_import import import_onnx  # noqa: E402
from workloads.sparsity import NM  # noqa: E402

LIGHT = Path(onnx.__file__).parent / "backend/test/data/light"
ONNX_MODELS = ["bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50",
               "shufflenet", "squeezenet", "vgg19", "zfnet512"]
ZOO = ["resnet18", "resnet50", "vgg16", "vit_b_16"]


def layer_classes(model, batch: int, nm: NM) -> dict[str, str]:
    """Layer name → class, from its shapes and whether its FF GEMM can run N:M."""
    specs = {(s.layer, s.pass_): s for s in training_gemm_specs(training_gemms(model, batch))}
    out = {}
    for layer in model.layers:
        if layer.kind == "matmul":
            out[layer.name] = "attention matmul"
        elif layer.kind in ("conv2d", "linear"):
            pruned = not effective_nm(specs[layer.name, "FF"], nm).is_dense
            if layer.kind == "conv2d" and layer.groups > 1 and layer.groups == layer.in_ch:
                out[layer.name] = "depthwise conv"
            elif layer.kind == "conv2d" and layer.groups > 1:
                out[layer.name] = "grouped conv, N:M" if pruned else "grouped conv, dense (M ∤ C/g)"
            else:
                out[layer.name] = "conv/linear, N:M" if pruned else "conv/linear, dense (first)"
    return out


def by_class(result, classes: dict[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for layer, passes in result.layer_cycles.items():
        c = classes.get(layer, "other")
        out[c] = out.get(c, 0) + sum(passes.values())
    return out


def bench(name: str, source: str, batch: int, cfg) -> dict:
    t0 = time.perf_counter()
    if source == "zoo":
        model, ref = get_model(name), name
        import_s = None
    else:
        imp = import_onnx(source, batch=batch)
        model, ref = imp.model, source
        import_s = time.perf_counter() - t0
    runs = {}
    for sp in ("dense", "2:8"):
        t = time.perf_counter()
        r = simulate(cfg, {"model": ref, "batch": batch, "sparsity": sp})
        runs[sp] = (r, time.perf_counter() - t)
    d, s = runs["dense"][0], runs["2:8"][0]
    classes = layer_classes(model, batch, NM(2, 8))
    cd, cs = by_class(d, classes), by_class(s, classes)
    return {
        "model": name, "source": "zoo" if source == "zoo" else Path(source).name,
        "params": model.params, "gmacs_per_sample": model.macs / 1e9,
        "import_s": import_s, "sim_s": runs["dense"][1] + runs["2:8"][1],
        "dense_cycles": d.total_cycles, "nm_cycles": s.total_cycles,
        "speedup": d.total_cycles / s.total_cycles,
        "dense_mj": d.total_energy_pj / 1e9, "nm_mj": s.total_energy_pj / 1e9,
        "energy_ratio": d.total_energy_pj / s.total_energy_pj,
        "multiplier_util_nm": s.metrics["multiplier_utilization"],
        "pass_speedup": {p: d.phase_cycles.get(p, 0) / max(s.phase_cycles.get(p, 0), 1)
                         for p in ("FF", "BP", "WU")},
        "wu_share_nm": s.phase_cycles.get("WU", 0) / s.total_cycles,
        "classes": {c: {"dense_cycles": cd.get(c, 0), "nm_cycles": cs.get(c, 0)}
                    for c in sorted(set(cd) | set(cs))},
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--out", default="out/onnx_bench")
    ap.add_argument("--models", nargs="*", default=None,
                    help="subset: onnx names (e.g. shufflenet), 'mobilenet_v1' or zoo names")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mb = ex.save(ex.mobilenet_v1(batch=None), out / "mobilenet_v1.onnx")
    jobs = [(m, str(LIGHT / f"light_{m}.onnx")) for m in ONNX_MODELS]
    jobs += [("mobilenet_v1 (helper)", str(mb))] + [(z, "zoo") for z in ZOO]
    if args.models:
        jobs = [j for j in jobs if j[0].split(" ")[0] in args.models]
    cfg = load_config("sat")
    rows = []
    t0 = time.perf_counter()
    for name, src in jobs:
        rows.append(bench(name, src, args.batch, cfg))
        r = rows[-1]
        print(f"{name:<24} {r['speedup']:.3f}x  energy {r['energy_ratio']:.3f}x  "
              f"sim {r['sim_s']:.1f} s", file=sys.stderr, flush=True)
    meta = {"batch": args.batch, "python": platform.python_version(), "onnx": onnx.__version__,
            "machine": platform.machine(), "wall_s": time.perf_counter() - t0}
    (out / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    lines = ["| model | source | params | GMACs | import | dense cycles | 2:8 cycles | 2:8 speed-up "
             "| FF / BP / WU speed-up | WU share of 2:8 | energy dense → 2:8 (mJ) | "
             "energy saving | mult. util. 2:8 |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        imp = "—" if r["import_s"] is None else f"{r['import_s'] * 1e3:.0f} ms"
        lines.append(f"| {r['model']} | {r['source']} | {r['params']:,} | "
                     f"{r['gmacs_per_sample']:.3f} | {imp} | {r['dense_cycles']:,} | "
                     f"{r['nm_cycles']:,} | {r['speedup']:.3f}x | "
                     + " / ".join(f"{r['pass_speedup'][p]:.2f}" for p in ("FF", "BP", "WU"))
                     + f" | {r['wu_share_nm']:.0%} | {r['dense_mj']:.1f} → "
                     f"{r['nm_mj']:.1f} | {r['energy_ratio']:.3f}x | "
                     f"{r['multiplier_util_nm']:.1%} |")
    lines += ["", "| model | layer class | share of dense cycles | share of 2:8 cycles | "
              "class speed-up |", "|---|---|---:|---:|---:|"]
    for r in rows:
        td, ts = r["dense_cycles"], r["nm_cycles"]
        for c, v in r["classes"].items():
            if v["dense_cycles"] == 0:
                continue
            lines.append(f"| {r['model']} | {c} | {v['dense_cycles'] / td:.1%} | "
                         f"{v['nm_cycles'] / ts:.1%} | "
                         f"{v['dense_cycles'] / max(v['nm_cycles'], 1):.2f}x |")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    onnx_rows = [r for r in rows if r["source"] != "zoo"]
    print(f"onnx_speedup: {len(rows)} models at batch {args.batch} in {meta['wall_s']:.0f} s; "
          f"2:8 speed-up {min(r['speedup'] for r in onnx_rows):.3f}x–"
          f"{max(r['speedup'] for r in onnx_rows):.3f}x on imported graphs; table in "
          f"{out / 'table.md'}" if onnx_rows else f"onnx_speedup: {len(rows)} models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
