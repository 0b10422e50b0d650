"""``archsim run piuma`` and ``archsim piuma compare|scaling``: thin CLI over `archsim.piuma`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workloads.errors import InputError

__all__ = ["register_run", "register"]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="piuma", help="preset name or YAML path (default: piuma)")
    p.add_argument("--cores", type=int, help="cores per die (override)")
    p.add_argument("--dies", type=int, help="dies (override)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--partition", default="nnz", help="nnz | cyclic | dynamic")
    p.add_argument("--rmat-no-permute", action="store_true", dest="rmat_no_permute",
                   help="keep R-MAT's raw Kronecker vertex labels (hubs at the lowest ids) instead of Graph500's random relabelling")


def _config(args):
    from archsim.config import load_config, with_overrides

    cfg = load_config(args.config, expect="piuma")
    ov = {}
    if getattr(args, "cores", None) is not None:
        ov["cores_per_die"] = args.cores
    if getattr(args, "dies", None) is not None:
        ov["dies"] = args.dies
    if getattr(args, "detail", None) is not None:
        ov["sim.detail"] = args.detail
    return with_overrides(cfg, ov, where="--cores/--dies/--detail") if ov else cfg


def _workload(kernel, dataflow, matrix, rmat_scale, partition, edge_factor=16, permute=True):
    wl = {"kernel": kernel, "dataflow": dataflow, "partition": partition}
    if rmat_scale is not None:
        wl["rmat_scale"] = rmat_scale
        wl["rmat_edge_factor"] = edge_factor
        wl["rmat_permute"] = permute
    else:
        wl["matrix"] = matrix
    return wl


def summary(res) -> str:
    m = res.metrics
    return (
        f"{res.workload} [{res.schedule}]: {res.total_cycles} cycles = {res.seconds * 1e6:.1f} us "
        f"@ {res.clock_hz / 1e9:.2f} GHz | DRAM {m['achieved_bytes_per_cycle']:.2f} B/cycle = "
        f"{100 * m['bandwidth_fraction_of_peak']:.1f}% of peak | threads busy "
        f"{100 * m['thread_utilization']:.1f}% | issue {100 * m['issue_utilization']:.1f}% | "
        f"energy {res.total_energy_pj / 1e6:.2f} uJ | sim {m['sim_events']:.0f} events in "
        f"{m['wall_sim_s']:.2f} s"
    )


def _run(args) -> int:
    from archsim.piuma.run import run_piuma

    if args.matrix is None and args.rmat_scale is None:
        raise InputError("--matrix or --rmat-scale is required")
    cfg = _config(args)
    wl = _workload(args.kernel, args.dataflow, args.matrix, args.rmat_scale, args.partition, args.rmat_edge_factor, not args.rmat_no_permute)
    res, out = run_piuma(cfg, wl, seed=args.seed)
    print(summary(res))
    if args.json:
        Path(args.json).write_text(res.to_json(indent=1))
    if args.save_output:
        if args.kernel == "spgemm":
            from workloads.graphs import write_mtx

            write_mtx(args.save_output, out)
        else:
            import numpy as np

            np.savetxt(args.save_output, out)
    return 0


def register_run(run_sub) -> None:
    p = run_sub.add_parser("piuma", help="simulate a sparse kernel on the PIUMA-like fabric")
    p.add_argument("--kernel", default="spgemm", help="spgemm | spmv")
    p.add_argument("--dataflow", default=None, help="rowwise-hash | inner | outer (spgemm); base | cached | dma | cache-all (spmv)")
    p.add_argument("--matrix", help="bundled name or Matrix Market path")
    p.add_argument("--rmat-scale", type=int, dest="rmat_scale")
    p.add_argument("--rmat-edge-factor", type=int, default=16, dest="rmat_edge_factor")
    p.add_argument("--json", help="write the RunResult as JSON here")
    p.add_argument("--save-output", dest="save_output", help="write C (.mtx) or y (text) here")
    p.add_argument("--detail", choices=("task", "access"), default=None,
                   help="simulation level: task (fast, default) or access (one event per memory access; small inputs)")
    _common(p)
    p.set_defaults(func=_run)


def _parse_list(s: str) -> list[str]:
    return [x for x in s.split(",") if x]


def _compare(args) -> int:
    from archsim.piuma.plots import plot_compare
    from archsim.piuma.run import run_piuma

    cfg = _config(args)
    flows = _parse_list(args.dataflows)
    inputs = [("matrix", m) for m in _parse_list(args.matrices or "")] + [("rmat", int(s)) for s in _parse_list(args.rmat_scales or "")]
    if not inputs:
        raise InputError("--matrices or --rmat-scales is required")
    rows = []
    for kind, val in inputs:
        row = {"input": val if kind == "matrix" else f"rmat-s{val}"}
        for df in flows:
            wl = _workload(args.kernel, df, val if kind == "matrix" else None, val if kind == "rmat" else None, args.partition, permute=not args.rmat_no_permute)
            res, _ = run_piuma(cfg, wl, seed=args.seed)
            row[df] = res.total_cycles
            row[f"{df}:bw"] = res.metrics["bandwidth_fraction_of_peak"]
        rows.append(row)
        print(row["input"], " ".join(f"{df}={row[df]}" for df in flows), file=sys.stdout)
    if args.out:
        plot_compare(rows, flows, args.out, baseline=flows[0])
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def _scaling(args) -> int:
    from archsim.config import with_overrides
    from archsim.piuma.plots import plot_scaling
    from archsim.piuma.run import run_piuma

    cfg = _config(args)
    points = []
    for spec in _parse_list(args.points):
        dies, _, cores = spec.partition("x") if "x" in spec else ("1", "", spec)
        c = with_overrides(cfg, {"dies": int(dies), "cores_per_die": int(cores)}, where="--points")
        wl = _workload(args.kernel, args.dataflow, args.matrix, args.rmat_scale, args.partition, permute=not args.rmat_no_permute)
        res, _ = run_piuma(c, wl, seed=args.seed)
        points.append({"dies": int(dies), "cores": int(dies) * int(cores), "cycles": res.total_cycles, "bw": res.metrics["bandwidth_fraction_of_peak"]})
        print(f"{dies}x{cores}: {res.total_cycles} cycles, {100 * res.metrics['bandwidth_fraction_of_peak']:.1f}% of peak BW")
    if args.out:
        plot_scaling(points, args.out, title=f"{args.kernel}/{args.dataflow}")
    if args.json:
        Path(args.json).write_text(json.dumps(points, indent=1))
    return 0


def register(sub) -> None:
    top = sub.add_parser("piuma", help="PIUMA-like fabric: dataflow comparison and scaling plots")
    psub = top.add_subparsers(dest="piuma_command", required=True, parser_class=type(top))
    c = psub.add_parser("compare", help="cycles of several dataflows over a set of matrices")
    c.add_argument("--kernel", default="spgemm")
    c.add_argument("--dataflows", default="rowwise-hash,inner,outer")
    c.add_argument("--matrices", help="comma-separated bundled names or paths")
    c.add_argument("--rmat-scales", dest="rmat_scales", help="comma-separated R-MAT scales")
    c.add_argument("--out", help="PNG path of the speedup plot")
    c.add_argument("--json", help="write the table as JSON here")
    _common(c)
    c.set_defaults(func=_compare)
    s = psub.add_parser("scaling", help="cycles over the number of cores (and dies)")
    s.add_argument("--kernel", default="spgemm")
    s.add_argument("--dataflow", default=None)
    s.add_argument("--matrix")
    s.add_argument("--rmat-scale", type=int, dest="rmat_scale")
    s.add_argument("--points", default="1,2,4,8,2x8", help="cores per die, or DIESxCORES")
    s.add_argument("--out", help="PNG path of the scaling plot")
    s.add_argument("--json")
    _common(s)
    s.set_defaults(func=_scaling)
