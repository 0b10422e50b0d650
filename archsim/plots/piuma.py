"""PIUMA figures in the house style: the dataflow comparison (speed-up of a baseline dataflow
over the others, per input).  The core-scaling plot is `archsim.plots.sweep.plot_scaling`
(``speedup=True, ideal=True``)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from archsim.plots.style import colors, figure, human, note, rc, readable_log, save

__all__ = ["plot_compare"]


def plot_compare(rows: Sequence[dict], flows: Sequence[str], path: str | Path, *, baseline: str,
                 title: str = "") -> Path:
    """Speed-up of ``baseline`` over every other dataflow, per input (``rows``: ``{"input": name,
    <dataflow>: cycles, ...}``); log scale with every bar's value written on it."""
    others = [f for f in flows if f != baseline]
    n = len(rows)
    wdt = 0.8 / max(len(others), 1)
    with rc():
        fig, ax = figure(2.8, width_in=max(3.5, min(7.0, 0.7 * n * max(1, len(others)) + 1.5)))
        vals_all = []
        for i, (df, color) in enumerate(zip(others, colors(len(others)))):
            vals = [r[baseline] and r[df] / r[baseline] for r in rows]
            vals_all += vals
            pos = [k - 0.4 + wdt * (i + 0.5) for k in range(n)]
            bars = ax.bar(pos, vals, wdt * 0.95, color=color, label=f"vs {human(df)}")
            for b, v in zip(bars, vals):
                ax.annotate(f"{v:.3g}×", (b.get_x() + b.get_width() / 2, v), textcoords="offset points",
                            xytext=(0, 2), ha="center", va="bottom", fontsize=5.5)
        ax.axhline(1.0, color="k", lw=0.8)
        positive = [v for v in vals_all if v and v > 0]
        if positive and max(positive) / min(positive) >= 10:
            ax.set_yscale("log")
            readable_log(ax.yaxis)
        ax.set_xticks(range(n), [str(r["input"]) for r in rows], rotation=30, ha="right")
        ax.set_ylabel(f"speed-up of {human(baseline)} (×)")
        ax.set_title(title)
        if others:  # one dataflow alone has nothing to compare (and no legend)
            ax.legend(frameon=False, fontsize=6, ncols=min(3, len(others)))
        note(fig, "speed-up = cycles of the other dataflow / cycles of the baseline, same input and config")
        return save(fig, path)
