"""The training report, and the demo as a sweep plus that report.

`run_demo` is ``archsim demo``: the bundled spec ``archsim/configs/sweeps/demo_training.yaml``
(dense vs N:M BDWP training of four models at batch 32 on the ``sat`` preset), narrowed or
widened by the command's options, is run by the sweep runner (`archsim.sweep.runner.run_sweep`:
process pool, progress bar on a terminal, every point committed to the store as it finishes, a
re-run resumes) into ``<out>/demo.db``; then `write_training_report` reads the store and writes
``summary.csv`` / ``summary.md`` (cycles per pass, speed-up over dense next to its bounds,
energy) and the figures of `archsim.plots.training`.  No second runner: the numbers are the
sweep's.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from workloads.errors import InputError
from workloads.sparsity import parse_nm

__all__ = ["DEMO_SPEC", "compute_bound", "training_summary", "write_training_report", "run_demo"]

#: The bundled training sweep that ``archsim demo`` runs.
DEMO_SPEC = "demo_training"


def compute_bound(nm_text: str, array_speedup: float | None = None) -> float:
    """Training speed-up if FF and BP ran ``s`` times faster and WU stayed dense: ``3/(1+2/s)``,
    with ``s = M/N`` (the compute bound ``3/(1+2N/M)``) unless the array's own limit is given."""
    nm = parse_nm(nm_text)
    s = array_speedup if array_speedup is not None else (1 / nm.density)
    return 3 / (1 + 2 / s)


def _array_speedup(config: dict, nm_text: str) -> float:
    """In-array speed-up of N:M over dense on this array (``g·M / P``, see `dataflow.sat`)."""
    from dataflow.sat import ArrayShape, pe_elements_per_step

    a = config["array"]
    shape = ArrayShape(rows=a["rows"], cols=a["cols"], multipliers_per_pe=a["multipliers_per_pe"],
                       window=a["window"])
    nm = parse_nm(nm_text)
    return pe_elements_per_step(shape, nm) / pe_elements_per_step(shape, parse_nm("dense"))


def training_summary(rows: Sequence[dict]) -> tuple[list[dict], dict[tuple[str, str], dict]]:
    """One summary row per (model, N:M) from a training sweep's store rows, in the store's
    order, and the energy components per (model, N:M).  Every model needs its dense run."""
    by_key: dict[tuple[str, str], dict] = {}
    for r in rows:
        wl = json.loads(r["workload_json"])
        if "model" not in wl:
            continue
        key = (wl["model"], str(parse_nm(wl.get("sparsity", "dense"))))
        by_key[key] = {**r, "_wl": wl, "_cfg": json.loads(r["config_json"])}
    models = list(dict.fromkeys(k[0] for k in by_key))
    out, energy = [], {}
    for m in models:
        dense = by_key.get((m, "dense"))
        if dense is None:
            raise InputError(f"report: {m} has no dense run in the store (the speed-up needs it)")
        for (mm, sp), r in by_key.items():
            if mm != m:
                continue
            cfg = r["_cfg"]
            s_arr = _array_speedup(cfg, sp)
            out.append({
                "model": m, "sparsity": sp, "batch": r["_wl"].get("batch", 1),
                "cycles": r["total_cycles"], "ms": r["seconds"] * 1e3,
                "FF": r.get("phase_cycles.FF", 0), "BP": r.get("phase_cycles.BP", 0),
                "WU": r.get("phase_cycles.WU", 0), "drain": r.get("phase_cycles.drain", 0),
                "speedup": dense["total_cycles"] / r["total_cycles"],
                "bound": compute_bound(sp), "array_bound": compute_bound(sp, s_arr),
                "nm_speedup": 1 / parse_nm(sp).density, "array_speedup": s_arr,
                "window": cfg["array"]["window"],
                "energy_mj": r["total_energy_pj"] / 1e9,
                "energy_saving": dense["total_energy_pj"] / r["total_energy_pj"],
                "mult_util": r["metrics.multiplier_utilization"],
                "dram_bw_frac": r["metrics.dram_bandwidth_fraction"],
            })
            energy[(m, sp)] = {k.split(".", 1)[1]: v for k, v in r.items() if k.startswith("energy_pj.")}
    return out, energy


def _config_title(rows: Sequence[dict], batch: Any) -> str:
    cfg = json.loads(rows[0]["config_json"])
    a = cfg["array"]
    return (f"{cfg.get('name', 'sat')}: {a['rows']}×{a['cols']} PEs × {a['multipliers_per_pe']} "
            f"multipliers, {a['window']}-wide window, {cfg['clock_hz'] / 1e6:g} MHz; "
            f"one training iteration at batch {batch}")


def _markdown(rows: list[dict], sps: list[str]) -> str:
    head = ("| model | N:M | cycles | ms | FF | BP | WU | speed-up | bound 3/(1+2N/M) | "
            "array bound | energy mJ | energy saving | mult. util |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    body = "".join(
        f"| {r['model']} | {r['sparsity']} | {r['cycles']:,} | {r['ms']:.2f} | {r['FF']:,} | "
        f"{r['BP']:,} | {r['WU']:,} | {r['speedup']:.3f}x | {r['bound']:.2f}x | "
        f"{r['array_bound']:.2f}x | {r['energy_mj']:.2f} | {r['energy_saving']:.3f}x | "
        f"{r['mult_util']:.1%} |\n"
        for r in rows)
    avg = ""
    for s in sps:
        if s == "dense":
            continue
        sp = [r["speedup"] for r in rows if r["sparsity"] == s]
        ab = next(r["array_bound"] for r in rows if r["sparsity"] == s)
        avg += (f"| average over {len(sp)} models | {s} | | | | | | "
                f"{sum(sp) / len(sp):.3f}x | {compute_bound(s):.2f}x | {ab:.2f}x | | | |\n")
    return head + body + avg


