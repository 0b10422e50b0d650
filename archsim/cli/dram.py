"""``archsim dram ...``: run a DRAMsim3-format trace through the command-level model.

* ``archsim dram run TRACE --preset NAME [--json OUT] [--set timing.tFAW_tck=44 ...]``
* ``archsim dram trace OUT --pattern random --requests N``  write a synthetic trace (seeded)
* ``archsim dram presets``                     the bundled presets and their closed forms
* ``archsim dram curve --preset NAME``         loaded-latency curve (random or sequential reads)
"""

from __future__ import annotations

import json
from pathlib import Path

from workloads.errors import InputError

__all__ = ["register"]


def _overrides(items: list[str] | None) -> dict:
    import yaml

    out: dict = {}
    for item in items or []:
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise InputError(f"--set {item!r}: expected SECTION.KEY=VALUE, e.g. timing.tFAW_tck=44")
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = yaml.safe_load(val)
    return out


def _cfg(args):
    from archsim.dram.config import deep_merge, load_preset

    ov = _overrides(args.set)
    ctrl = {}
    if getattr(args, "address_map", None):
        ctrl["address_map"] = args.address_map
    if getattr(args, "controller_latency", None) is not None:
        ctrl["controller_latency_tck"] = args.controller_latency
    if ctrl:
        ov = deep_merge(ov, {"controller": ctrl})
    return load_preset(args.preset, ov or None)


def _run(args) -> int:
    from archsim.dram.model import simulate
    from archsim.dram.trace import read_trace

    cfg = _cfg(args)
    tr = read_trace(args.trace)
    if args.size is not None and args.size <= 0:
        raise InputError(f"--size: must be > 0 bytes, got {args.size}")
    r = simulate(cfg, tr.addrs, tr.writes, tr.arrivals, args.size)
    s = r.stats
    print(f"{cfg.name}: {s.requests} requests, efficiency {100 * s.efficiency:.1f} % of "
          f"{cfg.peak_bytes_per_s / 1e9:.1f} GB/s/channel, row hits {s.row_hits} misses "
          f"{s.row_misses} conflicts {s.row_conflicts}, read latency mean "
          f"{s.read_latency_mean_ns:.1f} ns from arrival (p99 {s.read_latency_p99_tck:.0f} tCK), "
          f"{s.read_latency_accepted_mean_tck * cfg.timing.tCK_ns:.1f} ns from queue entry")
    if args.json:
        out = {"trace": str(args.trace), "config": cfg.model_dump(), "stats": s.to_dict()}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


def _trace(args) -> int:
    import numpy as np

    from archsim.dram import patterns as P
    from archsim.dram.trace import write_trace

    if args.requests < 1:
        raise InputError(f"--requests: must be >= 1, got {args.requests}")
    if args.seed < 0:
        raise InputError(f"--seed: must be >= 0, got {args.seed}")
    if args.gap < 0:
        raise InputError(f"--gap: must be >= 0 clocks, got {args.gap}")
    if not 0 <= args.write_fraction <= 1:
        raise InputError(f"--write-fraction: must be in [0, 1], got {args.write_fraction}")
    if args.pattern == "random":
        a, arr = P.uniform_random(args.requests, args.seed, gap_tck=args.gap)
    else:
        a, arr = P.sequential(args.requests, gap_tck=args.gap)
    w = (P.mix_writes(args.requests, args.seed + 1, args.write_fraction)
         if args.write_fraction else np.zeros(args.requests, bool))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_trace(args.out, a, w, arr)
    print(f"wrote {args.out}: {args.requests} {args.pattern} 64 B requests, gap {args.gap} tCK")
    return 0


def _presets(args) -> int:
    from archsim.dram.config import load_preset, preset_names

    for name in preset_names():
        cfg = load_preset(name)
        cf = cfg.closed_forms()
        print(f"{name:20s} {cfg.peak_bytes_per_s / 1e9:6.1f} GB/s/ch x{cfg.organisation.channels}  "
              f"hit/closed/conflict {cf['row_hit_read_tck']}/{cf['closed_bank_read_tck']}/"
              f"{cf['row_conflict_read_tck']} tCK  random bound {100 * cf['random_read_bound']:.1f} %")
    return 0


def _curve(args) -> int:
    from archsim.dram.loaded import loaded_latency_curve

    if args.requests < 100:
        raise InputError(f"--requests: must be >= 100 per load point, got {args.requests}")
    if args.seed < 0:
        raise InputError(f"--seed: must be >= 0, got {args.seed}")
    cfg = _cfg(args)
    c = loaded_latency_curve(cfg, pattern=args.pattern, requests=args.requests, seed=args.seed)
    print("offered  achieved  latency_mean_ns  latency_p99_ns")
    for o, a, m, p in zip(c.offered, c.achieved, c.latency_mean_ns, c.latency_p99_ns):
        print(f"{o:7.3f}  {a:8.3f}  {m:15.1f}  {p:14.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(c.to_dict(), indent=2))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("dram", help="command-level DRAM model (DRAMsim3-format traces)")
    sub = p.add_subparsers(dest="dram_command", required=True, parser_class=type(p))

    def common(q):
        q.add_argument("--preset", required=True, help="preset name or YAML file")
        q.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                       help="override a preset field, e.g. timing.tFAW_tck=44 (repeatable)")
        q.add_argument("--address-map", help="field string MSB->LSB, e.g. 'ro ch ra ba co bg'")
        q.add_argument("--controller-latency", type=int, metavar="TCK",
                       help="controller latency added to every completion (tCK)")
        q.add_argument("--json", metavar="OUT", help="write the result as JSON")

    r = sub.add_parser("run", help="run a trace ('0xADDR READ|WRITE CYCLE' per line)")
    r.add_argument("trace")
    common(r)
    r.add_argument("--size", type=int, metavar="BYTES",
                   help="bytes per request (default one burst); smaller requests waste the rest")
    r.set_defaults(func=_run)
    t = sub.add_parser("trace", help="write a synthetic trace (the reference traces' shapes)")
    t.add_argument("out")
    t.add_argument("--pattern", choices=("random", "sequential"), default="random")
    t.add_argument("--requests", type=int, default=100_000)
    t.add_argument("--gap", type=int, default=0, metavar="TCK",
                   help="clocks between requests (0 = saturated replay)")
    t.add_argument("--write-fraction", type=float, default=0.0,
                   help="probability that a request is a write (1/3 = 2R:1W)")
    t.add_argument("--seed", type=int, default=1)
    t.set_defaults(func=_trace)
    ps = sub.add_parser("presets", help="list the bundled presets")
    ps.set_defaults(func=_presets)
    c = sub.add_parser("curve", help="loaded-latency curve of a preset")
    common(c)
    c.add_argument("--pattern", choices=("random", "sequential"), default="random")
    c.add_argument("--requests", type=int, default=8000)
    c.add_argument("--seed", type=int, default=1)
    c.set_defaults(func=_curve)
