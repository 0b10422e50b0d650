"""The main job: dense vs N:M (BDWP) training on several models — a table and plots.

For every (model, sparsity) it simulates one training iteration on the given config, then
writes to ``out``: ``results.json`` (every `RunResult`), ``summary.csv`` / ``summary.md``
(cycles per pass, speed-up over dense next to the compute bound, energy), and the plots
``speedup.png`` (speed-up per model and N:M ratio), ``energy_breakdown.png`` (energy per
component) and ``time_breakdown.png`` (cycles per training pass).
"""

from __future__ import annotations

import csv
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Sequence

from workloads.errors import InputError
from workloads.sparsity import parse_nm

__all__ = ["run_demo", "compute_bound"]


def compute_bound(nm_text: str) -> float:
    """Training speed-up if FF and BP ran M/N times faster and WU stayed dense: 3/(1+2N/M)."""
    nm = parse_nm(nm_text)
    return 3 / (1 + 2 * nm.density)


def _one(job):
    cfg_name, model, batch, sp = job
    from archsim.config import load_config
    from archsim.sat.run import simulate_sat

    return simulate_sat(load_config(cfg_name, expect="sat"),
                        {"model": model, "batch": batch, "sparsity": sp}).to_dict()


def run_demo(*, out: Path, models: Sequence[str], sparsities: Sequence[str], batch: int = 32,
             config: str = "sat", workers: int = 0) -> int:
    from archsim.config import load_config
    from archsim.results import RunResult
    from workloads.dnn import load_model

    load_config(config, expect="sat")  # fail fast on a bad config
    for m in models:
        load_model(m, batch=batch)
    sps = [str(parse_nm(s)) for s in sparsities]
    if "dense" not in sps:
        sps.insert(0, "dense")
    if batch < 1:
        raise InputError(f"--batch: must be >= 1, got {batch}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create output folder ({exc.strerror})") from None
    jobs = [(config, m, batch, s) for m in models for s in sps]
    n = workers or os.cpu_count() or 1
    print(f"simulating {len(jobs)} training iterations ({len(models)} models x {len(sps)} "
          f"sparsities, batch {batch}) on {n} process(es) ...", flush=True)
    if n == 1:
        dicts = [_one(j) for j in jobs]
    else:
        with ProcessPoolExecutor(max_workers=n) as pool:
            dicts = list(pool.map(_one, jobs))
    results = {(j[1], j[3]): RunResult.from_dict(d) for j, d in zip(jobs, dicts)}
    rows = []
    for m in models:
        dense = results[(m, "dense")]
        for s in sps:
            r = results[(m, s)]
            rows.append({
                "model": m, "sparsity": s, "cycles": r.total_cycles,
                "ms": r.seconds * 1e3,
                "FF": r.phase_cycles.get("FF", 0), "BP": r.phase_cycles.get("BP", 0),
                "WU": r.phase_cycles.get("WU", 0), "drain": r.phase_cycles.get("drain", 0),
                "speedup": dense.total_cycles / r.total_cycles,
                "bound": compute_bound(s),
                "energy_mj": r.total_energy_pj / 1e9,
                "energy_saving": dense.total_energy_pj / r.total_energy_pj,
                "mult_util": r.metrics["multiplier_utilization"],
                "dram_bw_frac": r.metrics["dram_bandwidth_fraction"],
            })
    (out / "results.json").write_text(json.dumps(
        [{"model": k[0], "sparsity": k[1], **v.to_dict()} for k, v in results.items()],
        indent=1, sort_keys=True))
    with open(out / "summary.csv", "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    md = _markdown(rows, models, sps)
    (out / "summary.md").write_text(md)
    print(md)
    from archsim.sat import plots

    plots.speedup_bars(rows, models, [s for s in sps if s != "dense"], out / "speedup.png")
    plots.energy_breakdown(results, models, sps, out / "energy_breakdown.png")
    plots.time_breakdown(rows, models, sps, out / "time_breakdown.png")
    print(f"wrote {out}/: results.json summary.csv summary.md speedup.png "
          f"energy_breakdown.png time_breakdown.png")
    return 0


def _markdown(rows, models, sps) -> str:
    head = ("| model | N:M | cycles | ms | FF | BP | WU | speed-up | bound 3/(1+2N/M) | "
            "energy mJ | energy saving | mult. util |\n|---|---|---:|---:|---:|---:|---:|---:|"
            "---:|---:|---:|---:|\n")
    body = "".join(
        f"| {r['model']} | {r['sparsity']} | {r['cycles']:,} | {r['ms']:.2f} | {r['FF']:,} | "
        f"{r['BP']:,} | {r['WU']:,} | {r['speedup']:.3f}x | {r['bound']:.2f}x | "
        f"{r['energy_mj']:.2f} | {r['energy_saving']:.3f}x | {r['mult_util']:.1%} |\n"
        for r in rows)
    avg = ""
    for s in sps:
        if s == "dense":
            continue
        sp = [r["speedup"] for r in rows if r["sparsity"] == s]
        avg += (f"| average over {len(sp)} models | {s} | | | | | | "
                f"{sum(sp) / len(sp):.3f}x | {compute_bound(s):.2f}x | | | |\n")
    return head + body + avg
