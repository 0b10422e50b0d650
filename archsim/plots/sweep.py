"""Plots of sweep results: rows in (flat dicts: a store's rows, or rows a script builds), a figure out.

Every function takes ``rows`` (``list[dict]``, e.g. `archsim.sweep.store.load_rows`), the field
names to plot, and the output ``path`` chosen by the caller (``.png`` / ``.pdf`` / ``.svg``);
it returns the path.  Figures are sized for one paper column (3.5 in wide) with 8 pt text;
axes carry their units (derived from the field names: ``_pj``, ``_bytes``, ``_bytes_per_s``,
``seconds`` ...) and scale to a readable SI prefix.  When several rows fall on one bar or point
(other axes varying), metrics are aggregated by their geometric mean (ratios and latencies
compose multiplicatively); the energy breakdown uses the arithmetic mean so the stack equals
the mean total.

* `plot_speedup`: grouped bars of ``y`` per ``x`` category and ``hue``; with ``baseline`` the
  bars are ``y(baseline) / y`` over rows paired on ``pair_on``, else ``y`` is plotted as is.
* `plot_energy_breakdown`: stacked energy components (``energy_pj.*``) per category.
* `plot_pareto`: latency vs energy, the non-dominated front highlighted (optionally area too).
* `plot_scaling`: ``y`` against a numeric ``x``, one line per ``hue``.
* `plot_heatmap`: a metric over two fields.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from archsim.plots.style import colors as _colors
from archsim.plots.style import figure as _figure
from archsim.plots.style import human, minor_share, note
from archsim.plots.style import readable_log as _readable_log
from archsim.plots.style import rc as _rc
from archsim.plots.style import save as _save
from workloads.errors import InputError

__all__ = [
    "plot_speedup",
    "plot_energy_breakdown",
    "plot_pareto",
    "plot_scaling",
    "plot_heatmap",
    "pareto_front",
    "field_label",
]

# ---------------------------------------------------------------------------- labels & units

_KNOWN: dict[str, tuple[str, str]] = {
    "total_cycles": ("latency", "cycles"),
    "seconds": ("latency", "s"),
    "total_energy_pj": ("energy", "pJ"),
    "wall_s": ("simulation wall time", "s"),
    "clock_hz": ("clock", "Hz"),
    "workload.sparsity": ("sparsity (N:M)", ""),
}
_SUFFIX_UNITS = [
    ("_bytes_per_s", "B/s"),
    ("_bytes_per_cycle", "B/cycle"),
    ("_bytes", "B"),
    ("_hz", "Hz"),
    ("_pj", "pJ"),
    ("_cycles", "cycles"),
    ("_mm2", "mm²"),
    ("_um2", "µm²"),
    ("_s", "s"),
]


def _split_unit(field: str) -> tuple[str, str]:
    """(quantity name, unit) of a field, from the known table or the unit suffix in its name."""
    if field in _KNOWN:
        return _KNOWN[field]
    prefix, _, leaf = field.rpartition(".")
    if prefix == "energy_pj":
        return f"{leaf} energy", "pJ"
    if prefix == "phase_cycles":
        return f"{leaf} phase", "cycles"
    if prefix == "unit_busy_cycles":
        return f"{leaf} busy", "cycles"
    if prefix == "utilization":
        return f"{leaf} utilization", ""
    if prefix == "bytes":
        return f"{leaf.replace('_', ' ')} traffic", "B"
    for suf, unit in _SUFFIX_UNITS:
        if leaf.endswith(suf):
            name = leaf[: -len(suf)].replace("_", " ")
            if prefix == "area":
                name = f"{name} area"
            elif prefix and prefix not in ("metrics", "workload"):
                name = f"{prefix.split('.')[-1]} {name}"
            if unit == "B/s" and "channel" in leaf:
                name = name.replace("channel", "channel bandwidth")
            return name.strip(), unit
    name = leaf.replace("_", " ")
    if prefix and prefix not in ("metrics", "workload"):
        name = f"{prefix.split('.')[-1]} {name}"
    return name, ""


_SI = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n")]


def _scale(unit: str, values: Iterable[float]) -> tuple[float, str]:
    """(divisor, unit with SI prefix) making ``values`` readable; pJ is shown in joules."""
    vals = [abs(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v) and v != 0]
    if not unit or not vals:
        return 1.0, unit
    base_factor, base_unit = (1e12, "J") if unit == "pJ" else (1.0, unit)
    if unit in ("cycles", "B/cycle"):
        ref = max(vals)
        for f, p in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if ref >= f:
                return f, f"{p}{unit}"
        return 1.0, unit
    if unit in ("mm²", "µm²"):
        return 1.0, unit
    ref = max(vals) / base_factor
    for f, p in _SI:
        if ref >= f:
            return base_factor * f, f"{p}{base_unit}"
    return base_factor * _SI[-1][0], f"{_SI[-1][1]}{base_unit}"


def field_label(field: str, values: Iterable[float] = ()) -> tuple[str, float]:
    """Axis label with units for a field, and the divisor to apply to its values.

    >>> field_label("total_energy_pj", [3e9, 5e9])
    ('energy (mJ)', 1000000000.0)
    >>> field_label("dram.channel_bytes_per_s", [1.92e10])[0]
    'dram channel bandwidth (GB/s)'
    """
    name, unit = _split_unit(field)
    div, shown = _scale(unit, values)
    return (f"{name} ({shown})" if shown else name), div


def _fmt_bytes(v: float) -> str:
    for f, p in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if v >= f and v % (f // 1024 if f > 1024 else 1) == 0:
            q = v / f
            return f"{q:g} {p}"
    return f"{v:g} B"


def _tick(field: str, v: Any) -> str:
    """Category label of a value of ``field``."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, (list, tuple)):
        return "×".join(str(x) for x in v)
    if isinstance(v, (int, float)):
        _, unit = _split_unit(field)
        if unit == "B":
            return _fmt_bytes(float(v))
        if unit in ("B/s", "Hz"):
            div, shown = _scale(unit, [v])
            return f"{v / div:.3g} {shown}"
        return f"{v:g}"
    return human(v)


