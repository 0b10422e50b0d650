"""Cost of a block's per-(task, controller) demands: O(runs) ramp sums against the per-controller
pass, in the same run, on one block of a real schedule, for several die counts (controllers =
8 per die).  Both give identical sums (checked here and in tests/test_piuma.py).

    PYTHONPATH=$PWD python benchmarks/piuma_demands.py --dataflow inner --scale 14 --dies 1,4,16
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from archsim.config import load_config, with_overrides
from archsim.piuma import fabric as F
from archsim.piuma import run as R


def best(f, args, reps):
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = f(*args)
        t.append(time.perf_counter() - t0)
    return min(t), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernel", default="spgemm")
    ap.add_argument("--dataflow", default="inner")
    ap.add_argument("--scale", type=int, default=14)
    ap.add_argument("--dies", default="1,4,16")
    ap.add_argument("--tasks", type=int, default=3000, help="tasks in the block")
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    print("| dies | controllers | runs | per-controller pass s | ramp sums s | ratio |")
    print("|---:|---:|---:|---:|---:|---:|")
    for d in [int(x) for x in args.dies.split(",")]:
        cfg = with_overrides(load_config("piuma", expect="piuma"), {"dies": d})
        wl = {"kernel": args.kernel, "dataflow": args.dataflow, "rmat_scale": args.scale}
        A, _ = R.load_workload_matrix(wl, 0)
        if args.kernel == "spgemm":
            plan = R.plan_spgemm(A, A, args.dataflow, cfg.shape, R._spgemm_costs(cfg))
        else:
            plan = R.plan_spmv(A, args.dataflow, cfg.shape, R.SpmvCosts())
        prog, _ = plan.block(0, np.arange(min(plan.n_tasks(0), args.tasks)), emit=None)
        a = R.partition(np.arange(prog.n_tasks), prog.weight, cfg.threads, "nnz")
        x = F.controller_sum_inputs(prog, cfg, F.cache_hit_flags(prog, cfg, a))
        t_dense, dense = best(F._controller_sums_dense, x, args.reps)
        t_ramp, ramp = best(F._controller_sums, x, args.reps)
        assert all(np.array_equal(getattr(dense, f), getattr(ramp, f)) for f in ("slots", "trips", "reqs", "breqs", "outb", "backb"))
        print(f"| {d} | {cfg.controllers} | {prog.n_runs} | {t_dense:.2f} | {t_ramp:.2f} | {t_dense / t_ramp:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
