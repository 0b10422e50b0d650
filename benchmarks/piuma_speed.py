"""Simulator speed: wall time, CPU time, events/s and peak memory for A·A (rowwise-hash) on
R-MAT (Graph500 parameters, seed 1, permuted vertex labels unless --no-permute).
Usage: python benchmarks/piuma_speed.py [--no-permute] 14 16
Each scale runs in a fresh process so that the peak RSS is that of the one run."""

import json
import resource
import subprocess
import sys
import time

if len(sys.argv) > 1 and sys.argv[1] == "--child":
    from archsim.config import load_config
    from archsim.piuma.run import run_piuma

    s, permute = int(sys.argv[2]), sys.argv[3] == "1"
    cfg = load_config("piuma", expect="piuma")
    t, c = time.perf_counter(), time.process_time()
    r, _ = run_piuma(cfg, {"kernel": "spgemm", "dataflow": "rowwise-hash", "rmat_scale": s, "rmat_permute": permute}, seed=1,
                     keep_output=False)
    m = r.metrics
    print(json.dumps({"s": s, "flops": m["flops"], "nnz_c": int(m["output_nnz"]), "cycles": r.total_cycles, "wall": time.perf_counter() - t,
                      "cpu": time.process_time() - c, "sched": r.timings_s["wall_schedule_s"], "sim": r.timings_s["wall_sim_s"],
                      "events": m["sim_events"], "eps": r.timings_s["events_per_s"], "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    sys.exit(0)

args = sys.argv[1:]
permute = "--no-permute" not in args
scales = [int(a) for a in args if a != "--no-permute"] or [14, 16]
print(f"labels: {'permuted (Graph500)' if permute else 'raw Kronecker (not permuted)'}")
print("| R-MAT scale | flops | nnz(C) | cycles | wall s | CPU s | plan s | blocks + SimPy s | events | events/s | peak RSS MB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for s in scales:
    out = subprocess.run([sys.executable, __file__, "--child", str(s), "1" if permute else "0"], check=True, capture_output=True, text=True).stdout
    d = json.loads(out.strip().splitlines()[-1])
    print(f"| {s} | {d['flops']:.3g} | {d['nnz_c']} | {d['cycles']} | {d['wall']:.1f} | {d['cpu']:.1f} | {d['sched']:.1f} | "
          f"{d['sim']:.1f} | {d['events']:.0f} | {d['eps']:.0f} | {d['rss']:.0f} |", flush=True)
