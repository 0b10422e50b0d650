"""SAT 2:8 speed-up with the bandwidth server vs the command-level DRAM model, and the error of the
command model's fast path (``fidelity: aggregate``) against the exact per-burst run.

Speed-up = cycles(dense) / cycles(2:8 BDWP) of one training iteration on the default SAT config
(4 × DDR4-2400 channels).  ``--exact-model`` / ``--exact-batch`` pick the workload on which the
exact (every burst through the command-level channels) run is made to measure the aggregate error.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/dram_sat.py [--batch 32] [--out out/bench/dram_sat.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from archsim.config import load_config, with_overrides
from archsim.sat.model import SatModel
from archsim.sat.run import make_schedule

MODELS = ("resnet18", "resnet50", "vgg16", "vit_b_16")
DRAMS = {"bandwidth": {}, "command": {"dram.model": "command"},
         "exact": {"dram.model": "command", "dram.command.fidelity": "exact"}}


def run(cfg, model, batch, sparsity, dram):
    c = with_overrides(cfg, DRAMS[dram]) if DRAMS[dram] else cfg
    sched = make_schedule(c, {"model": model, "batch": batch, "sparsity": sparsity})
    t0 = time.process_time()
    m = SatModel(c, sched)
    st = m.run()
    dt = time.process_time() - t0
    extra = m.dram.blocks.stats() if hasattr(m.dram, "blocks") else {}
    return {"cycles": st.total_cycles, "cpu_s": dt,
            "dram_bytes": st.bytes["dram_read"] + st.bytes["dram_write"], "dram": extra}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--exact-model", default="resnet18")
    ap.add_argument("--exact-batch", type=int, default=1)
    ap.add_argument("--no-exact", action="store_true")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a SAT config field, e.g. dram.channels=1 (DRAM-bound case)")
    ap.add_argument("--out", default="out/bench/dram_sat.json")
    args = ap.parse_args()
    cfg = load_config("sat")
    if args.set:
        import yaml

        cfg = with_overrides(cfg, {k: yaml.safe_load(v) for k, v in
                                   (item.split("=", 1) for item in args.set)})
    res: dict = {"batch": args.batch, "set": args.set, "models": {}}
    for model in args.models.split(","):
        row = {}
        for dram in ("bandwidth", "command"):
            d = run(cfg, model, args.batch, "dense", dram)
            s = run(cfg, model, args.batch, "2:8", dram)
            row[dram] = {"dense": d, "2:8": s, "speedup": d["cycles"] / s["cycles"]}
        res["models"][model] = row
        print(f"{model:9s} b{args.batch}: speed-up bandwidth {row['bandwidth']['speedup']:.3f}  "
              f"command {row['command']['speedup']:.3f}  (2:8 cycles bw {row['bandwidth']['2:8']['cycles']:.4g}"
              f" cmd {row['command']['2:8']['cycles']:.4g}; cpu {row['command']['2:8']['cpu_s']:.1f} s)",
              flush=True)
    if not args.no_exact:
        ex = {}
        for sp in ("dense", "2:8"):
            e = run(cfg, args.exact_model, args.exact_batch, sp, "exact")
            a = run(cfg, args.exact_model, args.exact_batch, sp, "command")
            b = run(cfg, args.exact_model, args.exact_batch, sp, "bandwidth")
            ex[sp] = {"exact": e, "aggregate": a, "bandwidth": b,
                      "aggregate_error": a["cycles"] / e["cycles"] - 1,
                      "bandwidth_error": b["cycles"] / e["cycles"] - 1}
            print(f"exact {args.exact_model} b{args.exact_batch} {sp}: exact {e['cycles']:.6g} cycles "
                  f"({e['cpu_s']:.0f} s, {e['dram']['bursts'] / e['cpu_s']:.0f} bursts/s), aggregate "
                  f"{100 * ex[sp]['aggregate_error']:+.2f} %, bandwidth server "
                  f"{100 * ex[sp]['bandwidth_error']:+.2f} %", flush=True)
        ex["speedup_exact"] = ex["dense"]["exact"]["cycles"] / ex["2:8"]["exact"]["cycles"]
        ex["speedup_aggregate"] = ex["dense"]["aggregate"]["cycles"] / ex["2:8"]["aggregate"]["cycles"]
        ex["speedup_bandwidth"] = ex["dense"]["bandwidth"]["cycles"] / ex["2:8"]["bandwidth"]["cycles"]
        res["exact"] = {"model": args.exact_model, "batch": args.exact_batch, **ex}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
