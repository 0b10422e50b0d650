"""Strong scaling over dies: 1, 2, 4, 8, 16 dies x 8 cores on one R-MAT input (fast model).

    PYTHONPATH=$PWD python benchmarks/piuma_dies.py --kernel spmv --dataflow dma --scale 14 --out out/piuma_dies_spmv.png
    PYTHONPATH=$PWD python benchmarks/piuma_dies.py --kernel spgemm --dataflow rowwise-hash --scale 12 --out out/piuma_dies_spgemm.png
    PYTHONPATH=$PWD python benchmarks/piuma_dies.py --plot-only out/dies.json --out out/dies.png   # redraw

Work is partitioned over all threads of all dies (nnz-balanced contiguous ranges, so each die
gets a contiguous block of rows); data is interleaved over all controllers of all dies (the
DGAS default), so (D-1)/D of the accesses cross the optical network.  Prints a Markdown table
(cycles, speedup, efficiency, DRAM and die-link utilisation) and writes the plot.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from archsim.config import load_config, with_overrides
from archsim.hostmem import keep_freed_arrays
from archsim.piuma.run import run_piuma


def plot(pts: list[dict], out: str, title: str) -> None:
    from archsim.plots import plot_scaling

    Path(out).parent.mkdir(parents=True, exist_ok=True)
    plot_scaling(pts, "cores", "cycles", out, speedup=True, ideal=True, title=title)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", default="spmv")
    ap.add_argument("--dataflow", default="dma")
    ap.add_argument("--scale", type=int, default=14)
    ap.add_argument("--dies", default="1,2,4,8,16")
    ap.add_argument("--out")
    ap.add_argument("--json")
    ap.add_argument("--plot-only", metavar="JSON", help="only draw --out from the points of an earlier --json")
    args = ap.parse_args(argv)
    if args.plot_only:
        plot(json.loads(Path(args.plot_only).read_text()), args.out, f"{args.kernel}/{args.dataflow}, R-MAT s{args.scale}: dies x 8 cores")
        return 0
    cfg = load_config("piuma", expect="piuma")
    keep_freed_arrays()  # as `archsim run piuma` does
    pts = []
    print(f"{args.kernel}/{args.dataflow} on R-MAT s{args.scale}")
    print("| dies | cores | cycles | speedup | efficiency | DRAM % of peak | die-link bytes / DRAM bytes | wall s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for d in [int(x) for x in args.dies.split(",")]:
        t0 = time.time()
        res = run_piuma(with_overrides(cfg, {"dies": d}), {"kernel": args.kernel, "dataflow": args.dataflow, "rmat_scale": args.scale}, seed=1,
                        keep_output=False)[0]
        dram = res.bytes_moved["dram_read"] + res.bytes_moved["dram_write"]
        p = {"dies": d, "cores": d * cfg.cores_per_die, "cycles": res.total_cycles, "bw": res.metrics["bandwidth_fraction_of_peak"],
             "die_link_ratio": res.metrics["die_link_bytes"] / max(dram, 1), "wall_s": time.time() - t0}
        pts.append(p)
        s = pts[0]["cycles"] / p["cycles"]
        print(f"| {d} | {p['cores']} | {p['cycles']} | {s:.2f}x | {100 * s / d:.0f}% | {100 * p['bw']:.1f} | {p['die_link_ratio']:.2f} | {p['wall_s']:.0f} |", flush=True)
        if args.json:  # after every point, before the plot: a stopped run or a plotting problem keeps what was measured
            Path(args.json).write_text(json.dumps(pts, indent=1))
    if args.out:
        plot(pts, args.out, f"{args.kernel}/{args.dataflow}, R-MAT s{args.scale}: dies x 8 cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
