"""The training report's figures (the demo): speed-up, energy and time per model and N:M.

Input: the summary rows of `archsim.sweep.report.training_summary` (one per model × N:M, with
``speedup``, ``bound``, ``array_bound``, phase cycles) and the store rows (for the energy
components).  Every bound is drawn over its own bar and labelled; a bound the array cannot reach
with its window is shown beside the ideal one and explained in the note; the configuration and
batch are in the title.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from archsim.plots.style import PAGE_WIDTH_IN, colors, figure, human, minor_share, note, rc, save

__all__ = ["speedup_bars", "energy_breakdown", "time_breakdown"]


def _row(summary: Sequence[dict], model: str, sp: str) -> dict:
    return next(r for r in summary if r["model"] == model and r["sparsity"] == sp)


def _positions(models: Sequence[str], sparsities: Sequence[str]) -> tuple[list[float], list[float]]:
    """Bar positions (grouped by model, a gap between groups) and each group's centre."""
    xs, centres, pos = [], [], 0.0
    for _m in models:
        start = pos
        for _s in sparsities:
            xs.append(pos)
            pos += 1
        centres.append((start + pos - 1) / 2)
        pos += 0.7
    return xs, centres


def _group_axis(ax, xs, centres, models, sparsities) -> None:
    """N:M under each bar, the model's name under its group (a secondary axis: never clipped)."""
    ax.set_xticks(xs, [s for _m in models for s in sparsities], fontsize=6)
    sec = ax.secondary_xaxis(-0.09)
    sec.set_xticks(centres, [human(m) for m in models], fontsize=7)
    sec.tick_params(length=0)
    sec.spines["bottom"].set_visible(False)


def speedup_bars(summary: Sequence[dict], models: Sequence[str], sparsities: Sequence[str],
                 path: str | Path, *, title: str) -> Path:
    """Training speed-up over dense per model (groups) and N:M (bars), each bar with its bounds.

    Over every bar: the compute bound ``3/(1+2N/M)`` (FF and BP M/N times faster, WU dense) as a
    black tick, and where the array's window caps the in-array speed-up below M/N, the bound this
    array can reach as a red tick.  Values are written inside the bars.
    """
    sps = [s for s in sparsities if s != "dense"]
    with rc():
        fig, ax = figure(3.0, width_in=PAGE_WIDTH_IN)
        width = 0.8 / max(len(sps), 1)
        limited = []
        top = 1.0
        for i, (sp, color) in enumerate(zip(sps, colors(len(sps)))):
            pos = [k + (i - (len(sps) - 1) / 2) * width for k in range(len(models))]
            vals = [_row(summary, m, sp)["speedup"] for m in models]
            bars = ax.bar(pos, vals, width * 0.92, color=color, label=f"N:M {sp}")
            for b, v in zip(bars, vals):
                ax.text(b.get_x() + b.get_width() / 2, v / 2, f"{v:.2f}×", rotation=90, ha="center",
                        va="center", fontsize=6, color="white")
            first = _row(summary, models[0], sp)
            bound, arr = first["bound"], first["array_bound"]
            top = max(top, bound, max(vals))
            half = width * 0.46
            ax.hlines([bound] * len(pos), [p - half for p in pos], [p + half for p in pos],
                      colors="black", linewidth=1.4, linestyles="-",
                      label="compute bound 3/(1+2N/M)" if i == 0 else None, zorder=3)
            for p in pos:
                ax.annotate(f"{bound:.2f}", (p, bound), textcoords="offset points", xytext=(0, 1.5),
                            ha="center", va="bottom", fontsize=5)
            if arr < bound - 1e-9:
                limited.append(first)
                ax.hlines([arr] * len(pos), [p - half for p in pos], [p + half for p in pos],
                          colors="tab:red", linewidth=1.4, linestyles="--",
                          label="bound with this array's window" if len(limited) == 1 else None,
                          zorder=3)
        ax.axhline(1.0, color="0.4", linewidth=0.6, linestyle=":")
        ax.set_xticks(range(len(models)), [human(m) for m in models])
        ax.set_ylabel("training speed-up over dense (×)")
        ax.set_ylim(0, top * 1.4)  # headroom: the legend sits above the highest bound
        ax.set_title(title)
        ax.legend(ncols=min(4, len(sps) + 2), loc="upper left", bbox_to_anchor=(0.03, 1.0),
                  frameon=False, fontsize=6.5)
        text = ("Bars: N:M BDWP (FF and BP weights pruned, WU dense), dense cycles / sparse cycles "
                "of one training iteration. ")
        for r in limited:
            text += (f"{r['sparsity']}: the {r['window']}-wide activation window limits the array to "
                     f"{r['array_speedup']:g}× on FF/BP, not M/N = {r['nm_speedup']:g}× (red: bound "
                     f"{r['array_bound']:.2f}×, not {r['bound']:.2f}×). ")
        note(fig, text.strip())
        return save(fig, path)


