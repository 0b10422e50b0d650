"""``archsim run piuma`` and ``archsim piuma compare|scaling``: thin CLI over `archsim.piuma`."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from archsim.paths import write_file as write_output
from workloads.errors import InputError, did_you_mean

__all__ = ["register_run", "register"]

#: The names the flags accept, spelled here so that a mistake is reported (with the nearest
#: name) before scipy is imported; a test checks them against `dataflow.piuma`.
KERNELS = ("spgemm", "spmv")
DATAFLOWS = {"spgemm": ("rowwise-hash", "inner", "outer"),
             "spmv": ("base", "cached", "dma", "cache-all")}
PARTITIONS = ("nnz", "cyclic", "dynamic")


def _out(path: str) -> str:
    """An output path whose folder exists (created if needed); an unwritable one is one line."""
    parent = Path(path).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{path}: cannot create its folder ({exc.strerror})") from None
    return path


def _check_name(flag: str, value: str, choices) -> None:
    if value not in choices:
        raise InputError(f"{flag}: unknown {value!r}{did_you_mean(value, choices)} "
                         f"(expected one of {', '.join(choices)})")


def _check_flags(args, dataflows: list[str | None]) -> None:
    """Kernel, dataflow(s) and partition as typed; errors name the flag."""
    _check_name("--kernel", args.kernel, KERNELS)
    flag = "--dataflows" if hasattr(args, "dataflows") else "--dataflow"
    for df in dataflows:
        if df is not None:
            _check_name(f"{flag} (for --kernel {args.kernel})", df, DATAFLOWS[args.kernel])
    _check_name("--partition", args.partition, PARTITIONS)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="piuma", help="preset name or YAML path (default: piuma)")
    p.add_argument("--cores", type=int, help="cores per die (override)")
    p.add_argument("--dies", type=int, help="dies (override)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--partition", default="nnz",
                   help="how rows are split over threads: nnz (equal non-zeros, default), cyclic "
                        "or dynamic")
    p.add_argument("--rmat-no-permute", action="store_true", dest="rmat_no_permute",
                   help="keep R-MAT's raw Kronecker vertex labels (hubs at the lowest ids) instead of Graph500's random relabelling")
    p.add_argument("--max-input-gib", type=float, dest="max_input_gib",
                   help="refuse an input matrix that needs more than this many GiB to load (default: the available memory)")
    p.add_argument("--allow-nonfinite", action="store_true", dest="allow_nonfinite",
                   help="accept NaN/Inf values in a Matrix Market file (refused by default)")


def _config(args):
    from archsim.config import load_config, with_overrides

    cfg = load_config(args.config, expect="piuma")
    for flag, field in (("cores", "cores_per_die"), ("dies", "dies"), ("detail", "sim.detail")):
        v = getattr(args, flag, None)
        if v is not None:
            cfg = with_overrides(cfg, {field: v}, where=f"--{flag} {v}")
    return cfg


def _workload(kernel, dataflow, matrix, rmat_scale, partition, edge_factor=16, permute=True, args=None):
    if matrix is not None and rmat_scale is not None:
        raise InputError("--matrix and --rmat-scale: give one input, not both")
    wl = {"kernel": kernel, "dataflow": dataflow, "partition": partition}
    if args is not None and getattr(args, "max_input_gib", None) is not None:
        if not args.max_input_gib > 0:
            raise InputError(f"--max-input-gib: must be > 0, got {args.max_input_gib}")
        wl["max_input_bytes"] = int(args.max_input_gib * (1 << 30))
    if args is not None and getattr(args, "allow_nonfinite", False):
        wl["allow_nonfinite"] = True
    if rmat_scale is not None:
        wl["rmat_scale"] = rmat_scale
        wl["rmat_edge_factor"] = edge_factor
        wl["rmat_permute"] = permute
    else:
        wl["matrix"] = matrix
    return wl


@contextmanager
def _out_of_memory(what: str):
    """A MemoryError while simulating becomes one `InputError` line (exit 2), never a traceback."""
    try:
        yield
    except MemoryError:
        raise InputError(
            f"out of memory simulating {what}; try a smaller input (--rmat-scale), smaller streamed blocks "
            "(a config with stream.block_runs lower), or the rowwise-hash dataflow") from None


def summary(res) -> str:
    m = res.metrics
    return (
        f"{res.workload} [{res.schedule}]: {res.total_cycles} cycles = {res.seconds * 1e6:.1f} us "
        f"@ {res.clock_hz / 1e9:.2f} GHz | DRAM {m['achieved_bytes_per_cycle']:.2f} B/cycle = "
        f"{100 * m['bandwidth_fraction_of_peak']:.1f}% of peak | threads busy "
        f"{100 * m['thread_utilization']:.1f}% | issue {100 * m['issue_utilization']:.1f}% | "
        f"energy {res.total_energy_pj / 1e6:.2f} uJ | sim {m['sim_events']:.0f} events in "
        f"{res.timings_s.get('wall_sim_s', 0.0):.2f} s"
    )


def _run(args) -> int:
    from archsim.hostmem import keep_freed_arrays
    from archsim.piuma.run import run_piuma

    if args.matrix is None and args.rmat_scale is None:
        raise InputError("--matrix or --rmat-scale is required")
    _check_flags(args, [args.dataflow])
    cfg = _config(args)
    wl = _workload(args.kernel, args.dataflow, args.matrix, args.rmat_scale, args.partition, args.rmat_edge_factor,
                   not args.rmat_no_permute, args)
    spgemm_out = _out(args.save_output) if (args.save_output and args.kernel == "spgemm") else None
    what = f"{args.kernel} on {args.matrix if args.matrix is not None else f'R-MAT scale {args.rmat_scale}'}"
    keep_freed_arrays()  # streamed blocks reuse the heap instead of page-faulting fresh memory
    with _out_of_memory(what):
        res, out = run_piuma(cfg, wl, seed=args.seed, keep_output=False, save_output=spgemm_out)
    print(summary(res))
    if args.json:
        write_output(args.json, res.to_json(indent=1) + "\n", "--json")
    if args.save_output and args.kernel != "spgemm":
        import numpy as np

        np.savetxt(_out(args.save_output), out)
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
    from archsim.cli.progress import bar
    from archsim.plots.piuma import plot_compare
    from archsim.piuma.run import run_piuma

    flows = _parse_list(args.dataflows)
    _check_flags(args, flows)
    cfg = _config(args)
    try:
        scales = [int(s) for s in _parse_list(args.rmat_scales or "")]
    except ValueError:
        raise InputError(f"--rmat-scales: expected comma-separated integers, got {args.rmat_scales!r}") from None
    inputs = [("matrix", m) for m in _parse_list(args.matrices or "")] + [("rmat", s) for s in scales]
    if not inputs:
        raise InputError("--matrices or --rmat-scales is required")
    rows = []
    with bar(len(inputs) * len(flows), f"{args.kernel}: {len(flows)} dataflows x "
             f"{len(inputs)} inputs", unit="run") as b:
        for kind, val in inputs:
            row = {"input": val if kind == "matrix" else f"rmat-s{val}"}
            for df in flows:
                b.set_description_str(f"{args.kernel} {df} on {row['input']}")
                wl = _workload(args.kernel, df, val if kind == "matrix" else None, val if kind == "rmat" else None, args.partition,
                               permute=not args.rmat_no_permute, args=args)
                with _out_of_memory(f"{args.kernel}/{df} on {row['input']}"):
                    res, _ = run_piuma(cfg, wl, seed=args.seed, keep_output=False)
                row[df] = res.total_cycles
                row[f"{df}:bw"] = res.metrics["bandwidth_fraction_of_peak"]
                b.update(1)
            rows.append(row)
            b.write(row["input"] + " " + " ".join(f"{df}={row[df]}" for df in flows))
    if args.out:
        plot_compare(rows, flows, _out(args.out), baseline=flows[0],
                     title=f"{args.kernel}: {flows[0]} vs the others ({cfg.name}, "
                           f"{cfg.dies}x{cfg.cores_per_die} cores)")
    if args.json:
        write_output(args.json, json.dumps(rows, indent=1) + "\n", "--json")
    return 0


def _scaling(args) -> int:
    from archsim.cli.progress import bar
    from archsim.config import with_overrides
    from archsim.plots import plot_scaling
    from archsim.piuma.run import run_piuma

    if args.matrix is None and args.rmat_scale is None:
        raise InputError("--matrix or --rmat-scale is required")
    _check_flags(args, [args.dataflow])
    cfg = _config(args)
    points = []
    specs = _parse_list(args.points)
    with bar(len(specs), f"{args.kernel} scaling", unit="point") as b:
        for spec in specs:
            dies, _, cores = spec.partition("x") if "x" in spec else ("1", "", spec)
            try:
                d_i, c_i = int(dies), int(cores)
            except ValueError:
                raise InputError(f"--points: expected CORES or DIESxCORES, got {spec!r}") from None
            c = with_overrides(cfg, {"dies": d_i, "cores_per_die": c_i}, where=f"--points {spec}")
            b.set_description_str(f"{args.kernel} on {d_i}x{c_i} cores")
            wl = _workload(args.kernel, args.dataflow, args.matrix, args.rmat_scale, args.partition, permute=not args.rmat_no_permute, args=args)
            with _out_of_memory(f"{args.kernel} at {spec}"):
                res, _ = run_piuma(c, wl, seed=args.seed, keep_output=False)
            points.append({"dies": d_i, "cores": d_i * c_i, "cycles": res.total_cycles, "bw": res.metrics["bandwidth_fraction_of_peak"]})
            b.update(1)
            b.write(f"{dies}x{cores}: {res.total_cycles} cycles, {100 * res.metrics['bandwidth_fraction_of_peak']:.1f}% of peak BW")
    if args.out:
        what = args.matrix if args.matrix else f"R-MAT scale {args.rmat_scale}"
        plot_scaling(points, "cores", "cycles", _out(args.out), speedup=True, ideal=True,
                     title=f"{args.kernel}/{args.dataflow} on {what} ({cfg.name})")
    if args.json:
        write_output(args.json, json.dumps(points, indent=1) + "\n", "--json")
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