# ---------------------------------------------------------------------------- helpers


def _require(rows: Sequence[dict], fields: Iterable[str | None]) -> None:
    if not rows:
        raise InputError("plot: no rows to plot (is the store empty, or all points failed?)")
    have = set().union(*(r.keys() for r in rows))
    for f in fields:
        if f is not None and f not in have:
            near = sorted(k for k in have if f.split(".")[-1] in k)[:5]
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise InputError(f"plot: unknown field {f!r}{hint}")


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)) and math.isfinite(v):
        return float(v)
    return None


def _geomean(vals: Sequence[float]) -> float:
    vals = [v for v in vals if v is not None]
    if not vals:
        return float("nan")
    if all(v > 0 for v in vals):
        return math.exp(sum(math.log(v) for v in vals) / len(vals))
    return sum(vals) / len(vals)


def _hashable(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _sort_key(v: Any) -> tuple:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (0, v, "")
    if isinstance(v, str) and ":" in v:  # N:M → by density, dense first
        try:
            n, m = (int(x) for x in v.split(":"))
            return (1, -n / m, v)
        except ValueError:
            pass
    if v == "dense":
        return (1, -2.0, v)
    return (2, 0, str(v))


def _categories(rows: Sequence[dict], field: str | None) -> list[Any]:
    if field is None:
        return [None]
    return sorted({_hashable(r.get(field)) for r in rows}, key=_sort_key)


#: Row fields that are results, not design axes (never "aggregated over").
_RESULT_PREFIXES = ("energy_pj", "phase_cycles", "unit_busy_cycles", "utilization", "bytes",
                    "metrics", "area")
#: Workload fields that are design choices on the same task (may share one Pareto plot).
_CHOICE_FIELDS = ("workload.sparsity", "workload.dataflow", "workload.partition")


def _axis_fields(rows: Sequence[dict]) -> list[str]:
    """Design-axis columns of the rows (dotted config / workload paths) that take >1 value."""
    keys = sorted({k for r in rows for k in r if "." in k and k.split(".")[0] not in _RESULT_PREFIXES})
    return [k for k in keys if len({_hashable(r.get(k)) for r in rows}) > 1]


def _aggregation_note(rows: Sequence[dict], used: Sequence[str | None], how: str) -> str:
    """``"each bar: geometric mean over array.rows (4 values), ..."`` or '' when nothing is."""
    keys = [u for u in used if u]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[tuple(_hashable(r.get(k)) for k in keys)].append(r)
    # a field varies *within* a bar (not merely with it, like a tied axis)
    over = [f for f in _axis_fields(rows) if f not in keys
            and any(len({_hashable(r.get(f)) for r in g}) > 1 for g in groups.values())]
    if not over:
        return ""
    parts = [f"{f} ({len({_hashable(r.get(f)) for r in rows})} values)" for f in over]
    return f"{how} over {', '.join(parts)}"


def _task(row: dict) -> tuple:
    """What a row computes (workload fields except the design choices): rows of different
    tasks must not share one Pareto front."""
    return tuple(sorted((k, json_key(row.get(k))) for k in row
                        if k.startswith("workload.") and k not in _CHOICE_FIELDS))


def json_key(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _task_label(task: tuple) -> str:
    return ", ".join(f"{k.split('.', 1)[1]} {_tick(k, v)}" for k, v in task) or "all points"


def _auto_title(rows: Sequence[dict]) -> str:
    """The configuration a figure shows: config name(s), and the workload when there is one."""
    import json

    names = []
    for r in rows:
        cj = r.get("config_json")
        if isinstance(cj, str):
            try:
                names.append(json.loads(cj).get("name"))
            except ValueError:
                pass
    names = [n for n in dict.fromkeys(names) if n]
    tasks = {_task(r) for r in rows}
    parts = []
    if names:
        parts.append(", ".join(names[:2]) + (" …" if len(names) > 2 else ""))
    if len(tasks) == 1 and next(iter(tasks)):
        parts.append(_task_label(next(iter(tasks))))
    elif len(tasks) > 1:
        parts.append(f"{len(tasks)} workloads")
    return " · ".join(parts)


def _legend_title(field: str | None) -> str | None:
    if field is None:
        return None
    name, unit = _split_unit(field)
    # categories of byte, bandwidth and frequency fields carry their own (scaled) unit
    return name if not unit or unit in ("cycles", "B", "B/s", "Hz") else f"{name} ({unit})"


# ---------------------------------------------------------------------------- plots


def plot_speedup(
    rows: Sequence[dict],
    x: str,
    y: str,
    hue: str | None,
    path: str | Path,
    *,
    baseline: Any = None,
    pair_on: Sequence[str] | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> Path:
    """Grouped bars of speed-up per ``x`` category, one bar per ``hue`` value.

    Without ``baseline``, ``y`` already is a speed-up (plotted as is, geomean per bar).  With
    ``baseline`` (a value of ``hue``, e.g. ``"dense"``), ``y`` is a latency metric and each bar
    is ``y(baseline) / y`` over rows that agree on ``pair_on`` (default: ``x`` only, which
    compares geometric means); the baseline itself is the dashed line at 1.
    """
    _require(rows, [x, y, hue])
    xs = _categories(rows, x)
    hues = _categories(rows, hue)
    values: dict[tuple[Any, Any], list[float]] = defaultdict(list)
    if baseline is None:
        for r in rows:
            v = _num(r.get(y))
            if v is not None:
                values[(_hashable(r.get(x)), _hashable(r.get(hue)) if hue else None)].append(v)
        label = ylabel or ("speed-up (×)" if "speedup" in y else field_label(y)[0])
    else:
        if hue is None:
            raise InputError("plot: speedup with a baseline needs --hue")
        if baseline not in hues:
            raise InputError(f"plot: baseline {baseline!r} is not a value of {hue!r} (values: {hues})")
        keys = list(dict.fromkeys([x, *(pair_on or [])]))
        keys = [k for k in keys if k != hue]
        base: dict[tuple, list[float]] = defaultdict(list)
        for r in rows:
            if _hashable(r.get(hue)) == baseline and _num(r.get(y)):
                base[tuple(_hashable(r.get(k)) for k in keys)].append(_num(r.get(y)))  # type: ignore[arg-type]
        paired: dict[tuple, list[float]] = defaultdict(list)
        for r in rows:
            h = _hashable(r.get(hue))
            v = _num(r.get(y))
            if h == baseline or not v:
                continue
            k = tuple(_hashable(r.get(f)) for f in keys)
            if k in base:
                values[(k[0], h)].append(_geomean(base[k]) / v)
                paired[k].append(1.0)
        hues = [h for h in hues if h != baseline]
        if not values:
            raise InputError(f"plot: no rows pair with the baseline {hue}={baseline!r} on {keys}")
        label = ylabel or f"speed-up over {baseline} (×)"
    with _rc():
        fig, ax = _figure()
        width = 0.8 / max(len(hues), 1)
        colors = _colors(len(hues))
        for j, h in enumerate(hues):
            heights = [_geomean(values.get((c, h), [])) for c in xs]
            pos = [i - 0.4 + width * (j + 0.5) for i in range(len(xs))]
            ax.bar(pos, heights, width=width * 0.95, color=colors[j], label=_tick(hue, h) if hue else None)
        if baseline is not None:
            ax.axhline(1.0, color="0.3", lw=0.8, ls="--", label=f"{_tick(hue, baseline)} (baseline)")
        ax.set_xticks(range(len(xs)), [_tick(x, c) for c in xs])
        ax.set_xlabel(_legend_title(x) or x)
        ax.set_ylabel(label)
        title = _auto_title(rows) if title is None else title
        if title:
            fig.suptitle(title, fontsize=8)  # the legend sits above the axes
        if hue is not None or baseline is not None:
            ax.legend(title=_legend_title(hue), frameon=False, ncols=min(4, len(hues) + 1), loc="lower center",
                      bbox_to_anchor=(0.5, 1.0), handlelength=1.2, columnspacing=1.0)
        how = ("each bar: ratio of geometric means" if baseline is not None and not pair_on
               else "each bar: geometric mean")
        note(fig, _aggregation_note(rows, [x, hue, *(pair_on or [])] if baseline is None else [x, hue], how))
        return _save(fig, path)


def plot_energy_breakdown(
    rows: Sequence[dict],
    x: str,
    path: str | Path,
    *,
    hue: str | None = None,
    components: Sequence[str] | None = None,
    prefix: str = "energy_pj.",
    title: str | None = None,
) -> Path:
    """Stacked bars of the energy components (fields starting with ``prefix``) per category.

    Categories are the values of ``x`` (and of ``hue`` within each, when given); each segment
    is the arithmetic mean of that component over the category's rows.
    """
    _require(rows, [x, hue])
    comps = list(components) if components else sorted({k for r in rows for k in r if k.startswith(prefix)})
    if not comps:
        raise InputError(f"plot: no energy components ({prefix}*) in the rows")
    # Components under 1% of the total energy become one "other" segment (no invisible slivers).
    share = {c: sum(_num(r.get(c)) or 0.0 for r in rows) for c in comps}
    shown, lumped = minor_share(share)
    rows = [{**r, "_other": sum(_num(r.get(c)) or 0.0 for c in lumped)} for r in rows] if lumped else rows
    comps = sorted(shown, key=lambda c: -share[c]) + (["_other"] if lumped else [])
    other_label = "other (< 1% each: " + ", ".join(human(c[len(prefix):]) for c in lumped) + ")"
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(_hashable(r.get(x)), _hashable(r.get(hue)) if hue else None)].append(r)
    cats = [(c, h) for c in _categories(rows, x) for h in _categories(rows, hue) if (c, h) in groups]
    means = {
        comp: [sum(_num(r.get(comp)) or 0.0 for r in groups[c]) / len(groups[c]) for c in cats] for comp in comps
    }
    totals = [sum(means[c][i] for c in comps) for i in range(len(cats))]
    label, div = field_label("total_energy_pj", totals)
    # Bars grouped by x (a gap between groups); within a group, one bar per hue value.
    xcats = [c for c in _categories(rows, x) if any(k[0] == c for k in cats)]
    pos, gpos = [], {}
    slot = 0
    for c in xcats:
        members = [k for k in cats if k[0] == c]
        gpos[c] = slot + (len(members) - 1) / 2
        pos.extend(slot + j for j in range(len(members)))
        slot += len(members) + (1 if hue is not None else 0)
    with _rc():
        fig, ax = _figure(2.6 if hue is None else 2.9)
        bottom = [0.0] * len(cats)
        for comp, color in zip(comps, _colors(len(comps))):
            vals = [v / div for v in means[comp]]
            ax.bar(pos, vals, bottom=bottom, color=color, width=0.75,
                   label=other_label if comp == "_other"
                   else human(comp[len(prefix):] if comp.startswith(prefix) else comp))
            bottom = [b + v for b, v in zip(bottom, vals)]
        if hue is None:
            ax.set_xticks(pos, [_tick(x, c) for c, _ in cats])
            if len(cats) > 6:
                ax.tick_params(axis="x", labelrotation=45)
            ax.set_xlabel(_legend_title(x) or x)
        else:
            labels = [_tick(hue, h) for _, h in cats]
            ax.set_xticks(pos, labels)
            crowded = sum(len(t) + 1 for t in labels) > 36
            if crowded:
                ax.tick_params(axis="x", labelrotation=90)
            longest = max(len(t) for t in labels)
            sec = ax.secondary_xaxis(-(0.1 + 0.035 * longest) if crowded else -0.12)
            sec.set_xticks([gpos[c] for c in xcats], [_tick(x, c) for c in xcats])
            sec.tick_params(length=0)
            sec.spines["bottom"].set_visible(False)
            sec.set_xlabel(f"{_legend_title(x)} (groups) / {_legend_title(hue)} (bars)")
        ax.set_ylabel(label)
        title = _auto_title(rows) if title is None else title
        if title:
            fig.suptitle(title, fontsize=8)  # the legend sits above the axes
        ax.legend(frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                  ncols=2, handlelength=1.0, columnspacing=1.0)
        note(fig, _aggregation_note(rows, [x, hue], "each bar: arithmetic mean"))
        return _save(fig, path)


def pareto_front(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the non-dominated points (every objective minimised), in input order.

    >>> pareto_front([(1, 5), (2, 2), (3, 3), (5, 1)])
    [0, 1, 3]
    """
    front = []
    for i, p in enumerate(points):
        dominated = False
        for j, q in enumerate(points):
            if j != i and all(a <= b for a, b in zip(q, p)) and any(a < b for a, b in zip(q, p)):
                dominated = True
                break
        if not dominated:
            front.append(i)
    return front


def _front_2d(xs: Sequence[float], ys: Sequence[float]) -> list[int]:
    order = sorted(range(len(xs)), key=lambda i: (xs[i], ys[i]))
    out, best = [], math.inf
    for i in order:
        if ys[i] < best:
            out.append(i)
            best = ys[i]
    return out


def plot_pareto(
    rows: Sequence[dict],
    path: str | Path,
    *,
    x: str = "seconds",
    y: str = "total_energy_pj",
    hue: str | None = None,
    area: str | None = None,
    title: str | None = None,
) -> Path:
    """Latency vs energy of every point, the Pareto front (both minimised) highlighted.

    Points of different tasks (workloads that differ in anything but the design choices
    sparsity / dataflow / partition, e.g. two GEMM shapes) are never put on one front: each task
    gets its own panel (at most 4; filter with ``--where`` for more).  With ``area`` (a field
    such as ``area.total_mm2``) points are coloured by area and the points on the
    three-objective front (latency, energy, area) are ringed.
    """
    _require(rows, [x, y, hue, area])
    pts = [r for r in rows if _num(r.get(x)) is not None and _num(r.get(y)) is not None]
    if not pts:
        raise InputError(f"plot: no rows with numeric {x!r} and {y!r}")
    tasks: dict[tuple, list[dict]] = defaultdict(list)
    for r in pts:
        tasks[_task(r)].append(r)
    if len(tasks) > 4:
        raise InputError(f"plot: {len(tasks)} different workloads would share a Pareto plot; pick "
                         f"one with --where (e.g. --where {next(iter(tasks))[0][0]}=...)")
    xlabel, xdiv = field_label(x, [_num(r[x]) for r in pts])
    ylabel, ydiv = field_label(y, [_num(r[y]) for r in pts])
    cats = _categories(pts, hue) if hue is not None and area is None else []
    cat_colors = dict(zip(cats, _colors(len(cats))))
    with _rc():
        fig, axes = _figure(0.4 + 2.3 * len(tasks), nrows=len(tasks), squeeze=False)
        for ax, (task, trs) in zip(axes[:, 0], sorted(tasks.items(), key=lambda kv: str(kv[0]))):
            _pareto_panel(fig, ax, trs, x, y, hue, area, xdiv, ydiv, cat_colors)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            if len(tasks) > 1:
                ax.set_title(_task_label(task), loc="left", fontsize=7)
        title = _auto_title(pts) if title is None else title
        if title:
            fig.suptitle(title, fontsize=8)
        note(fig, "every point one design point; the front minimises both axes"
                  + (", one front per workload" if len(tasks) > 1 else ""))
        return _save(fig, path)


def _pareto_panel(fig: Any, ax: Any, pts: list[dict], x: str, y: str, hue: str | None,
                  area: str | None, xdiv: float, ydiv: float, cat_colors: dict) -> None:
    xv = [_num(r[x]) for r in pts]
    yv = [_num(r[y]) for r in pts]
    front = _front_2d(xv, yv)  # type: ignore[arg-type]
    if area is not None:
        av = [_num(r.get(area)) or 0.0 for r in pts]
        sc = ax.scatter([v / xdiv for v in xv], [v / ydiv for v in yv], c=av, s=10, cmap="viridis",
                        alpha=0.8, linewidths=0)
        alabel, _ = field_label(area, av)
        fig.colorbar(sc, ax=ax, label=alabel)
        f3 = pareto_front(list(zip(xv, yv, av)))  # type: ignore[arg-type]
        ax.scatter([xv[i] / xdiv for i in f3], [yv[i] / ydiv for i in f3], s=24, facecolors="none",
                   edgecolors="k", linewidths=0.6, label="front (latency, energy, area)")
    elif hue is not None:
        for c, color in cat_colors.items():
            idx = [i for i, r in enumerate(pts) if _hashable(r.get(hue)) == c]
            if idx:
                ax.scatter([xv[i] / xdiv for i in idx], [yv[i] / ydiv for i in idx], s=10,
                           color=color, alpha=0.7, linewidths=0, label=_tick(hue, c))
    else:
        ax.scatter([v / xdiv for v in xv], [v / ydiv for v in yv], s=10, color="0.6", alpha=0.7,
                   linewidths=0, label="design points")
    fx = [xv[i] / xdiv for i in front]
    fy = [yv[i] / ydiv for i in front]
    ax.step(fx, fy, where="post", color="black", lw=1.0, zorder=3)
    ax.scatter(fx, fy, s=22, marker="D", facecolors="none", edgecolors="black", linewidths=1.0,
               zorder=4, label=f"Pareto front ({len(front)})")
    if max(xv) / max(min(xv), 1e-300) > 20:  # type: ignore[type-var, operator]
        ax.set_xscale("log")
        _readable_log(ax.xaxis)
    if max(yv) / max(min(yv), 1e-300) > 20:  # type: ignore[type-var, operator]
        ax.set_yscale("log")
        _readable_log(ax.yaxis)
    ax.legend(frameon=False, title=_legend_title(hue) if area is None else None, markerscale=1.2,
              fontsize=6)


def plot_scaling(
    rows: Sequence[dict], x: str, y: str, path: str | Path, *, hue: str | None = None,
    title: str | None = None, ideal: bool = False, speedup: bool = False,
) -> Path:
    """``y`` (geomean over the other axes) against a numeric ``x``, one line per ``hue`` value.

    ``speedup``: plot ``y(smallest x) / y`` instead of ``y`` (a latency becomes a speed-up);
    ``ideal``: add the linear-scaling line ``x / smallest x`` (with ``speedup``).
    """
    _require(rows, [x, y, hue])
    xs = [c for c in _categories(rows, x) if _num(c) is not None]
    if not xs:
        raise InputError(f"plot: scaling needs a numeric --x field, {x!r} is not")
    hues = _categories(rows, hue)
    agg: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        v = _num(r.get(y))
        if v is not None:
            agg[(_hashable(r.get(x)), _hashable(r.get(hue)) if hue else None)].append(v)
    if speedup:
        for h in hues:
            ref = [agg[(c, h)] for c in xs if agg.get((c, h))]
            if ref:
                base = _geomean(ref[0])
                for c in xs:
                    if agg.get((c, h)):
                        agg[(c, h)] = [base / v for v in agg[(c, h)]]
    allv = [v for vs in agg.values() for v in vs]
    if speedup:
        ylabel, ydiv = f"speed-up over {_legend_title(x) or x} = {_tick(x, xs[0])} (×)", 1.0
    else:
        ylabel, ydiv = field_label(y, allv)
    xlabel, xdiv = field_label(x, xs)
    with _rc():
        fig, ax = _figure()
        for h, color in zip(hues, _colors(len(hues))):
            pts = [(c, _geomean(agg[(c, h)])) for c in xs if agg.get((c, h))]
            if not pts:
                continue
            ax.plot([p[0] / xdiv for p in pts], [p[1] / ydiv for p in pts], marker="o", ms=3, lw=1.2,
                    color=color, label=_tick(hue, h) if hue else "simulated")
            if len(hues) == 1 and len(pts) <= 8:
                for px, py in pts:
                    ax.annotate(f"{py / ydiv:.3g}", (px / xdiv, py / ydiv), textcoords="offset points",
                                xytext=(0, 4), ha="center", fontsize=6)
        if ideal:
            ax.plot([c / xdiv for c in xs], [c / xs[0] for c in xs], "k--", lw=0.8, label="ideal (linear)")
        if xs[0] > 0 and xs[-1] / xs[0] >= 8:
            ax.set_xscale("log", base=2)
            if len(xs) <= 10:
                ax.set_xticks([c / xdiv for c in xs], [_tick(x, c) for c in xs])
                ax.minorticks_off()
        if allv and min(allv) > 0 and max(allv) / min(allv) >= 10:
            ax.set_yscale("log")
            _readable_log(ax.yaxis)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        title = _auto_title(rows) if title is None else title
        if title:
            ax.set_title(title)
        if hue is not None or ideal:
            ax.legend(title=_legend_title(hue), frameon=False)
        ax.grid(True, lw=0.3, alpha=0.5)
        note(fig, _aggregation_note(rows, [x, hue], "each point: geometric mean"))
        return _save(fig, path)


def plot_heatmap(
    rows: Sequence[dict], x: str, y: str, value: str, path: str | Path, *,
    reduce: Callable[[Sequence[float]], float] = _geomean, title: str | None = None,
) -> Path:
    """``value`` (geomean over the other axes) on an ``x`` × ``y`` grid, cells annotated."""
    _require(rows, [x, y, value])
    xs, ys = _categories(rows, x), _categories(rows, y)
    agg: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        v = _num(r.get(value))
        if v is not None:
            agg[(_hashable(r.get(x)), _hashable(r.get(y)))].append(v)
    allv = [v for vs in agg.values() for v in vs]
    label, div = field_label(value, allv)
    grid = [[(reduce(agg[(cx, cy)]) / div) if agg.get((cx, cy)) else float("nan") for cx in xs] for cy in ys]
    with _rc():
        import numpy as np

        fig, ax = _figure(2.6)
        arr = np.array(grid, dtype=float)
        finite = arr[np.isfinite(arr)]
        norm = None
        if finite.size and finite.min() > 0 and finite.max() / finite.min() >= 20:
            from matplotlib.colors import LogNorm

            norm = LogNorm(vmin=finite.min(), vmax=finite.max())
        im = ax.imshow(arr, origin="lower", aspect="auto", cmap="viridis_r", norm=norm)
        cb = fig.colorbar(im, ax=ax, label=label)
        if norm is not None:
            _readable_log(cb.ax.yaxis)
        if len(xs) * len(ys) <= 36 and len(xs) <= 6:
            if norm is not None:
                mid = math.sqrt(finite.min() * finite.max())
            else:
                mid = (finite.min() + finite.max()) / 2 if finite.size else 0
            for iy in range(len(ys)):
                for ix in range(len(xs)):
                    if np.isfinite(arr[iy, ix]):
                        ax.text(ix, iy, f"{arr[iy, ix]:.3g}", ha="center", va="center", fontsize=8,
                                color="white" if arr[iy, ix] > mid else "black")
        ax.set_xticks(range(len(xs)), [_tick(x, c) for c in xs])
        ax.set_yticks(range(len(ys)), [_tick(y, c) for c in ys])
        if len(xs) > 6:
            ax.tick_params(axis="x", labelrotation=45)
        ax.set_xlabel(_legend_title(x) or x)
        ax.set_ylabel(_legend_title(y) or y)
        ax.spines[:].set_visible(False)
        title = _auto_title(rows) if title is None else title
        if title:
            ax.set_title(title)
        how = "each cell: geometric mean" if reduce is _geomean else "each cell: aggregate"
        note(fig, _aggregation_note(rows, [x, y], how))
        return _save(fig, path)
