"""Fidelity and speed vs SCALE-Sim v3 on dense GEMMs (1-multiplier PEs, 32×32, WS and OS).

Runs SCALE-Sim 3.0.0 (stall-free: InterfaceBandwidth CALC) in its own virtualenv and our
simulator in this one, on the same workloads:

* GEMM 512×512×512,
* five ResNet-18 convolutions (batch 1, padding folded into SCALE-Sim's IFMAP size, which does
  not pad): conv1, layer1.0.conv1, layer2.0.conv1, layer3.0.conv2, layer4.0.conv2.

Ours is reported two ways: ``fold`` = ``array.overlap_tiles: false`` (each fold pays weight load,
fill and drain, as SCALE-Sim counts) and ``overlap`` = the default pipelined array (the next
fold's weights shift in while the current one streams).  Both use on-chip buffers large enough
for SCALE-Sim's folding (whole output column per fold), ``acc_latency_cycles = 1`` and array
busy cycles (compute), plus our end-to-end total with DRAM.

Set up the peer once (not a project dependency):
    python3 -m venv .benchvenv && .benchvenv/bin/pip install 'scalesim==3.0.0' 'numpy<2.4'
Run:  .venv/bin/python benchmarks/scalesim_compare.py [--out out/bench/scalesim.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from archsim.config import load_config, with_overrides
from archsim.sat.run import simulate_sat

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT / ".benchvenv" / "bin" / "python"

# name, (H, W, R, S, C, K, stride, pad)
CONVS = [
    ("resnet18.conv1", (224, 224, 7, 7, 3, 64, 2, 3)),
    ("resnet18.layer1.0.conv1", (56, 56, 3, 3, 64, 64, 1, 1)),
    ("resnet18.layer2.0.conv1", (56, 56, 3, 3, 64, 128, 2, 1)),
    ("resnet18.layer3.0.conv2", (14, 14, 3, 3, 256, 256, 1, 1)),
    ("resnet18.layer4.0.conv2", (7, 7, 3, 3, 512, 512, 1, 1)),
]


def workloads():
    yield "gemm512", "gemm", "g512, 512, 512, 512", (512, 512, 512)
    for name, (h, w, r, s, c, k, st, pad) in CONVS:
        hp, wp = h + 2 * pad, w + 2 * pad
        oh, ow = (hp - r) // st + 1, (wp - s) // st + 1
        row = f"{name}, {hp}, {wp}, {r}, {s}, {c}, {k}, {st}"
        yield name, "conv", row, (oh * ow, r * s * c, k)


def peer(kind: str, df: str, row: str, rows: int, cols: int) -> dict:
    out = subprocess.run([str(PEER), str(Path(__file__).parent / "_scalesim_runner.py"), kind,
                          str(rows), str(cols), df, row], capture_output=True, text=True,
                         check=True, cwd="/tmp")
    return json.loads(out.stdout.strip().splitlines()[-1])


def ours(mkn, df: str, overlap: bool, rows: int, cols: int) -> dict:
    cfg = with_overrides(load_config("sat"), {
        "array.rows": rows, "array.cols": cols, "array.multipliers_per_pe": 1, "array.window": 1,
        "array.acc_latency_cycles": 1, "array.overlap_tiles": overlap,
        "buffers.act_bytes": 1 << 28, "buffers.weight_bytes": 1 << 28, "buffers.out_bytes": 1 << 28,
    })
    t0 = time.perf_counter()
    r = simulate_sat(cfg, {"gemm": list(mkn), "sparsity": "dense", "dataflow": df})
    wall = time.perf_counter() - t0
    return {"array_cycles": r.unit_busy_cycles["array"], "total_cycles": r.total_cycles,
            "wall_s": wall}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="out/bench/scalesim.json")
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--cols", type=int, default=32)
    args = ap.parse_args()
    if not PEER.exists():
        print(f"SCALE-Sim venv not found at {PEER}; see the module docstring", file=sys.stderr)
        return 2
    rows = []
    for name, kind, row, mkn in workloads():
        for df in ("ws", "os"):
            p = peer(kind, df, row, args.rows, args.cols)
            fold = ours(mkn, df, False, args.rows, args.cols)
            ov = ours(mkn, df, True, args.rows, args.cols)
            rec = {"workload": name, "M,K,N": mkn, "dataflow": df, "scalesim_cycles": p["cycles"],
                   "scalesim_stalls": p["stall_cycles"], "scalesim_wall_s": p["wall_s"],
                   "fold_cycles": fold["array_cycles"], "fold_total": fold["total_cycles"],
                   "overlap_cycles": ov["array_cycles"], "overlap_total": ov["total_cycles"],
                   "ours_wall_s": ov["wall_s"]}
            rec["fold_vs_scalesim"] = rec["fold_cycles"] / p["cycles"] - 1
            rec["overlap_vs_scalesim"] = rec["overlap_cycles"] / p["cycles"] - 1
            rows.append(rec)
            print(f"{name:<26} {df}  scalesim {p['cycles']:>9,}  fold {fold['array_cycles']:>9,} "
                  f"({rec['fold_vs_scalesim']:+.2%})  overlap {ov['array_cycles']:>9,} "
                  f"({rec['overlap_vs_scalesim']:+.2%})  wall scalesim {p['wall_s']:.1f}s ours "
                  f"{ov['wall_s'] * 1e3:.0f}ms", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    worst = max(abs(r["fold_vs_scalesim"]) for r in rows)
    g = [r for r in rows if r["workload"] == "gemm512"]
    speed = ", ".join(f"{r['dataflow']} {r['scalesim_wall_s'] / r['ours_wall_s']:.0f}x" for r in g)
    print(f"summary: fold-by-fold cycles within {worst:.2%} of SCALE-Sim on {len(rows)} cases; "
          f"GEMM 512^3 wall-time ratio SCALE-Sim/ours: {speed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
