"""Paper-ready plots of SAT results (matplotlib, Agg; read `RunResult`s, never the simulator).

Figures are sized for one column (3.5 in) or two (7 in), 8-pt fonts, labelled axes with units.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["speedup_bars", "energy_breakdown", "time_breakdown"]


def _group_positions(models, sparsities):
    xs, pos = [], 0.0
    for _m in models:
        for _s in sparsities:
            xs.append(pos)
            pos += 1
        pos += 0.6
    return np.array(xs)


def _group_labels(ax, xs, models, sparsities) -> None:
    """Sparsity under each bar, the model name centred under its group."""
    ax.set_xticks(xs, [s for _m in models for s in sparsities], fontsize=6, rotation=90)
    k = len(sparsities)
    for i, m in enumerate(models):
        centre = xs[i * k: (i + 1) * k].mean()
        ax.annotate(m, (centre, 0), xycoords=("data", "axes fraction"), xytext=(0, -30),
                    textcoords="offset points", ha="center", va="top", fontsize=7)

_RC = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
       "xtick.labelsize": 7, "ytick.labelsize": 7, "savefig.dpi": 200}


def speedup_bars(rows: list[dict], models: list[str], sparsities: list[str], path: Path) -> None:
    """Grouped bars: training speed-up over dense per model and N:M, with the compute bound."""
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(7.0, 2.6))
        width = 0.8 / max(len(sparsities), 1)
        x = np.arange(len(models))
        for i, s in enumerate(sparsities):
            vals = [next(r["speedup"] for r in rows if r["model"] == m and r["sparsity"] == s)
                    for m in models]
            bars = ax.bar(x + (i - (len(sparsities) - 1) / 2) * width, vals, width, label=s)
            bound = next(r["bound"] for r in rows if r["sparsity"] == s)
            ax.hlines(bound, x[0] - 0.45, x[-1] + 0.45, colors=bars[0].get_facecolor(),
                      linestyles=":", linewidth=0.8)
            for b, v in zip(bars, vals):
                ax.text(b.get_x() + b.get_width() / 2, v, f"{v:.2f}", ha="center", va="bottom",
                        fontsize=5.5)
        ax.axhline(1.0, color="k", linewidth=0.6)
        ax.set_xticks(x, models)
        ax.set_ylabel("training speed-up over dense (×)")
        ax.set_ylim(0, 2.75)
        ax.legend(ncols=len(sparsities) + 1, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                  frameon=False, title="N:M BDWP (dotted: compute bound 3/(1+2N/M))",
                  title_fontsize=7)
        ax.grid(axis="y", linewidth=0.3)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)


def energy_breakdown(results: dict, models: list[str], sparsities: list[str], path: Path) -> None:
    """Stacked bars: energy per component (mJ) per model and N:M."""
    comps = sorted({c for r in results.values() for c in r.energy_pj})
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(7.0, 3.0))
        xs = _group_positions(models, sparsities)
        bottom = np.zeros(len(xs))
        for c in comps:
            vals = np.array([results[(m, s)].energy_pj.get(c, 0.0) / 1e9
                             for m in models for s in sparsities])
            ax.bar(xs, vals, 0.8, bottom=bottom, label=c)
            bottom += vals
        _group_labels(ax, xs, models, sparsities)
        ax.set_ylabel("energy per training iteration (mJ)")
        ax.legend(ncols=len(comps), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
        ax.grid(axis="y", linewidth=0.3)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)


def time_breakdown(rows: list[dict], models: list[str], sparsities: list[str], path: Path) -> None:
    """Stacked bars: cycles per training pass (FF, BP, WU, drain), normalised to dense."""
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(7.0, 2.6))
        xs = _group_positions(models, sparsities)
        bottom = np.zeros(len(xs))
        dense = {m: next(r["cycles"] for r in rows if r["model"] == m and r["sparsity"] == "dense")
                 for m in models}
        for phase in ("FF", "BP", "WU", "drain"):
            vals = np.array([next(r[phase] for r in rows if r["model"] == m and r["sparsity"] == s)
                             / dense[m] for m in models for s in sparsities])
            ax.bar(xs, vals, 0.8, bottom=bottom, label=phase)
            bottom += vals
        _group_labels(ax, xs, models, sparsities)
        ax.set_ylabel("cycles / dense cycles")
        ax.set_ylim(0, 1.05)
        ax.legend(ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False,
                  title="cycles per training pass, relative to dense", title_fontsize=7)
        ax.grid(axis="y", linewidth=0.3)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
