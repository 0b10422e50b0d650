"""The README's reference tables (/work/shared/data/dram/README.md §3.2-3.4) with archsim's column
beside DRAMsim3's (D3) and Ramulator 2.1's (R2).  Traces are generated here with the same shapes
as ``gen_traces.py`` (sequential, uniform random 64 B in 16 GiB, 2R:1W, open-loop random at fixed
gaps), seeded; ``--requests`` sets the saturated trace length (README: 400 k D3 cycles / 200 k R2
requests).  Writes a Markdown table and JSON.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/dram_validate.py [--requests 100000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from archsim.dram import load_preset, simulate
from archsim.dram import patterns as P

BG_LOW = "ro ch ra ba co bg"
# (label, preset, overrides, refs per column: seq read, seq write, random read, random 2R:1W)
SAT_ROWS = [
    ("x8 1r, default map (rochrababgco)", "DDR4_2400_x8_1R", {},
     ["78.3 / 74.6", "78.2 / –", "58.2 / 57.7", "56.9 / 56.3"]),
    ("x8 1r, bg-low (rochrabacobg)", "DDR4_2400_x8_1R", {"controller": {"address_map": BG_LOW}},
     ["95.1 / 93.1ᵃ", "95.0 / –", "58.2 / 57.7", "56.7 / 56.3"]),
    ("x8 1r, ChRaBaRoCo (R2)", "DDR4_2400_x8_1R", {"controller": {"address_map": "ch ra ba bg ro co"}},
     ["– / 60.5", "– / –", "– / 57.7", "– / 56.3"]),
    ("x4 1r", "DDR4_2400_x4_1R", {}, ["78.3 / –", "78.2 / –", "91.2 / 83.1", "68.6 / –"]),
    ("x8 2 ranks", "DDR4_2400_x8_1R", {"organisation": {"ranks": 2}},
     ["77.7 / –", "78.1 / –", "88.1 / –", "81.4 / –"]),
    ("x16 1r", "DDR4_2400_x16_1R", {}, ["– / –", "– / –", "41.8 / 42.1", "– / –"]),
]
DDR5_ROWS = [
    ("tFAW 32", {"timing": {"tFAW_tck": 32}}, ["91.4", "88.0", "86.1", "76.5"]),
    ("tFAW 44", {"timing": {"tFAW_tck": 44}}, ["91.4", "88.0", "66.2", "64.7"]),
]
LAT_LOADS = [0.0, 0.10, 0.20, 0.33, 0.50, 0.67, 0.80, 1.0]
LAT_REFS = {  # ns per load (README §3.3)
    "D3 x8 1r": [44.1, 58.4, 65.5, 78.1, 124.0, "sat. 58.2 %", None, None],
    "R2 x8 1r": [43.1, 58.8, 65.0, 71.0, 83.8, "sat. 57.8 %", None, None],
    "D3 x4 1r": [44.1, 58.1, 64.0, 72.3, 88.2, 120.6, 181.5, "415.8 (91 %)"],
    "R2 DDR5 tFAW 32": [46.1, 59.7, 65.6, 72.1, "73.6 (48 %)", "75.9 (64 %)", "82.8 (75 %)", None],
}


def pct(x):
    return f"{100 * x:.1f}"


def saturated(name, ov, n, seed):
    cfg = load_preset(name, ov or None)
    seq, _ = P.sequential(n)
    rnd, _ = P.uniform_random(n, seed)
    mix = P.mix_writes(n, seed + 1)
    out = []
    for a, w in ((seq, None), (seq, np.ones(n, bool)), (rnd, None), (rnd, mix)):
        out.append(simulate(cfg, a, w).stats.efficiency)
    return out


def loaded(name, ov, n, seed):
    cfg = load_preset(name, ov or None)
    bl = cfg.burst_tck
    row = []
    for load in LAT_LOADS:
        gap = 2000 if load == 0 else max(1, round(bl / load))
        k = 2000 if gap >= 100 else n
        a, arr = P.uniform_random(k, seed, gap_tck=gap)
        s = simulate(cfg, a, None, arr).stats
        row.append((s.read_latency_mean_ns, s.efficiency))
    return row


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--latency-requests", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="out/bench/dram_validate")
    args = ap.parse_args()
    t0 = time.process_time()
    res: dict = {"saturated": {}, "ddr5": {}, "latency": {}}
    md = ["### Saturated bandwidth, DDR4-2400 CL17 (efficiency %, archsim | D3 / R2)", "",
          "| config | seq read | seq write | random read | random 2R:1W |", "| --- | --- | --- | --- | --- |"]
    for label, name, ov, refs in SAT_ROWS:
        e = saturated(name, ov, args.requests, args.seed)
        res["saturated"][label] = e
        md.append(f"| {label} | " + " | ".join(f"**{pct(x)}** ({r})" for x, r in zip(e, refs)) + " |")
        print(md[-1], flush=True)
    md += ["", "ᵃ R2 MOP4CLXOR (XOR-interleaved, closest to bank-group-lowest).", "",
           "### DDR5-4400, one 32-bit sub-channel (efficiency %, archsim (R2))", "",
           "| tFAW | seq read, bg-low (R2 MOP4CLXOR) | seq read, default map (R2 RoBaRaCoCh) | random read | random 2R:1W |",
           "| --- | --- | --- | --- | --- |"]
    for label, ov, refs in DDR5_ROWS:
        cfg_ov = {**ov, "controller": {"address_map": BG_LOW}}
        n = args.requests
        seq, _ = P.sequential(n)
        rnd, _ = P.uniform_random(n, args.seed)
        mix = P.mix_writes(n, args.seed + 1)
        e = [simulate(load_preset("DDR5_4400_x8_subch", cfg_ov), seq).stats.efficiency,
             simulate(load_preset("DDR5_4400_x8_subch", ov), seq).stats.efficiency,
             simulate(load_preset("DDR5_4400_x8_subch", ov), rnd).stats.efficiency,
             simulate(load_preset("DDR5_4400_x8_subch", ov), rnd, mix).stats.efficiency]
        res["ddr5"][label] = e
        md.append(f"| {label} | " + " | ".join(f"**{pct(x)}** ({r})" for x, r in zip(e, refs)) + " |")
        print(md[-1], flush=True)
    md += ["", "### Loaded latency, random 64 B reads, open loop (mean ns; archsim | reference)", "",
           "| offered load | " + " | ".join(f"{int(100 * x)} %" if x else "~0 (gap 2000)" for x in LAT_LOADS) + " |",
           "| --- |" + " --- |" * len(LAT_LOADS)]
    for label, name, ov in (("x8 1r", "DDR4_2400_x8_1R", {}), ("x4 1r", "DDR4_2400_x4_1R", {}),
                            ("DDR5 tFAW 32", "DDR5_4400_x8_subch", {})):
        row = loaded(name, ov, args.latency_requests, args.seed)
        res["latency"][label] = row
        md.append(f"| archsim {label} | " + " | ".join(
            f"**{m:.1f}**" + ("" if abs(e - (l if l else 0)) < 0.02 or not l else f" ({100 * e:.0f} %)")
            for (m, e), l in zip(row, LAT_LOADS)) + " |")
        print(md[-1], flush=True)
    for label, refs in LAT_REFS.items():
        md.append(f"| {label} | " + " | ".join("–" if r is None else (f"{r:.1f}" if isinstance(r, float) else r)
                                              for r in refs) + " |")
    cpu = time.process_time() - t0
    md += ["", f"archsim: saturated traces {args.requests} requests, open-loop {args.latency_requests} "
               f"(2,000 at gap 2000), seed {args.seed}; {cpu:.0f} s CPU for the whole table."]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + ".md").write_text("\n".join(md) + "\n")
    Path(args.out + ".json").write_text(json.dumps(res, indent=1))
    print(f"wrote {args.out}.md ({cpu:.0f} s CPU)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
