"""Tiles per second of the cocotb testbench on an 8x8 array (Icarus), and the suite's wall time.

    PYTHONPATH=. python benchmarks/rtl_throughput.py [--tiles 1000] [--steps 8] [--nm 2:4]
        [--sim icarus] [--suite] [--out build/rtl/throughput.json]

Plays ``--tiles`` random back-to-back WS tiles of ``--steps`` steps (every output value, latency
and interval checked, as in the tests) on one build; reports tiles/s and simulated cycles/s of
the play itself, and the wall time including Verilog export, build and simulator start.
``--suite`` also times ``pytest -m rtl tests/rtl`` (Icarus part, then Verilator part).
Prints a one-line summary and writes the figures as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "rtl")]

from harness import run_config, simulator_missing  # noqa: E402


def _suite(expr: str) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/rtl", "-m", "rtl", "-k", expr], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    wall = time.perf_counter() - t0
    last = (proc.stdout.strip().splitlines() or [""])[-1]
    return {"selection": expr, "wall_s": round(wall, 1), "result": last, "rc": proc.returncode}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--cols", type=int, default=8)
    ap.add_argument("--nm", default="2:4")
    ap.add_argument("--sim", default="icarus")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--jobs", type=int, default=1,
                    help="simulator processes in parallel, each playing tiles/jobs tiles")
    ap.add_argument("--suite", action="store_true")
    ap.add_argument("--out", default="build/rtl/throughput.json")
    args = ap.parse_args(argv)
    why = simulator_missing(args.sim)
    if why:
        print(f"rtl_throughput: skipped: {why}")
        return 0
    n, m = (int(x) for x in args.nm.split(":"))
    jobs = max(1, args.jobs)
    cfgs = [dict(name=f"bench_ws_{args.rows}x{args.cols}_{n}of{m}" + (f"_j{j}" if jobs > 1 else ""),
                 dataflow="ws", rows=args.rows, cols=args.cols, n=n, m=m, width=8, acc_width=32,
                 scenarios=[dict(name="throughput", kind="random", seed=args.seed + j,
                                 count=args.tiles // jobs + (j < args.tiles % jobs),
                                 steps=[args.steps, args.steps])]) for j in range(jobs)]
    from harness import build_root, write_verilog

    for c in cfgs:  # Verilog once per job folder, before the parallel part
        write_verilog(c, build_root() / args.sim / c["name"] / "sparse_array.v")
    t0 = time.perf_counter()
    if jobs == 1:
        sums = [run_config(cfgs[0], args.sim)]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(jobs) as pool:
            sums = list(pool.map(lambda c: run_config(c, args.sim), cfgs))
    wall = time.perf_counter() - t0
    scs = [s["scenarios"]["throughput"] for s in sums]
    play = max(sc["wall_s"] for sc in scs)
    checked = sum(sc["tiles_checked"] for sc in scs)
    cycles = sum(sc["cycles"] for sc in scs)
    res = {
        "array": f"{args.rows}x{args.cols}", "nm": args.nm, "steps_per_tile": args.steps,
        "simulator": args.sim, "jobs": jobs, "tiles": sum(sc["tiles"] for sc in scs),
        "tiles_checked": checked, "errors": sum(s["errors"] for s in sums), "cycles": cycles,
        "play_s": play, "tiles_per_s": round(checked / play, 1),
        "cycles_per_s": round(cycles / play, 0),
        "verilog_s": max(s["verilog_s"] for s in sums), "build_s": max(s["build_s"] for s in sums),
        "sim_process_s": max(s["sim_s"] for s in sums),
        "wall_s": round(wall, 1), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpus": os.cpu_count(), "load_avg_1min": round(os.getloadavg()[0], 2),
    }
    if args.suite:
        res["suite_icarus"] = _suite("icarus")
        res["suite_verilator"] = _suite("verilator")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    line = (f"rtl_throughput: {res['tiles_checked']}/{res['tiles']} tiles ({args.steps} steps) on "
            f"{res['array']} {args.nm} [{args.sim} x{jobs}] in {res['play_s']:.1f} s = "
            f"{res['tiles_per_s']} tiles/s ({res['cycles_per_s']:.0f} cycles/s); "
            f"wall {res['wall_s']} s with export+build+start, errors {res['errors']}")
    if args.suite:
        line += (f"; suite icarus {res['suite_icarus']['wall_s']} s ({res['suite_icarus']['result']}),"
                 f" verilator {res['suite_verilator']['wall_s']} s ({res['suite_verilator']['result']})")
    print(line)
    return 0 if res["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
