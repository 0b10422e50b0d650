"""Sensitivity of the held-out PIUMA figures to each assumption of the preset, x0.5 and x2.

    PYTHONPATH=$PWD python benchmarks/piuma_sensitivity.py [--spmv-scale 11] [--spgemm-scale 9] [--json out/sens.json]

For the preset and for every assumption halved and doubled (one at a time), reports the SpMV
ladder (cached/base, dma/base, cache-all/base, DMA % of peak DRAM bandwidth) on R-MAT
``--spmv-scale`` and row-wise hashing's speedup over inner and outer product on R-MAT
``--spgemm-scale``.  (Die-link parameters only matter with several dies and are left out; the
clock only converts cycles to seconds.)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from archsim.config import load_config, with_overrides
from archsim.piuma.run import run_piuma

ASSUMPTIONS = [
    "dram.bytes_per_cycle_per_controller",
    "dram.latency_cycles",
    "dram.atomic_occupancy",
    "dram.interleave_words",
    "network.link_bytes_per_cycle",
    "network.hop_latency_cycles",
    "network.header_bytes",
    "issue_per_cycle_per_pipeline",
    "sp_banks",
    "sp_latency_cycles",
    "sp_atomic_cycles",
    "cache.bytes_per_pipeline",
    "cache.line_bytes",
    "dma.requests_per_cycle",
    "dma.max_outstanding",
]


def _get(cfg, path):
    obj = cfg
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def measure(cfg, spmv_scale, spgemm_scale):
    c = {df: run_piuma(cfg, {"kernel": "spmv", "dataflow": df, "rmat_scale": spmv_scale}, seed=1)[0] for df in ("base", "cached", "dma", "cache-all")}
    g = {df: run_piuma(cfg, {"kernel": "spgemm", "dataflow": df, "rmat_scale": spgemm_scale}, seed=1, keep_output=False)[0].total_cycles for df in ("rowwise-hash", "inner", "outer")}
    b = c["base"].total_cycles
    return {
        "cached/base": b / c["cached"].total_cycles,
        "dma/base": b / c["dma"].total_cycles,
        "cache-all/base": b / c["cache-all"].total_cycles,
        "dma_bw": c["dma"].metrics["bandwidth_fraction_of_peak"],
        "rowwise_vs_inner": g["inner"] / g["rowwise-hash"],
        "rowwise_vs_outer": g["outer"] / g["rowwise-hash"],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spmv-scale", type=int, default=11)
    ap.add_argument("--spgemm-scale", type=int, default=9)
    ap.add_argument("--only", help="comma-separated subset of the assumptions")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    cfg = load_config("piuma", expect="piuma")
    names = args.only.split(",") if args.only else ASSUMPTIONS
    rows = []
    print(f"SpMV on R-MAT s{args.spmv_scale}, SpGEMM on R-MAT s{args.spgemm_scale}; paper: cached/base 2.0x, dma/base 2.9x, cache-all/base < 1, DMA > 95% of peak, SMASH 9.4x")
    print("| assumption | value | cached/base | dma/base | cache-all/base | DMA % peak BW | rowwise vs inner | rowwise vs outer | wall s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")

    def emit(name, val, c2, t0):
        m = measure(c2, args.spmv_scale, args.spgemm_scale)
        rows.append({"assumption": name, "value": val, **m})
        print(f"| {name} | {val:g} | {m['cached/base']:.2f} | {m['dma/base']:.2f} | {m['cache-all/base']:.2f} | {100 * m['dma_bw']:.1f} | "
              f"{m['rowwise_vs_inner']:.2f} | {m['rowwise_vs_outer']:.2f} | {time.time() - t0:.0f} |", flush=True)

    emit("(preset)", 0, cfg, time.time())
    for name in names:
        v = _get(cfg, name)
        for f in (0.5, 2.0):
            nv = type(v)(v * f) if isinstance(v, int) else v * f
            t0 = time.time()
            try:
                c2 = with_overrides(cfg, {name: nv})
            except Exception as e:  # noqa: BLE001 - a value the config rejects is reported, not fatal
                print(f"| {name} | {nv:g} | rejected: {str(e).splitlines()[0][:60]} | | | | | | |", flush=True)
                continue
            emit(name, nv, c2, t0)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