def _stacked(ax, xs, series: dict[str, list[float]], labels: dict[str, str]) -> None:
    bottom = [0.0] * len(xs)
    for (key, vals), color in zip(series.items(), colors(len(series))):
        ax.bar(xs, vals, 0.8, bottom=bottom, color=color, label=labels[key])
        bottom = [b + v for b, v in zip(bottom, vals)]


def _lump(series: dict[str, list[float]]) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Components under 1% of the grand total merged into one "other" series."""
    shown, lumped = minor_share({k: sum(v) for k, v in series.items()})
    out = {k: series[k] for k in shown}
    labels = {k: human(k) for k in shown}
    if lumped:
        n = len(next(iter(series.values())))
        out["_other"] = [sum(series[k][i] for k in lumped) for i in range(n)]
        labels["_other"] = "other (< 1% each: " + ", ".join(human(k) for k in lumped) + ")"
    return out, labels


def energy_breakdown(energy_pj: dict[tuple[str, str], dict[str, float]], models: Sequence[str],
                     sparsities: Sequence[str], path: str | Path, *, title: str) -> Path:
    """Stacked energy per component (mJ) per model and N:M; components under 1% lumped."""
    comps = sorted({c for e in energy_pj.values() for c in e},
                   key=lambda c: -sum(e.get(c, 0.0) for e in energy_pj.values()))
    series = {c: [energy_pj[(m, s)].get(c, 0.0) / 1e9 for m in models for s in sparsities] for c in comps}
    series, labels = _lump(series)
    with rc():
        fig, ax = figure(3.2, width_in=PAGE_WIDTH_IN)
        xs, centres = _positions(models, sparsities)
        _stacked(ax, xs, series, labels)
        _group_axis(ax, xs, centres, models, sparsities)
        ax.set_ylabel("energy per training iteration (mJ)")
        ax.set_title(title)
        ax.set_ylim(0, max(sum(v[i] for v in series.values()) for i in range(len(xs))) * 1.3)
        ax.legend(ncols=3, loc="upper center", frameon=False, fontsize=6.5)
        note(fig, "energy = action counts × per-action energy (Horowitz, 45 nm); one iteration per bar")
        return save(fig, path)


def time_breakdown(summary: Sequence[dict], models: Sequence[str], sparsities: Sequence[str],
                   path: str | Path, *, title: str) -> Path:
    """Stacked cycles per training pass (FF, BP, WU, drain) relative to the model's dense run."""
    dense = {m: _row(summary, m, "dense")["cycles"] for m in models}
    series = {ph: [_row(summary, m, s)[ph] / dense[m] for m in models for s in sparsities]
              for ph in ("FF", "BP", "WU", "drain")}
    series, labels = _lump(series)
    with rc():
        fig, ax = figure(3.2, width_in=PAGE_WIDTH_IN)
        xs, centres = _positions(models, sparsities)
        _stacked(ax, xs, series, labels)
        _group_axis(ax, xs, centres, models, sparsities)
        ax.set_ylabel("cycles / dense cycles")
        ax.set_ylim(0, 1.25)
        ax.set_title(title)
        ax.legend(ncols=4, loc="upper center", frameon=False, fontsize=6.5)
        note(fig, "each bar: one training iteration split by pass, normalised to the same model's "
                  "dense iteration (WU is dense in BDWP)")
        return save(fig, path)
