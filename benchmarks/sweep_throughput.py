"""Sweep throughput: design points per second and peak memory, 1 and 2 local workers.

    PYTHONPATH=. python benchmarks/sweep_throughput.py                       # the SAT ResNet-50 sweep
    PYTHONPATH=. python benchmarks/sweep_throughput.py --points 120 --workers 1 2
    PYTHONPATH=. python benchmarks/sweep_throughput.py --synthetic --points 1000   # machinery only

Each measurement runs in a fresh child process into a fresh store (so peak RSS is that of one
sweep): the whole sweep path (spec expansion, process pool, per-point SQLite commit) with the
real simulator behind `archsim.api.simulate` (or the synthetic one, to measure the machinery's
own ceiling).  ``--points N`` runs a seeded random subset of N points spread over the spec.
Figures go to ``out/bench/sweep_throughput.json``; one summary line per run is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    from archsim.sweep import run_sweep

    fn = None
    if args.synthetic:
        from archsim.sweep.testing import synthetic_simulate as fn
    store = Path(args.store)
    for f in (store, Path(f"{store}-wal"), Path(f"{store}-shm")):
        f.unlink(missing_ok=True)
    t0 = time.perf_counter()
    s = run_sweep(args.spec, store, workers=args.workers[0], simulate_fn=fn, limit=args.points)
    wall = time.perf_counter() - t0
    main_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({
        "spec": args.spec, "workers": args.workers[0], "synthetic": args.synthetic,
        "points": s.ran, "ok": s.ok, "failed": s.failed, "sweep_s": round(s.elapsed_s, 2),
        "total_s": round(wall, 2), "points_per_s": round(s.ran / s.elapsed_s, 3),
        "peak_rss_main_mib": round(main_rss, 1), "peak_rss_worker_mib": round(worker_rss, 1),
        "s_per_1000_points": round(1000 * s.elapsed_s / max(s.ran, 1), 1),
    }))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=str(ROOT / "archsim/configs/sweeps/sat_resnet50.yaml"))
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--points", type=int, default=None, help="seeded random subset of the spec's points")
    ap.add_argument("--synthetic", action="store_true", help="synthetic simulator: the machinery's own ceiling")
    ap.add_argument("--out", default=str(ROOT / "out/bench/sweep_throughput.json"))
    ap.add_argument("--store", default=None)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    runs = []
    for w in args.workers:
        tag = f"{Path(args.spec).stem}_w{w}_{args.points or 'all'}{'_syn' if args.synthetic else ''}"
        store = args.store or str(out.parent / f"throughput_{tag}.db")
        cmd = [sys.executable, __file__, "--child", "--spec", args.spec, "--workers", str(w), "--store", store]
        if args.points:
            cmd += ["--points", str(args.points)]
        if args.synthetic:
            cmd.append("--synthetic")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        runs.append(r)
        print(f"sweep_throughput: {Path(args.spec).name} {r['points']} points, {w} worker(s): "
              f"{r['points_per_s']:.2f} points/s ({r['s_per_1000_points']:.0f} s per 1,000 points), "
              f"peak RSS main {r['peak_rss_main_mib']:.0f} MiB, worker {r['peak_rss_worker_mib']:.0f} MiB"
              f"{' [synthetic simulator]' if args.synthetic else ''}", flush=True)
    record = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "python": platform.python_version(), "runs": runs}
    history = json.loads(out.read_text()) if out.exists() else []
    history.append(record)
    out.write_text(json.dumps(history, indent=1))


if __name__ == "__main__":
    main()
