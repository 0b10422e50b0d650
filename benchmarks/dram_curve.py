"""Error of the loaded-latency-curve fast path: latency interpolated from `loaded_latency_curve`
(the command model run at a ladder of loads) vs the command model run at off-ladder loads.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/dram_curve.py [--requests 20000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from archsim.dram import load_preset, loaded_latency_curve, simulate
from archsim.dram import patterns as P

PRESETS = ("DDR4_2400_x8_1R", "DDR5_4400_x8_subch")
PROBES = (0.05, 0.15, 0.27, 0.42)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--out", default="out/bench/dram_curve.json")
    args = ap.parse_args()
    res = {}
    for name in PRESETS:
        cfg = load_preset(name)
        t = time.process_time()
        curve = loaded_latency_curve(cfg, requests=args.requests)
        build = time.process_time() - t
        rows = []
        for load in PROBES:
            gap = round(cfg.burst_tck / load)
            a, arr = P.uniform_random(args.requests, 7, gap_tck=gap)
            s = simulate(cfg, a, None, arr).stats
            est = curve.latency_ns(s.efficiency)
            rows.append({"load": s.efficiency, "command_ns": s.read_latency_mean_ns,
                         "curve_ns": est, "error": est / s.read_latency_mean_ns - 1})
            print(f"{name:20s} load {100 * s.efficiency:5.1f} %  command {s.read_latency_mean_ns:6.1f} ns"
                  f"  curve {est:6.1f} ns  error {100 * rows[-1]['error']:+.1f} %", flush=True)
        res[name] = {"build_cpu_s": build, "saturation": curve.saturation, "probes": rows,
                     "curve": curve.to_dict()}
        print(f"{name}: curve built in {build:.1f} s CPU, saturation {100 * curve.saturation:.1f} %")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
