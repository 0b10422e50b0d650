"""Simulator speed: wall time, events/s and peak memory for A·A (rowwise-hash) on R-MAT.
Usage: python benchmarks/piuma_speed.py 14 16"""

import resource
import sys
import time

from archsim.config import load_config
from archsim.piuma.run import run_piuma

cfg = load_config("piuma", expect="piuma")
for s in [int(a) for a in sys.argv[1:]] or [14, 16]:
    t = time.perf_counter()
    r, C = run_piuma(cfg, {"kernel": "spgemm", "dataflow": "rowwise-hash", "rmat_scale": s}, seed=1)
    wall = time.perf_counter() - t
    m = r.metrics
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| {s} | {m['flops']:.3g} | {C.nnz} | {r.total_cycles} | {wall:.1f} | {m['wall_schedule_s']:.1f} | {m['wall_sim_s']:.1f} | {m['sim_events']:.0f} | {m['events_per_s']:.0f} | {rss:.0f} |", flush=True)
