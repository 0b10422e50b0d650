"""``archsim sweep``, ``archsim results export|show`` and ``archsim plot``.

* ``archsim sweep SPEC [--out STORE] [--workers N | --dask tcp://host:8786 | --dask-local N]
  [--resume] [--retry-errors] [--dry-run] [--no-progress]``
* ``archsim results check STORE`` (integrity, schema, lock; exit 2 when damaged)
* ``archsim results export STORE --format csv|parquet -o FILE [--all]``
* ``archsim results show STORE [--top N] [--by METRIC] [--desc] [--where FIELD=VALUE ...]
  [--errors]``
* ``archsim plot STORE --kind speedup|energy|pareto|scaling|heatmap [--x FIELD] [--y METRIC]
  [--hue FIELD] [--baseline VALUE] [--area FIELD] -o FILE.(png|pdf|svg)``
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

from workloads.errors import InputError

__all__ = ["register"]

_PLOT_KINDS = ("speedup", "energy", "pareto", "scaling", "heatmap")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run (or resume) a design-space sweep into a result store",
                       description="Run a sweep spec; each finished point is committed to the store at once. "
                                   "Re-running resumes: points already stored are skipped.")
    p.add_argument("spec", help="sweep spec: a YAML path or a bundled spec name (demo, sat_resnet50, sat_resnet50_lhs, sat_resnet50_b32, sat_area, piuma_spgemm)")
    p.add_argument("--out", metavar="STORE", help="SQLite store (default: out/sweeps/<spec name>.db)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, metavar="N",
                   help="local worker processes (default: all cores; 0 = in this process)")
    g.add_argument("--dask", metavar="ADDRESS", help="submit to a running Dask scheduler, e.g. tcp://host:8786")
    g.add_argument("--dask-local", type=int, metavar="N", help="start a local Dask cluster of N worker processes")
    p.add_argument("--dask-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="how long to wait for the Dask scheduler (default 10)")
    p.add_argument("--resume", action="store_true",
                   help="continue an existing store even if it was written from a different spec")
    p.add_argument("--retry-errors", action="store_true", help="re-run points stored with an error")
    p.add_argument("--dry-run", action="store_true", help="validate and count the points, run nothing")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--simulate", metavar="MODULE:FUNCTION",
                   help="advanced: a custom simulate function with archsim.api.simulate's signature "
                        "(importable by the workers); default archsim.api:simulate")
    p.set_defaults(func=_cmd_sweep)

    r = sub.add_parser("results", help="export or inspect a sweep result store")
    rs = r.add_subparsers(dest="results_command", required=True, parser_class=sub._parser_class)
    e = rs.add_parser("export", help="write a store's rows as CSV or Parquet")
    e.add_argument("store")
    e.add_argument("--format", choices=("csv", "parquet"), default=None, help="default: from the -o suffix")
    e.add_argument("-o", "--output", required=True, metavar="FILE")
    e.add_argument("--all", action="store_true", help="include points that failed")
    e.set_defaults(func=_cmd_export)
    c = rs.add_parser("check", help="check a store's integrity, schema and lock (exit 2 if damaged)")
    c.add_argument("store")
    c.set_defaults(func=_cmd_check)
    s = rs.add_parser("show", help="print the top points of a store")
    s.add_argument("store")
    s.add_argument("--top", type=int, default=10, metavar="N")
    s.add_argument("--by", default="total_cycles", metavar="METRIC", help="sort key (default: total_cycles)")
    s.add_argument("--desc", action="store_true", help="largest first (default: smallest first)")
    s.add_argument("--where", action="append", default=[], metavar="FIELD=VALUE",
                   help="filter (also !=, <, <=, >, >=); repeatable")
    s.add_argument("--errors", action="store_true", help="list the failed points and their errors")
    s.set_defaults(func=_cmd_show)

    pl = sub.add_parser("plot", help="plot a sweep store (speedup, energy, pareto, scaling, heatmap)")
    pl.add_argument("store")
    pl.add_argument("--kind", required=True, choices=_PLOT_KINDS)
    pl.add_argument("--x", metavar="FIELD", help="category / x field (default: the first axis)")
    pl.add_argument("--y", metavar="METRIC", help="metric (default: total_cycles; pareto: total_energy_pj)")
    pl.add_argument("--hue", metavar="FIELD",
                    help="series field (heatmap: the vertical field; default: workload.sparsity or the 2nd axis)")
    pl.add_argument("--baseline", metavar="VALUE", help="speedup: hue value to divide by (default: dense)")
    pl.add_argument("--area", metavar="FIELD",
                    help="pareto: area field, a third objective (default: the store's synthesised "
                         "area, e.g. area.xilinx.luts or the word-level area.rtlil.bit_cells)")
    pl.add_argument("--where", action="append", default=[], metavar="FIELD=VALUE", help="filter rows first")
    pl.add_argument("-o", "--output", required=True, metavar="FILE.(png|pdf|svg)")
    pl.set_defaults(func=_cmd_plot)


# ---------------------------------------------------------------------------- sweep


def _cmd_sweep(args: argparse.Namespace) -> int:
    from archsim.sweep.runner import run_sweep
    from archsim.sweep.spec import expand, load_spec, validate_workloads

    loaded = load_spec(args.spec)
    simulate_fn = _import_function(args.simulate) if args.simulate else None
    if args.dry_run:
        pts = expand(loaded)
        if simulate_fn is None:
            validate_workloads(loaded, pts)
        axes = sorted({k for p in pts for k in p.values})
        print(f"{loaded.path}: {len(pts)} points (spec hash {loaded.hash}); fields: {', '.join(axes)}")
        return 0
    store = Path(args.out) if args.out else Path("out") / "sweeps" / f"{loaded.name}.db"
    summary = run_sweep(
        loaded, store, workers=args.workers, dask_address=args.dask, dask_local=args.dask_local,
        resume=args.resume, retry_errors=args.retry_errors, simulate_fn=simulate_fn,
        dask_timeout_s=args.dask_timeout, progress=not args.no_progress and sys.stderr.isatty(),
    )
    print(summary.line())
    return 0


def _import_function(spec: str) -> Any:
    import importlib

    mod, _, name = spec.partition(":")
    if not mod or not name:
        raise InputError(f"--simulate {spec!r}: expected MODULE:FUNCTION")
    try:
        fn = getattr(importlib.import_module(mod), name)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"--simulate {spec!r}: cannot import ({exc})") from None
    if not callable(fn):
        raise InputError(f"--simulate {spec!r}: not a function")
    return fn


# ---------------------------------------------------------------------------- results

_WHERE = re.compile(r"^\s*([A-Za-z_][\w.:-]*)\s*(==|!=|<=|>=|=|<|>)\s*(.*?)\s*$")


def _coerce(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _where(filters: list[str]) -> Any:
    conds = []
    for f in filters:
        m = _WHERE.match(f)
        if not m:
            raise InputError(f"--where {f!r}: expected FIELD=VALUE (or !=, <, <=, >, >=)")
        conds.append((m.group(1), m.group(2), _coerce(m.group(3))))

    def ok(row: dict) -> bool:
        for field, op, val in conds:
            v = row.get(field)
            if op in ("=", "=="):
                if not (v == val or str(v) == str(val)):
                    return False
            elif op == "!=":
                if v == val or str(v) == str(val):
                    return False
            else:
                try:
                    good = {"<": v < val, "<=": v <= val, ">": v > val, ">=": v >= val}[op]
                except TypeError:
                    return False
                if not good:
                    return False
        return True

    return conds, ok


def _load(store: str, status: str | None, where: list[str]) -> list[dict]:
    from archsim.sweep.store import load_rows

    rows = load_rows(store, status=status)
    conds, ok = _where(where)
    if rows and conds:
        have = set().union(*(r.keys() for r in rows))
        for field, _, _ in conds:
            if field not in have:
                raise InputError(f"--where: unknown field {field!r}")
    return [r for r in rows if ok(r)]


def _cmd_export(args: argparse.Namespace) -> int:
    out = Path(args.output)
    fmt = args.format or {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(out.suffix.lower())
    if fmt is None:
        raise InputError(f"{out}: cannot tell the format from the suffix; pass --format csv|parquet")
    rows = _load(args.store, None if args.all else "ok", [])
    cols = list(dict.fromkeys(k for r in rows for k in r))
    # Keep the long JSON blobs last.
    cols = [c for c in cols if c not in ("config_json", "workload_json")] + ["workload_json", "config_json"]
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            with open(out, "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(cols)
                w.writerows(cells)
        else:
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError:
                raise InputError("--format parquet: needs pyarrow (pip install 'archsim[parquet]')") from None
            data = {c: [row[i] for row in cells] for i, c in enumerate(cols)}
            arrays = {}
            for c, vals in data.items():
                try:
                    arrays[c] = pa.array(vals)
                except (pa.ArrowInvalid, pa.ArrowTypeError):
                    arrays[c] = pa.array([None if v is None else str(v) for v in vals])
            pq.write_table(pa.table(arrays), out)
    except OSError as exc:
        raise InputError(f"{out}: cannot write ({exc.strerror})") from None
    print(f"{out}: {len(rows)} rows, {len(cols)} columns ({fmt})")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from archsim.sweep.store import check_store

    print(check_store(args.store))
    return 0


def _cell(v: Any) -> Any:
    if isinstance(v, (list, dict)):
        return json.dumps(v, sort_keys=True)
    return v


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    return "" if v is None else str(v)


def _cmd_show(args: argparse.Namespace) -> int:
    from archsim.sweep.store import read_meta

    meta = read_meta(args.store)
    axes = json.loads(meta.get("axes", "[]"))
    if args.errors:
        rows = _load(args.store, "error", args.where)
        print(f"{args.store}: {len(rows)} failed points")
        for r in rows[: args.top]:
            print(f"  {r['point_key'][:12]}  {r.get('workload_json')}  {r.get('error')}")
        return 0
    all_rows = _load(args.store, None, [])
    rows = _load(args.store, "ok", args.where)
    n_err = sum(1 for r in all_rows if r["status"] == "error")
    if rows and args.by not in set().union(*(r.keys() for r in rows)):
        raise InputError(f"--by: unknown metric {args.by!r}")
    rows = [r for r in rows if isinstance(r.get(args.by), (int, float)) and not (
        isinstance(r.get(args.by), float) and math.isnan(r[args.by]))]
    rows.sort(key=lambda r: r[args.by], reverse=args.desc)
    cols = ["point_key"] + [a for a in axes if a != args.by] + list(
        dict.fromkeys([args.by, "total_cycles", "seconds", "total_energy_pj"]))
    table = [[_fmt(r.get(c))[:12] if c == "point_key" else _fmt(r.get(c)) for c in cols] for r in rows[: args.top]]
    print(f"{args.store}: {len(all_rows)} points ({len(all_rows) - n_err} ok, {n_err} failed); "
          f"{len(rows)} match; top {min(args.top, len(rows))} by {args.by} ({'desc' if args.desc else 'asc'})")
    widths = [max(len(c), *(len(t[i]) for t in table)) if table else len(c) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for t in table:
        print("  ".join(v.ljust(w) for v, w in zip(t, widths)))
    return 0


# ---------------------------------------------------------------------------- plot


def _cmd_plot(args: argparse.Namespace) -> int:
    from archsim import plots
    from archsim.sweep.store import read_meta

    meta = read_meta(args.store)
    axes = json.loads(meta.get("axes", "[]"))
    rows = _load(args.store, "ok", args.where)
    if not rows:
        raise InputError(f"{args.store}: no successful points to plot")
    varying = [a for a in axes if len({json.dumps(r.get(a), sort_keys=True) for r in rows}) > 1]
    if not varying:
        varying = axes[:1]

    def pick(default_order: list[str], exclude: tuple = ()) -> str | None:
        for a in default_order:
            if a and a not in exclude:
                return a
        return None

    hue_default = "workload.sparsity" if "workload.sparsity" in varying else None
    x = args.x or pick(varying, (hue_default,) if hue_default else ())
    if x is None:
        raise InputError(f"{args.store}: no axis to plot against; pass --x FIELD")
    hue = args.hue or hue_default or pick(varying, (x,))
    out = args.output
    kind = args.kind
    if kind == "speedup":
        y = args.y or "total_cycles"
        if hue is None:
            raise InputError("plot --kind speedup: needs --hue (the field holding the baseline)")
        values = {r.get(hue) for r in rows}
        baseline = args.baseline if args.baseline is not None else ("dense" if "dense" in values else None)
        if baseline is not None and baseline not in values:
            baseline = _coerce(baseline)
        if baseline is None:
            raise InputError(f"plot --kind speedup: pass --baseline (a value of {hue})")
        pair_on = [a for a in axes if a != hue] + ["workload_key"]
        for r in rows:
            wl = json.loads(r["workload_json"])
            wl.pop(hue.removeprefix("workload."), None)
            r["workload_key"] = json.dumps(wl, sort_keys=True)
        try:
            path = plots.plot_speedup(rows, x, y, hue, out, baseline=baseline, pair_on=pair_on)
        except InputError as exc:
            if "no rows pair" not in str(exc):
                raise
            # Sampled sweeps (random / lhs) rarely hold exact pairs: compare geometric means per x.
            print(f"note: no point pairs with {hue}={baseline!r} on every other axis; "
                  f"plotting ratios of geometric means per {x}", file=sys.stderr)
            path = plots.plot_speedup(rows, x, y, hue, out, baseline=baseline, pair_on=None)
    elif kind == "energy":
        path = plots.plot_energy_breakdown(rows, x, out, hue=args.hue)
    elif kind == "pareto":
        area = args.area or _default_area_field(rows)
        if area is not None and args.area is None:
            print(f"note: area from {area} (pass --area FIELD for another figure)", file=sys.stderr)
        path = plots.plot_pareto(rows, out, x=args.x or "seconds", y=args.y or "total_energy_pj",
                                 hue=args.hue, area=area)
    elif kind == "scaling":
        path = plots.plot_scaling(rows, x, args.y or "total_cycles", out, hue=hue if hue != x else None)
    else:
        if hue is None or hue == x:
            raise InputError("plot --kind heatmap: needs two fields, --x and --hue")
        path = plots.plot_heatmap(rows, x, hue, args.y or "total_cycles", out)
    print(f"{path}: {kind} plot of {len(rows)} points")
    return 0


#: Area figures a sweep with ``area:`` stores, preferred in this order for the Pareto plot:
#: technology-mapped LUTs first, the word-level estimate (``rtlil``) last.
_AREA_FIELDS = ("area.xilinx.luts", "area.ice40.luts", "area.generic.gates", "area.rtlil.bit_cells")


def _default_area_field(rows: list[dict]) -> str | None:
    for f in _AREA_FIELDS:
        if all(isinstance(r.get(f), (int, float)) for r in rows):
            return f
    return None
