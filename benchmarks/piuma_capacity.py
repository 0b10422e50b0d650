"""What scratchpad capacity costs SpGEMM row-wise hashing: the two capacity policies and the
symbolic table sizing against a scratchpad large enough for every table (the old model's
implicit assumption).

Usage: python benchmarks/piuma_capacity.py [SCALE ...]   (R-MAT, default 12 14)
Prints a Markdown table: cycles, threads busy, peak scratchpad per core, waiting, passes.
"""

from __future__ import annotations

import sys
import time

from archsim.config import load_config, with_overrides
from archsim.piuma.run import run_piuma

scales = [int(a) for a in sys.argv[1:]] or [12, 14]
base = load_config("piuma", expect="piuma")
cases = [
    ("wait (default)", {}),
    ("passes", {"spgemm.capacity_policy": "passes"}),
    ("wait + symbolic sizing", {"spgemm.table_sizing": "symbolic"}),
    ("1 GB scratchpad (no limit)", {"scratchpad_bytes": 1 << 30}),
]
print("| R-MAT scale | policy | cycles | vs no limit | threads busy % | peak SP per core (max) MB | SP wait cycles (sum over threads) | rows in passes | extra B reads (products) | wall s |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for s in scales:
    rows = []
    for name, ov in cases:
        cfg = with_overrides(base, ov) if ov else base
        t = time.perf_counter()
        r, _ = run_piuma(cfg, {"kernel": "spgemm", "dataflow": "rowwise-hash", "rmat_scale": s}, seed=1, keep_output=False)
        rows.append((name, r, time.perf_counter() - t))
    ref = rows[-1][1].total_cycles
    for name, r, wall in rows:
        m = r.metrics
        print(f"| {s} | {name} | {r.total_cycles} | {r.total_cycles / ref:.2f}x | {100 * m['thread_utilization']:.1f} | "
              f"{m['sp_peak_bytes_max'] / 2**20:.2f} | {m['sp_wait_cycles']:.3g} | {m.get('schedule_rows_split', 0):.0f} | "
              f"{m.get('schedule_extra_pass_products', 0):.3g} | {wall:.0f} |", flush=True)
