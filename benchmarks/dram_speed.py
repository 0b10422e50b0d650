"""Speed of the command-level DRAM model: requests per CPU second on one core.

Cases (DDR4-2400 x8 1 rank unless named): saturated sequential reads (column-lowest and
bank-group-lowest maps), saturated random reads, random 2R:1W, open-loop random reads at 33 %
load, DDR5-4400 random reads; the batch function (`simulate`) and the SimPy port (`DramPort`,
one SimPy source process issuing the same requests).  CPU time (``time.process_time``), best of
``--repeat``.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/dram_speed.py [--requests 100000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import simpy

from archsim.dram import load_preset, simulate
from archsim.dram import patterns as P
from archsim.dram.port import DramPort


def cases(n):
    seq, _ = P.sequential(n)
    rnd, _ = P.uniform_random(n, 1)
    _, gap12 = P.uniform_random(n, 1, gap_tck=12)
    return {
        "seq read, column-lowest": ("DDR4_2400_x8_1R", {}, seq, None, None),
        "seq read, bg-lowest": ("DDR4_2400_x8_1R", {"controller": {"address_map": "ro ch ra ba co bg"}},
                                seq, None, None),
        "random read": ("DDR4_2400_x8_1R", {}, rnd, None, None),
        "random 2R:1W": ("DDR4_2400_x8_1R", {}, rnd, P.mix_writes(n, 2), None),
        "random read, 33 % load": ("DDR4_2400_x8_1R", {}, rnd, None, gap12),
        "DDR5 random read": ("DDR5_4400_x8_subch", {}, rnd, None, None),
    }


def via_port(cfg, addrs, writes, arrivals):
    env = simpy.Environment()
    port = DramPort(env, cfg)
    n = len(addrs)
    w = np.zeros(n, bool) if writes is None else writes
    arr = np.zeros(n, np.int64) if arrivals is None else arrivals
    window = cfg.controller.read_queue + cfg.controller.write_queue

    def source():  # closed loop when saturated: at most `window` requests outstanding
        pending = []
        for i in range(n):
            if arr[i] > env.now:
                yield env.timeout(arr[i] - env.now)
            if arrivals is None and len(pending) >= window:
                yield pending.pop(0)
            pending.append(port.access(int(addrs[i]), 64, bool(w[i])))

    env.process(source())
    env.run()
    return port


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", default="out/bench/dram_speed.json")
    args = ap.parse_args()
    res = {}
    for name, (preset, ov, a, w, arr) in cases(args.requests).items():
        cfg = load_preset(preset, ov or None)
        best = best_port = float("inf")
        for _ in range(args.repeat):
            t = time.process_time()
            s = simulate(cfg, a, w, arr).stats
            best = min(best, time.process_time() - t)
        k = min(args.requests, 30_000)
        t = time.process_time()
        via_port(cfg, a[:k], None if w is None else w[:k], None if arr is None else arr[:k])
        best_port = time.process_time() - t
        res[name] = {"batch_requests_per_s": args.requests / best,
                     "simpy_requests_per_s": k / best_port, "efficiency": s.efficiency}
        print(f"{name:28s} batch {args.requests / best:9.0f} req/s   SimPy port {k / best_port:8.0f} req/s"
              f"   (efficiency {100 * s.efficiency:.1f} %)", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
