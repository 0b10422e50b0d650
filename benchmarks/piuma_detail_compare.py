"""Fast (task-level) vs detailed (access-level) PIUMA model: cycles of every dataflow per input.

    PYTHONPATH=$PWD python benchmarks/piuma_detail_compare.py [--inputs karate,west0067,s8] [--json out/detail.json]

Inputs are bundled matrix names or ``s<scale>`` for R-MAT.  Prints a Markdown table with the
fast/detailed cycle ratio and the wall time of each level.  Programs above
``sim.detail_max_ops`` are reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from archsim.config import load_config, with_overrides
from archsim.piuma.run import run_piuma
from workloads.errors import InputError

SPGEMM = ("rowwise-hash", "inner", "outer")
SPMV = ("base", "cached", "dma", "cache-all")
DEFAULT_INPUTS = "karate,west0067,minnesota,power,ca-GrQc,zenios,PGPgiantcompo,email-Eu-core,polblogs,s8,s9,s10"


def workload(inp: str, kernel: str, dataflow: str) -> dict:
    wl = {"kernel": kernel, "dataflow": dataflow}
    if inp.startswith("s") and inp[1:].isdigit():
        wl["rmat_scale"] = int(inp[1:])
    else:
        wl["matrix"] = inp
    return wl


def compare(cfg, inp: str, kernel: str, dataflow: str, reuse: dict | None = None) -> dict:
    wl = workload(inp, kernel, dataflow)
    t0 = time.perf_counter()
    fast = run_piuma(cfg, wl)[0]
    t1 = time.perf_counter()
    row = {"input": inp, "kernel": kernel, "dataflow": dataflow, "fast_cycles": fast.total_cycles, "fast_s": t1 - t0}
    if reuse is not None:  # the access level does not depend on the fast level's settings
        old = reuse.get((inp, kernel, dataflow))
        if old is None or old.get("detail_cycles") is None:
            row.update(detail_cycles=None, detail_s=None, ratio=None, note=(old or {}).get("note", "not in the reused table"))
        else:
            row.update(detail_cycles=old["detail_cycles"], detail_s=old["detail_s"], ratio=fast.total_cycles / old["detail_cycles"])
        return row
    try:
        det = run_piuma(with_overrides(cfg, {"sim.detail": "access"}), wl)[0]
    except InputError as e:
        row.update(detail_cycles=None, detail_s=None, ratio=None, note=str(e).split(";")[0])
        return row
    t2 = time.perf_counter()
    row.update(detail_cycles=det.total_cycles, detail_s=t2 - t1, ratio=fast.total_cycles / det.total_cycles,
               detail_events=det.metrics["sim_events"])
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", default=DEFAULT_INPUTS)
    ap.add_argument("--kernels", default="spgemm,spmv")
    ap.add_argument("--config", default="piuma")
    ap.add_argument("--set", action="append", default=[], help="override, e.g. dram.latency_cycles=80")
    ap.add_argument("--max-ops", type=int, default=None, help="sim.detail_max_ops for the access level")
    ap.add_argument("--reuse", help="JSON of an earlier run: take its access-level cycles, rerun only the fast level")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    reuse = None
    if args.reuse:
        reuse = {(r["input"], r["kernel"], r["dataflow"]): r for r in json.loads(Path(args.reuse).read_text())}
    cfg = load_config(args.config, expect="piuma")
    if args.max_ops:
        cfg = with_overrides(cfg, {"sim.detail_max_ops": args.max_ops})
    if args.set:
        cfg = with_overrides(cfg, {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)})
    rows = []
    print("| input | kernel | dataflow | fast cycles | detailed cycles | fast/detailed | wall fast / detailed (s) |")
    print("|---|---|---|---:|---:|---:|---|")
    for inp in args.inputs.split(","):
        for kernel in args.kernels.split(","):
            for df in SPGEMM if kernel == "spgemm" else SPMV:
                r = compare(cfg, inp, kernel, df, reuse)
                rows.append(r)
                if r["ratio"] is None:
                    print(f"| {inp} | {kernel} | {df} | {r['fast_cycles']} | skipped ({r['note']}) | | {r['fast_s']:.1f} / - |", flush=True)
                else:
                    print(f"| {inp} | {kernel} | {df} | {r['fast_cycles']} | {r['detail_cycles']} | {r['ratio']:.3f} | {r['fast_s']:.1f} / {r['detail_s']:.1f} |", flush=True)
                rows[-1]["config"] = args.set
                if args.json:  # after every row: a long run that is stopped keeps what it measured
                    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
                    Path(args.json).write_text(json.dumps(rows, indent=1))
    ok = [r["ratio"] for r in rows if r["ratio"] is not None]
    if ok:
        worst = max(ok, key=lambda x: abs(x - 1))
        print(f"\n{len(ok)} compared, worst fast/detailed = {worst:.3f}, within ±10%: {sum(abs(x - 1) <= 0.10 for x in ok)}/{len(ok)}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
