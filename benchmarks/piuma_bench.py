"""PIUMA benchmarks: SMASH comparison, SpMV ladder, scaling.  Usage:
    python benchmarks/piuma_bench.py smash|spmv|scaling|traffic|links OUT_PREFIX [--no-permute]
Prints one table per section (markdown) and writes a plot to OUT_PREFIX_<section>.png.
R-MAT inputs: Graph500 parameters, seed 1, vertex labels randomly permuted as Graph500 does
(``--no-permute``: raw Kronecker labels, hubs at the lowest ids)."""

import sys
import time

from archsim.config import load_config, with_overrides
from archsim.plots import plot_scaling
from archsim.plots.piuma import plot_compare
from archsim.piuma.run import run_piuma

cfg = load_config("piuma", expect="piuma")
section, out = sys.argv[1], sys.argv[2]
permute = "--no-permute" not in sys.argv[3:]
print(f"R-MAT labels: {'permuted (Graph500)' if permute else 'raw Kronecker (not permuted)'}")
t0 = time.time()
if section == "smash":
    flows = ["rowwise-hash", "inner", "outer"]
    inputs = [dict(rmat_scale=s, rmat_permute=permute) for s in (10, 11, 12, 13, 14)] + [dict(matrix=m) for m in ("minnesota", "power", "ca-GrQc", "email-Eu-core", "polblogs", "PGPgiantcompo", "zenios")]
    rows = []
    print("| input | flops | rowwise cycles | inner cycles | outer cycles | rowwise vs inner | rowwise vs outer | rowwise BW % | inner BW % | outer BW % | sim wall s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for inp in inputs:
        name = inp.get("matrix") or f"rmat-s{inp['rmat_scale']}"
        row = {"input": name}
        t1 = time.time()
        for df in flows:
            r, _ = run_piuma(cfg, dict(kernel="spgemm", dataflow=df, **inp), seed=1, keep_output=False)
            row[df] = r.total_cycles
            row[df + ":bw"] = 100 * r.metrics["bandwidth_fraction_of_peak"]
            row["flops"] = r.metrics["flops"]
        rows.append(row)
        print(f"| {name} | {row['flops']:.3g} | {row['rowwise-hash']} | {row['inner']} | {row['outer']} | {row['inner']/row['rowwise-hash']:.2f}x | {row['outer']/row['rowwise-hash']:.2f}x | {row['rowwise-hash:bw']:.1f} | {row['inner:bw']:.1f} | {row['outer:bw']:.1f} | {time.time() - t1:.0f} |", flush=True)
    plot_compare(rows, flows, out + "_smash.png", baseline="rowwise-hash",
                 title="SpGEMM: row-wise hash vs the others (piuma preset)")
elif section == "spmv":
    print("| R-MAT scale | base cycles | cached | dma | cache-all | cached/base | dma/base | cache-all/base | DMA BW % of peak | base BW % | DMA ctrl busy avg / max % | DMA hottest link busy % |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in (12, 14):
        c = {}
        for df in ("base", "cached", "dma", "cache-all"):
            r, _ = run_piuma(cfg, dict(kernel="spmv", dataflow=df, rmat_scale=s, rmat_permute=permute), seed=1, keep_output=False)
            c[df] = r
        b = c["base"].total_cycles
        print(f"| {s} | {b} | {c['cached'].total_cycles} | {c['dma'].total_cycles} | {c['cache-all'].total_cycles} | {b/c['cached'].total_cycles:.2f}x | {b/c['dma'].total_cycles:.2f}x | {b/c['cache-all'].total_cycles:.2f}x | {100*c['dma'].metrics['bandwidth_fraction_of_peak']:.1f} | {100*c['base'].metrics['bandwidth_fraction_of_peak']:.1f} | {100*c['dma'].unit_busy_cycles['dram_controller_avg']/c['dma'].total_cycles:.0f} / {100*c['dma'].unit_busy_cycles['dram_controller_max']/c['dma'].total_cycles:.0f} | {100*c['dma'].unit_busy_cycles['mesh_link_max']/c['dma'].total_cycles:.0f} |", flush=True)
elif section == "scaling":
    for kernel, df, scale in (("spgemm", "rowwise-hash", 12), ("spmv", "dma", 14)):
        pts = []
        print(f"\n{kernel}/{df} R-MAT scale {scale}\n\n| dies x cores | cycles | speedup vs 1 core | BW % of peak |\n|---|---:|---:|---:|")
        for dies, cores in ((1, 1), (1, 2), (1, 4), (1, 8), (2, 8)):
            c2 = with_overrides(cfg, {"dies": dies, "cores_per_die": cores})
            r, _ = run_piuma(c2, dict(kernel=kernel, dataflow=df, rmat_scale=scale, rmat_permute=permute), seed=1, keep_output=False)
            pts.append({"dies": dies, "cores": dies * cores, "cycles": r.total_cycles})
            print(f"| {dies}x{cores} | {r.total_cycles} | {pts[0]['cycles']/r.total_cycles:.2f}x | {100*r.metrics['bandwidth_fraction_of_peak']:.1f} |", flush=True)
        plot_scaling(pts, "cores", "cycles", f"{out}_scaling_{kernel}.png", speedup=True, ideal=True,
                     title=f"{kernel}/{df} on R-MAT scale {scale} (piuma preset)")
elif section == "traffic":
    print("| input | dataflow | DRAM bytes / product | extra words x 8 / product | network byte-hops / product |")
    print("|---|---|---:|---:|---:|")
    for inp in (dict(rmat_scale=12, rmat_permute=permute), dict(matrix="polblogs"), dict(matrix="zenios")):
        for df in ("rowwise-hash", "inner", "outer"):
            r, _ = run_piuma(cfg, dict(kernel="spgemm", dataflow=df, **inp), seed=1, keep_output=False)
            m, f = r.metrics, r.metrics["flops"]
            extra = 8 * m.get("schedule_redundant_b_words", m.get("schedule_partial_words", 0.0))
            dram = r.bytes_moved["dram_read"] + r.bytes_moved["dram_write"]
            name = inp.get("matrix") or f"rmat-s{inp['rmat_scale']}"
            print(f"| {name} | {df} | {dram / f:.1f} | {extra / f:.1f} | {m['network_bytes'] / f:.0f} |", flush=True)
elif section == "links":
    # sensitivity (not a retuning of the preset): mesh link bandwidth and address mapping
    print("| kernel | R-MAT scale | link B/cycle | mapping | cycles | BW % of peak | ctrl busy avg / max % | hottest link busy % |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for kernel, df, scale in (("spmv", "dma", 14), ("spgemm", "rowwise-hash", 12)):
        for link, mapping in ((32, "interleaved"), (64, "interleaved"), (128, "interleaved"), (32, "block")):
            c2 = with_overrides(cfg, {"network.link_bytes_per_cycle": link, "dram.mapping": mapping})
            r, _ = run_piuma(c2, dict(kernel=kernel, dataflow=df, rmat_scale=scale, rmat_permute=permute), seed=1, keep_output=False)
            u, T = r.unit_busy_cycles, r.total_cycles
            print(f"| {kernel}/{df} | {scale} | {link} | {mapping} | {T} | {100*r.metrics['bandwidth_fraction_of_peak']:.1f} | "
                  f"{100*u['dram_controller_avg']/T:.0f} / {100*u['dram_controller_max']/T:.0f} | {100*u['mesh_link_max']/T:.0f} |", flush=True)
print(f"\n{section}: done in {time.time() - t0:.0f} s")
