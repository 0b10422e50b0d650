"""``archsim rtl export|synth``: Verilog and synthesis statistics of the sparse MAC array.

* ``archsim rtl export --rows R --cols C --nm N:M [--width 8|16] [--acc-width A]
  [--dataflow ws|os] [--flatten] -o DIR`` writes ``DIR/sparse_array.v`` and
  ``DIR/sparse_array.json`` (parameters, ports, timing).
* ``archsim rtl synth --rows R --cols C --nm N:M [...] [--target generic|ice40|xilinx|rtlil ...]
  [--json FILE]`` prints cells / LUTs / FFs / multipliers (DSPs) per target.

``--nm dense`` (= 1:1) builds a one-multiplier PE; a dense array with the datapath of an N:M
instance is ``--nm M:M`` (for instance ``4:4``), or an N:M instance fed identity positions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workloads.errors import InputError
from workloads.sparsity import parse_nm

__all__ = ["register", "build_array"]


def _add_array_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rows", type=int, required=True, help="PE rows R")
    p.add_argument("--cols", type=int, required=True, help="PE columns C")
    p.add_argument("--nm", required=True, help="N:M the PE is built for (N multipliers, "
                   "M-wide window), or 'dense' (1:1)")
    p.add_argument("--width", type=int, default=8, help="signed operand width: 8 or 16 (default 8)")
    p.add_argument("--acc-width", type=int, default=32, help="accumulator width (default 32)")
    p.add_argument("--dataflow", default="ws", help="ws (weight stationary, default) or os")


def build_array(args: argparse.Namespace):
    """A `SparseArray` from parsed CLI arguments (errors name the flag)."""
    from rtl.array import SparseArray

    nm = parse_nm(args.nm)
    if args.dataflow not in ("ws", "os"):
        raise InputError(f"rtl: --dataflow must be 'ws' or 'os', got {args.dataflow!r}")
    try:
        return SparseArray(rows=args.rows, cols=args.cols, n=nm.n, m=nm.m, width=args.width,
                           acc_width=args.acc_width, dataflow=args.dataflow)
    except InputError as exc:
        # SparseArray names its parameters; the user typed flags.
        msg = str(exc).replace("SparseArray: ", "rtl: ")
        for field, flag in (("acc_width", "--acc-width"), ("rows", "--rows"), ("cols", "--cols"),
                            ("width", "--width")):
            msg = msg.replace(f"rtl: {field} ", f"rtl: {flag} ")
        raise InputError(msg) from None


def _export(args: argparse.Namespace) -> int:
    from rtl.export import export

    from archsim.paths import check_output_name

    check_output_name(args.name, "--name")  # the files stay inside -o DIR
    array = build_array(args)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise InputError(f"rtl export: -o {str(out)!r} exists and is not a directory")
    meta = export(array, out, name=args.name, flatten=args.flatten)
    print(f"wrote {out / meta['verilog']} and {out / (args.name + '.json')} "
          f"({array.rows}x{array.cols}, {array.n}:{array.m}, int{array.width}, "
          f"acc {array.acc_width}, {array.dataflow})")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from rtl.export import TARGETS, synth_stats

    targets = args.target or ["generic"]
    for t in targets:
        if t not in TARGETS:
            raise InputError(f"rtl synth: --target must be one of {sorted(TARGETS)}, got {t!r}")
    array = build_array(args)
    results = []
    for t in targets:
        res = synth_stats(array, target=t)
        results.append(res)
        keys = [k for k in ("cells", "luts", "ffs", "ff_bits", "dsps", "multipliers", "macc_cells", "carry",
                            "gates", "adders", "muxes") if k in res]
        print(f"{t:8s} ({res['tool']}): " + ", ".join(f"{k}={res[k]}" for k in keys))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"params": array.params(), "results": results},
                                              indent=1) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    """Add ``rtl export`` and ``rtl synth`` to the ``archsim`` parser."""
    rtl = subparsers.add_parser("rtl", help="Verilog export and synthesis of the sparse MAC array")
    sub = rtl.add_subparsers(dest="rtl_command", required=True)  # same parser class as `rtl`
    p = sub.add_parser("export", help="write the array's Verilog and a parameters JSON")
    _add_array_args(p)
    p.add_argument("-o", "--output", required=True, help="output directory")
    p.add_argument("--name", default="sparse_array",
                   help="top module / file name (a plain name: the files go inside -o DIR)")
    p.add_argument("--flatten", action="store_true",
                   help="one flattened module instead of one module per PE")
    p.set_defaults(func=_export)
    p = sub.add_parser("synth", help="synthesis statistics (cells, LUTs, FFs, multipliers)")
    _add_array_args(p)
    p.add_argument("--target", action="append",
                   help="generic (default), ice40, xilinx or rtlil; repeat for several")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.set_defaults(func=_synth)