def write_training_report(store_rows: Sequence[dict], out: Path, *,
                          models: Sequence[str] | None = None,
                          sparsities: Sequence[str] | None = None) -> list[Path]:
    """``summary.csv``, ``summary.md``, ``speedup.png``, ``energy_breakdown.png`` and
    ``time_breakdown.png`` in ``out`` from a training sweep's store rows (restricted to
    ``models`` × ``sparsities`` when given).  Prints the markdown table."""
    from archsim.plots import training as plots

    summary, energy = training_summary(store_rows)
    if models is not None:
        summary = [r for r in summary if r["model"] in models]
    if sparsities is not None:
        summary = [r for r in summary if r["sparsity"] in sparsities]
    if not summary:
        raise InputError(f"{out}: no training results to report")
    ms = [m for m in (models or []) if any(r["model"] == m for r in summary)] or \
        list(dict.fromkeys(r["model"] for r in summary))
    have = list(dict.fromkeys(r["sparsity"] for r in summary))
    sps = [s for s in (sparsities or []) if s in have] or \
        sorted(have, key=lambda s: (s != "dense", parse_nm(s).density))
    summary.sort(key=lambda r: (ms.index(r["model"]), sps.index(r["sparsity"])))
    fields = ["model", "sparsity", "cycles", "ms", "FF", "BP", "WU", "drain", "speedup", "bound",
              "array_bound", "energy_mj", "energy_saving", "mult_util", "dram_bw_frac"]
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "summary.csv", "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        wr.writeheader()
        wr.writerows(summary)
    md = _markdown(summary, sps)
    (out / "summary.md").write_text(md)
    print(md)
    batches = sorted({r["batch"] for r in summary})
    title = _config_title(store_rows, ", ".join(map(str, batches)))
    paths = [out / "summary.csv", out / "summary.md",
             plots.speedup_bars(summary, ms, sps, out / "speedup.png", title=title),
             plots.energy_breakdown(energy, ms, sps, out / "energy_breakdown.png", title=title),
             plots.time_breakdown(summary, ms, sps, out / "time_breakdown.png", title=title)]
    return paths


def demo_spec(*, models: Sequence[str], sparsities: Sequence[str], batch: int, config: str) -> dict:
    """The bundled demo spec with the command's models, N:M ratios, batch and base config."""
    from archsim.config import read_yaml
    from archsim.sweep.spec import spec_path

    spec = read_yaml(spec_path(DEMO_SPEC), what="sweep spec")
    sps = [str(parse_nm(s)) for s in sparsities]
    if "dense" not in sps:
        sps.insert(0, "dense")
    spec["base"] = config
    spec["axes"] = {**spec.get("axes", {}), "workload.sparsity": sps}
    spec["workloads"] = [{"model": m, "batch": batch} for m in models]
    return spec


def run_demo(*, out: Path, models: Sequence[str], sparsities: Sequence[str], batch: int = 32,
             config: str = "sat", workers: int | None = None, progress: bool | None = None) -> int:
    """``archsim demo``: run the training sweep into ``<out>/demo.db`` (resuming what is there),
    then write the report into ``out``."""
    from archsim.config import load_config, preset_path
    from archsim.sweep.runner import run_sweep
    from archsim.sweep.spec import parse_spec
    from archsim.sweep.store import load_rows
    from workloads.dnn import get_model

    if batch < 1:
        raise InputError(f"--batch: must be >= 1, got {batch}")
    load_config(config, expect="sat")  # fail fast on a bad config
    for m in models:
        get_model(m)
    spec = demo_spec(models=models, sparsities=sparsities, batch=batch,
                     config=str(preset_path(config).resolve()))
    loaded = parse_spec(spec, where=f"{DEMO_SPEC} (archsim demo)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create output folder ({exc.strerror})") from None
    store = out / "demo.db"
    n = len(models) * len(spec["axes"]["workload.sparsity"])
    print(f"simulating {n} training iterations ({len(models)} models x "
          f"{len(spec['axes']['workload.sparsity'])} sparsities, batch {batch}) as the sweep "
          f"{DEMO_SPEC} into {store} ...", flush=True)
    summary = run_sweep(loaded, store, workers=workers, resume=True,
                        progress=sys.stderr.isatty() if progress is None else progress)
    print(summary.line(), flush=True)
    if summary.failed:
        raise InputError(f"{store}: {summary.failed} point(s) failed; see `archsim results show "
                         f"{store}`")
    sps = [str(parse_nm(s)) for s in spec["axes"]["workload.sparsity"]]
    paths = write_training_report(_select(load_rows(store), loaded), out, models=models,
                                  sparsities=sps)
    print(f"wrote {out}/: demo.db " + " ".join(p.name for p in paths))
    return 0


def _select(rows: list[dict], loaded) -> list[dict]:
    """The store rows of this spec's points (a resumed store may hold others)."""
    from archsim.sweep.spec import expand

    keys = {p.key for p in expand(loaded)}
    return [r for r in rows if r["point_key"] in keys]
