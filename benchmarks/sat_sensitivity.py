"""Sensitivity of the SAT 2:8 training speed-up to the design point (issue #14, item 5).

For the four headline models (ResNet-18, ResNet-50, VGG-16, ViT-B/16), the 2:8 speed-up over
dense (dense cycles / 2:8 cycles of one training iteration) when one thing changes at a time
from the `sat` preset: the array size (square), the batch, the DRAM channels, and the lowering
choices (BP form, first-layer BP).  Each (variant, model, sparsity) run is stored in
``<out>/runs.json`` as it finishes, so an interrupted run resumes; the table goes to
``<out>/sensitivity.md`` and the plot to ``<out>/sensitivity.png``.

    PYTHONPATH=. python benchmarks/sat_sensitivity.py --out out/sensitivity [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

MODELS = ("resnet18", "resnet50", "vgg16", "vit_b_16")
BASE_BATCH = 32

#: (group, label, config overrides, batch)
VARIANTS = [
    ("preset", "preset (32x32, b32, 4 ch, col2im)", {}, BASE_BATCH),
    ("array", "8x8", {"array.rows": 8, "array.cols": 8}, BASE_BATCH),
    ("array", "16x16", {"array.rows": 16, "array.cols": 16}, BASE_BATCH),
    ("array", "64x64", {"array.rows": 64, "array.cols": 64}, BASE_BATCH),
    ("array", "128x128", {"array.rows": 128, "array.cols": 128}, BASE_BATCH),
    ("batch", "batch 8", {}, 8),
    ("batch", "batch 64", {}, 64),
    ("dram", "1 channel", {"dram.channels": 1}, BASE_BATCH),
    ("dram", "2 channels", {"dram.channels": 2}, BASE_BATCH),
    ("dram", "8 channels", {"dram.channels": 8}, BASE_BATCH),
    ("lowering", "BP implicit GEMM", {"lowering.bp_form": "implicit_gemm"}, BASE_BATCH),
    ("lowering", "first-layer BP computed", {"lowering.first_layer_bp": "compute"}, BASE_BATCH),
]


#: Where the preset (32x32, batch 32, 4 channels, col2im) sits among each group's variants.
PRESET_AT = {"array": 2, "batch": 1, "dram": 2, "lowering": 0}


def _run(job: tuple) -> dict:
    label, over, batch, model, sparsity = job
    from archsim.config import load_config, with_overrides
    from archsim.sat.run import simulate_sat

    t0 = time.perf_counter()
    cfg = with_overrides(load_config("sat"), over)
    r = simulate_sat(cfg, {"model": model, "batch": batch, "sparsity": sparsity})
    return {"variant": label, "model": model, "sparsity": sparsity, "batch": batch,
            "total_cycles": r.total_cycles, "energy_pj": r.total_energy_pj,
            "warnings": r.warnings, "wall_s": round(time.perf_counter() - t0, 2)}


def _key(label: str, model: str, sparsity: str) -> str:
    return f"{label}|{model}|{sparsity}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/sensitivity")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    store = out / "runs.json"
    runs = json.loads(store.read_text()) if store.exists() else {}
    models = args.models.split(",")
    jobs = [(label, over, batch, m, sp) for _, label, over, batch in VARIANTS for m in models
            for sp in ("dense", "2:8") if _key(label, m, sp) not in runs]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as ex:
        futs = [ex.submit(_run, j) for j in jobs]
        for f in as_completed(futs):
            r = f.result()
            runs[_key(r["variant"], r["model"], r["sparsity"])] = r
            store.write_text(json.dumps(runs, indent=1, sort_keys=True))
    wall = time.perf_counter() - t0
    rows, table = _table(runs, models)
    (out / "sensitivity.md").write_text(table)
    _plot(rows, models, out / "sensitivity.png")
    print(table)
    print(f"sat_sensitivity: {len(jobs)} runs in {wall:.0f} s -> {out}/sensitivity.md, "
          f"{out}/sensitivity.png")
    return 0


def _table(runs: dict, models: list[str]) -> tuple[list, str]:
    head = "| group | variant | " + " | ".join(models) + " | geomean |"
    lines = [head, "|---|---|" + "---:|" * (len(models) + 1)]
    rows = []
    for group, label, _, _ in VARIANTS:
        sp = []
        for m in models:
            d, s = runs.get(_key(label, m, "dense")), runs.get(_key(label, m, "2:8"))
            sp.append(d["total_cycles"] / s["total_cycles"] if d and s else None)
        ok = [x for x in sp if x]
        gm = math.prod(ok) ** (1 / len(ok)) if ok else None
        rows.append((group, label, sp, gm))
        cells = [f"{x:.3f}x" if x else "–" for x in sp] + [f"**{gm:.3f}x**" if gm else "–"]
        lines.append(f"| {group} | {label} | " + " | ".join(cells) + " |")
    return rows, "\n".join(lines) + "\n"


def _plot(rows, models, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [g for g in dict.fromkeys(r[0] for r in rows) if g != "preset"]
    preset = next(r for r in rows if r[0] == "preset")
    fig, axes = plt.subplots(1, len(groups), figsize=(3.0 * len(groups), 2.8), sharey=True)
    for ax, g in zip(axes, groups):
        sel = [r for r in rows if r[0] == g]
        sel.insert(PRESET_AT.get(g, 0), preset)  # the preset in its place on the axis
        labels = ["preset" if r is preset else r[1] for r in sel]
        for i, m in enumerate(models):
            ax.plot(range(len(sel)), [r[2][i] or float("nan") for r in sel], marker="o", lw=1,
                    label=m)
        ax.set_xticks(range(len(sel)), labels, rotation=35, ha="right", fontsize=7)
        ax.set_title(g, fontsize=9)
        ax.axhline(2.0, color="0.6", lw=0.6, ls=":")
        ax.grid(axis="y", lw=0.3)
    axes[0].set_ylabel("2:8 speed-up over dense")
    axes[-1].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=150)


if __name__ == "__main__":
    raise SystemExit(main())
