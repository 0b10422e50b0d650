"""Command-line front of the SAT simulator: ``run sat``, ``schedule``, ``workloads``, ``demo``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from workloads.errors import InputError, did_you_mean

__all__ = ["register_run", "register"]


def _add_workload_args(p: argparse.ArgumentParser, *, replay: bool = False) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="model from the zoo (resnet18, resnet50, vgg16, vit_b_16, "
                                     "bert_base, gpt2) or an ONNX file (PATH.onnx; --batch "
                                     "binds a dynamic batch dim)")
    src.add_argument("--gemm", metavar="M,K,N", help="a single GEMM out[M,N] = A[M,K]·B[K,N]")
    if replay:
        src.add_argument("--schedule", metavar="FILE",
                         help="replay a schedule saved by `archsim schedule --json`")
    p.add_argument("--batch", type=int, default=32, help="batch size (models; default 32)")
    p.add_argument("--sparsity", default="dense", help="N:M ratio such as 2:8, or 'dense'")
    p.add_argument("--dataflow", choices=["auto", "ws", "os"], default=None,
                   help="force a dataflow (default: the config's schedule.dataflow)")
    p.add_argument("--config", default="sat", help="config YAML file or preset name (default sat)")
    p.add_argument("--rows", type=int, help="override array.rows")
    p.add_argument("--cols", type=int, help="override array.cols")
    p.add_argument("--multipliers", type=int, help="override array.multipliers_per_pe")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override any config field by dotted path (YAML value), repeatable")


def _config(args: argparse.Namespace):
    """The config with the flags applied; a bad value names the flag the user typed."""
    from archsim.config import load_config, with_overrides, yaml_value

    cfg = load_config(args.config, expect="sat")
    for flag, path in (("rows", "array.rows"), ("cols", "array.cols"),
                       ("multipliers", "array.multipliers_per_pe")):
        v = getattr(args, flag, None)
        if v is None:
            continue
        over: dict[str, Any] = {path: v}
        if flag == "multipliers":
            over["array.window"] = max(v, cfg.array.window)
        cfg = with_overrides(cfg, over, where=f"--{flag} {v}")
    sets: dict[str, Any] = {}
    for item in args.set:
        if "=" not in item:
            raise InputError(f"--set: expected FIELD=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        sets[k.strip()] = yaml_value(v, f"--set {k.strip()}")
    if sets:
        cfg = with_overrides(cfg, sets, where="--set")
    return cfg


def _workload(args: argparse.Namespace) -> dict[str, Any]:
    w: dict[str, Any] = {"sparsity": args.sparsity}
    if args.model:
        from workloads.dnn.zoo import MODELS

        if args.model not in MODELS and not str(args.model).lower().endswith(".onnx"):
            raise InputError(f"--model: unknown {args.model!r}{did_you_mean(args.model, MODELS)} "
                             f"(choose one of {', '.join(MODELS)}, or give a PATH.onnx)")
        w["model"] = args.model
        w["batch"] = args.batch
    else:
        w["gemm"] = args.gemm
    if args.dataflow:
        w["dataflow"] = args.dataflow
    return w


def _fmt_int(x: float) -> str:
    return f"{int(round(x)):,}"


def summary_text(r, dense=None) -> str:
    """Human summary of a SAT `RunResult` (and its speed-up over a dense run)."""
    lines = [
        f"workload          {r.workload}",
        f"total cycles      {_fmt_int(r.total_cycles)}  ({r.seconds * 1e3:.3f} ms at "
        f"{r.clock_hz / 1e6:.0f} MHz)",
        "per pass          " + ", ".join(f"{k} {_fmt_int(v)}" for k, v in r.phase_cycles.items()),
        "utilization       " + ", ".join(f"{k} {v:.1%}" for k, v in sorted(r.utilization.items())),
        f"multipliers       {r.metrics['multiplier_utilization']:.1%} of peak",
        f"array stalls      input {_fmt_int(r.metrics['array_stall_input_cycles'])}, "
        f"output {_fmt_int(r.metrics['array_stall_output_cycles'])} cycles",
        f"DRAM              read {r.bytes_moved.get('dram_read', 0) / 1e6:,.1f} MB, write "
        f"{r.bytes_moved.get('dram_write', 0) / 1e6:,.1f} MB "
        f"({r.metrics['dram_bandwidth_fraction']:.1%} of peak bandwidth)",
        f"energy            {r.total_energy_pj / 1e9:,.3f} mJ: " + ", ".join(
            f"{k} {v / 1e9:,.3f}" for k, v in sorted(r.energy_pj.items(), key=lambda kv: -kv[1])),
    ]
    if dense is not None:
        lines.append(f"speedup vs dense  {dense.total_cycles / r.total_cycles:.3f}x "
                     f"(dense {_fmt_int(dense.total_cycles)} cycles); energy "
                     f"{dense.total_energy_pj / r.total_energy_pj:.3f}x lower")
    return "\n".join(lines)


def _simulate(cfg, w: dict[str, Any], seed: int, label: str):
    """Schedule and simulate one workload, with a progress bar over its GEMMs when on a terminal
    (weighted by the scheduler's cycle estimates, in simulated cycles); the same steps as
    `archsim.sat.run.simulate_sat`."""
    from archsim.cli.progress import bar
    from archsim.sat.run import make_schedule, run_schedule

    sched = make_schedule(cfg, w)
    plans = sched.plans
    if len(plans) < 2:
        return run_schedule(cfg, sched, seed=seed)
    weight = [max(p.est_cycles, 1) for p in plans]
    with bar(sum(weight), f"simulating {label} ({len(plans)} GEMMs)", unit="cycle") as b:
        return run_schedule(cfg, sched, seed=seed, on_gemm_done=lambda i: b.update(weight[i]))


def _cmd_run(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if getattr(args, "schedule", None):
        return _replay(cfg, args)
    w = _workload(args)
    r = _simulate(cfg, w, args.seed, args.sparsity)
    dense = None
    if args.compare_dense:
        dense = _simulate(cfg, {**w, "sparsity": "dense"}, args.seed, "dense")
        metrics = dict(r.metrics)
        metrics["speedup_vs_dense"] = dense.total_cycles / r.total_cycles
        metrics["energy_ratio_vs_dense"] = dense.total_energy_pj / r.total_energy_pj
        from dataclasses import replace

        r = replace(r, metrics=metrics)
    if args.area:
        r = _with_area(r, cfg, args.area)
    print(summary_text(r, dense))
    if r.area:
        print("area              " + ", ".join(f"{k} {v:,}" for k, v in sorted(r.area.items())))
    if args.json:
        _write(args.json, r.to_json(indent=2))
    return 0


def _with_area(r, cfg, path: str):
    from archsim.sat.run import attach_area

    from archsim.paths import read_text

    try:
        synth = json.loads(read_text(path, "synthesis JSON"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(synth, dict):
        raise InputError(f"{path}: expected the JSON written by `archsim rtl synth --json`")
    return attach_area(r, cfg, synth, where=path)


def _replay(cfg, args: argparse.Namespace) -> int:
    from archsim.sat.run import run_schedule
    from dataflow.sat import Schedule

    if args.compare_dense:
        raise InputError("--compare-dense: not available with --schedule (a schedule has one N:M)")
    from archsim.paths import read_text

    text = read_text(args.schedule, "schedule")
    sched = Schedule.from_json(text)
    if sched.array != cfg.array_shape or sched.memory != cfg.memory_shape:
        raise InputError(f"{args.schedule}: the schedule was made for another array or memory "
                         f"shape than the config's (array {sched.array} vs {cfg.array_shape})")
    r = run_schedule(cfg, sched, seed=args.seed)
    print(summary_text(r))
    if args.json:
        _write(args.json, r.to_json(indent=2))
    return 0


def _write(path: str, text: str) -> None:
    p = Path(path)
    try:
        if p.parent and not p.parent.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text + "\n")
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror})") from None


def _cmd_schedule(args: argparse.Namespace) -> int:
    from archsim.sat.run import make_schedule

    cfg = _config(args)
    sched = make_schedule(cfg, _workload(args))
    if args.json:
        _write(args.json, sched.to_json(indent=1))
    print(f"{'#':>4} {'layer':<28} {'pass':<4} {'M':>8} {'K':>8} {'N':>7} {'cnt':>4} {'N:M':>6} "
          f"{'df':>3} {'order':>5} {'m_blk':>7} {'k_blk':>7} {'n_blk':>6} {'est cycles':>12}")
    for p in sched.plans:
        print(f"{p.index:>4} {p.layer[:28]:<28} {p.pass_:<4} {p.m:>8} {p.k:>8} {p.n:>7} "
              f"{p.count:>4} {p.nm:>6} {p.dataflow:>3} {p.loop_order:>5} {p.m_blk:>7} "
              f"{p.k_blk:>7} {p.n_blk:>6} {p.est_cycles:>12,}")
    return 0


def _cmd_layers(args: argparse.Namespace) -> int:
    from workloads.dnn import layer_table, load_model

    if args.batch < 1:
        raise InputError(f"--batch: must be >= 1, got {args.batch}")
    model = load_model(args.model, batch=args.batch)
    rows = layer_table(model, args.batch)
    if args.json:
        for row in rows:
            for g in row["gemms"]:
                # every training GEMM scales linearly with the batch (M or K is batch x positions)
                g["MACs_per_sample"] = g["MACs"] // args.batch
        print(json.dumps({"model": model.name, "batch": args.batch, "params": model.params,
                          "macs_per_sample": model.macs, "layers": rows}, indent=1))
        return 0
    print(f"{model.name}: {model.params:,} parameters, {model.macs / 1e9:.3f} GMACs forward "
          f"per sample; batch {args.batch}")
    print(f"{'layer':<30} {'type':<9} {'pass':<4} {'M':>9} {'N':>7} {'K':>9} {'count':>6} "
          f"{'MACs':>16}")
    for row in rows:
        for g in row["gemms"]:
            print(f"{row['name'][:30]:<30} {row['type']:<9} {g['pass']:<4} {g['M']:>9} "
                  f"{g['N']:>7} {g['K']:>9} {g['count']:>6} {g['MACs']:>16,}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from archsim.sweep.report import run_demo

    return run_demo(out=Path(args.out), models=args.models, sparsities=args.sparsities,
                    batch=args.batch, config=args.config, workers=args.workers or None)


def register_run(run_sub) -> None:
    p = run_sub.add_parser("sat", help="simulate SAT-style N:M sparse training (or one GEMM)")
    _add_workload_args(p, replay=True)
    p.add_argument("--compare-dense", action="store_true",
                   help="also run the dense baseline and report the speedup")
    p.add_argument("--seed", type=int, default=0, help="recorded in the result (default 0)")
    p.add_argument("--json", metavar="FILE", help="write the RunResult as JSON")
    p.add_argument("--area", metavar="FILE", help="attach the area of the array from the JSON of "
                   "`archsim rtl synth --json` (must be the config's rows, cols, N = "
                   "multipliers_per_pe, M = window)")
    p.set_defaults(func=_cmd_run)


def register(sub) -> None:
    p = sub.add_parser("schedule", help="print (and save) the offline schedule of a SAT workload")
    _add_workload_args(p)
    p.add_argument("--json", metavar="FILE", help="write the schedule as JSON")
    p.set_defaults(func=_cmd_schedule)

    w = sub.add_parser("workloads", help="inspect workloads")
    wsub = w.add_subparsers(dest="what", required=True, parser_class=sub._parser_class)
    lp = wsub.add_parser("layers", help="per layer: the three training GEMMs (M, N, K, MACs)")
    lp.add_argument("model", help="zoo name (resnet18, resnet50, vgg16, vit_b_16, bert_base, "
                                   "gpt2) or PATH.onnx")
    lp.add_argument("--batch", type=int, default=1,
                    help="samples per iteration; GEMM shapes and MACs are for the whole batch "
                         "(default 1)")
    lp.add_argument("--json", action="store_true",
                    help="print JSON instead of a table: {model, batch, params, macs_per_sample, "
                         "layers: [{name, type, ..., gemms: [{pass, M, N, K, count, MACs, "
                         "MACs_per_sample, ...}]}]}")
    lp.set_defaults(func=_cmd_layers)
    from archsim.cli.onnx_import import register_import

    register_import(wsub)

    d = sub.add_parser("demo", help="main job: dense vs N:M training on several models as the "
                                    "bundled sweep demo_training (store, table, plots)")
    d.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    d.add_argument("--models", nargs="+", default=["resnet18", "resnet50", "vgg16", "vit_b_16"])
    d.add_argument("--sparsities", nargs="+", default=["dense", "1:4", "2:4", "2:8", "1:8"])
    d.add_argument("--batch", type=int, default=32)
    d.add_argument("--config", default="sat")
    d.add_argument("--workers", type=int, default=0,
                   help="worker processes of the sweep runner (default 0: all cores)")
    d.set_defaults(func=_cmd_demo)

