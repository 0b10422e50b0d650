"""PIUMA benchmarks: SMASH comparison, SpMV ladder, scaling.  Usage:
    python benchmarks/piuma_bench.py smash|spmv|scaling OUT_PREFIX
Prints one table per section (markdown) and writes a plot to OUT_PREFIX_<section>.png."""

import sys
import time

from archsim.config import load_config, with_overrides
from archsim.piuma.plots import plot_compare, plot_scaling
from archsim.piuma.run import run_piuma

cfg = load_config("piuma", expect="piuma")
section, out = sys.argv[1], sys.argv[2]
t0 = time.time()
if section == "smash":
    flows = ["rowwise-hash", "inner", "outer"]
    inputs = [dict(rmat_scale=s) for s in (10, 11, 12, 13, 14)] + [dict(matrix=m) for m in ("power", "ca-GrQc", "email-Eu-core", "polblogs", "PGPgiantcompo", "zenios")]
    rows = []
    print("| input | flops | rowwise cycles | inner cycles | outer cycles | rowwise/inner speedup | rowwise/outer speedup | rowwise BW % | inner BW % | outer BW % |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for inp in inputs:
        name = inp.get("matrix") or f"rmat-s{inp['rmat_scale']}"
        row = {"input": name}
        for df in flows:
            r, _ = run_piuma(cfg, dict(kernel="spgemm", dataflow=df, **inp), seed=1)
            row[df] = r.total_cycles
            row[df + ":bw"] = 100 * r.metrics["bandwidth_fraction_of_peak"]
            row["flops"] = r.metrics["flops"]
        rows.append(row)
        print(f"| {name} | {row['flops']:.3g} | {row['rowwise-hash']} | {row['inner']} | {row['outer']} | {row['inner']/row['rowwise-hash']:.2f}x | {row['outer']/row['rowwise-hash']:.2f}x | {row['rowwise-hash:bw']:.1f} | {row['inner:bw']:.1f} | {row['outer:bw']:.1f} |", flush=True)
    plot_compare(rows, flows, out + "_smash.png", baseline="rowwise-hash")
elif section == "spmv":
    print("| R-MAT scale | base cycles | cached | dma | cache-all | cached/base | dma/base | cache-all/base | DMA BW % of peak | base BW % |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in (12, 14):
        c = {}
        for df in ("base", "cached", "dma", "cache-all"):
            r, _ = run_piuma(cfg, dict(kernel="spmv", dataflow=df, rmat_scale=s), seed=1)
            c[df] = r
        b = c["base"].total_cycles
        print(f"| {s} | {b} | {c['cached'].total_cycles} | {c['dma'].total_cycles} | {c['cache-all'].total_cycles} | {b/c['cached'].total_cycles:.2f}x | {b/c['dma'].total_cycles:.2f}x | {b/c['cache-all'].total_cycles:.2f}x | {100*c['dma'].metrics['bandwidth_fraction_of_peak']:.1f} | {100*c['base'].metrics['bandwidth_fraction_of_peak']:.1f} |", flush=True)
elif section == "scaling":
    for kernel, df, scale in (("spgemm", "rowwise-hash", 12), ("spmv", "dma", 14)):
        pts = []
        print(f"\n{kernel}/{df} R-MAT scale {scale}\n\n| dies x cores | cycles | speedup vs 1 core | BW % of peak |\n|---|---:|---:|---:|")
        for dies, cores in ((1, 1), (1, 2), (1, 4), (1, 8), (2, 8)):
            c2 = with_overrides(cfg, {"dies": dies, "cores_per_die": cores})
            r, _ = run_piuma(c2, dict(kernel=kernel, dataflow=df, rmat_scale=scale), seed=1)
            pts.append({"dies": dies, "cores": dies * cores, "cycles": r.total_cycles})
            print(f"| {dies}x{cores} | {r.total_cycles} | {pts[0]['cycles']/r.total_cycles:.2f}x | {100*r.metrics['bandwidth_fraction_of_peak']:.1f} |", flush=True)
        plot_scaling(pts, f"{out}_scaling_{kernel}.png", title=f"{kernel}/{df} rmat-s{scale}")
print(f"\n{section}: done in {time.time() - t0:.0f} s")
