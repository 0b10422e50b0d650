"""Mutation check of the RTL tests: plant bugs in the circuit, report that the suite catches each.

Each mutant is a small textual change to ``rtl/*.py`` (an odd-width adder tree, an off-by-one
mux select, a truncated accumulator, the OS drain hold removed or shortened, a valid/ready
slip, ...).  For every mutant the repository is copied into a temporary folder (sources only),
the change is applied there, and the suite's RTL checks run on the copy in two stages, stopping
at the first failure:

1. ``tests/test_rtl_pe.py`` (Amaranth's simulator, seconds),
2. the cocotb tests on Icarus (``tests/rtl/test_cocotb_array.py -m "rtl and not verilator"``).

A mutant is *caught* when a test fails; the first failing test is reported.  ``--old-suite``
also runs only the tests that existed before issue #12 (power-of-two N:M, no 1-wide arrays,
accumulators <= 48 bits) to show which mutants the new configurations were needed for.
Not part of CI (several minutes per mutant that survives stage 1).

Run:  PYTHONPATH=$PWD .venv/bin/python benchmarks/rtl_mutants.py [--only M1,M5] [--old-suite]
      [--icarus-only] [--out out/bench/rtl_mutants.json]
Prints one line per mutant and a summary line ``summary: N/M mutants caught``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    key: str
    what: str
    file: str
    edits: tuple[tuple[str, str], ...]  # (exact text, replacement), each must occur once


MUTANTS = [
    Mutant("M1", "adder tree drops the odd product (odd N)", "rtl/pe.py",
           (("        if len(terms) % 2:\n            nxt.append(terms[-1])\n", ""),)),
    Mutant("M2", "index bits floor(log2 M) instead of ceil (non-power-of-two M)", "rtl/layouts.py",
           (("return max(0, math.ceil(math.log2(m))) if m > 1 else 0",
             "return max(1, int(math.log2(m))) if m > 1 else 0"),)),
    Mutant("M3", "mux select off by one on the top window lane (idx M-1 reads M-2)", "rtl/pe.py",
           (("from amaranth.hdl import Module, Signal, signed, unsigned",
             "from amaranth.hdl import Module, Mux, Signal, signed, unsigned"),
            ("a = window[wt.idx[p]] if mm > 1 else window[0]",
             "a = window[Mux(wt.idx[p] == mm - 1, mm - 2, wt.idx[p])] if mm > 1 else window[0]"))),
    Mutant("M4", "OS accumulator register truncated to 32 bits", "rtl/pe.py",
           (("acc = Signal(signed(self._acc_width))", "acc = Signal(signed(min(self._acc_width, 32)))"),)),
    Mutant("M5", "product register one bit narrow (2w-1 bits)", "rtl/pe.py",
           (('prod = Signal(signed(2 * len(a)), name=f"prod{p}")',
             'prod = Signal(signed(2 * len(a) - 1), name=f"prod{p}")'),)),
    Mutant("M6", "OS short-tile hold removed (last step not held for the drain chain)", "rtl/array.py",
           (("m.d.comb += act.ready.eq((~act.payload.first | (since_first >= R))\n"
             "                                 & (~act.payload.last | (since_last >= R)))",
             "m.d.comb += act.ready.eq(~act.payload.first | (since_first >= R))"),)),
    Mutant("M7", "OS hold one cycle short (drains R-1 apart)", "rtl/array.py",
           (("& (~act.payload.last | (since_last >= R)))", "& (~act.payload.last | (since_last >= R - 1)))"),)),
    Mutant("M8", "OS tiles spaced one cycle too far (counters restart at 0): timing only", "rtl/array.py",
           (("                m.d.sync += cnt.eq(1)\n", "                m.d.sync += cnt.eq(0)\n"),)),
    Mutant("M9", "WS valid/ready slip: a tile's first step waits a cycle for a same-cycle last "
           "weight beat", "rtl/array.py",
           (("act.ready.eq(~act.payload.first | full_now),",
             "act.ready.eq(~act.payload.first | (pending == R)),"),)),
    Mutant("M10", "OS drain stops one row early", "rtl/array.py",
           (("                with m.If(j == R - 1):\n", "                with m.If(j == R - 2):\n"),)),
    Mutant("M11", "WS partial sum of the top row not cleared (psum_in of row 0 = its own output)",
           "rtl/array.py",
           (("m.d.comb += pes[0][c].psum_in.eq(0)", "m.d.comb += pes[0][c].psum_in.eq(pes[0][c].psum_out)"),)),
]

#: The RTL tests that existed before issue #12 (for ``--old-suite``).
OLD_PE = ("not odd_shapes and not 3:8 and not 2:3 and not 3:6 and not 5:5 and not 7:8")
OLD_ICARUS = " or ".join(["ws_4x4_2of4_w8", "ws_3x5_1of4_w16", "ws_4x4_dense4_w8_flat",
                          "ws_8x4_2of8_w8_acc16", "ws_3x5_1of8_w8", "ws_4x4_4of8_w16",
                          "os_4x4_2of4_w8", "os_3x5_4of8_w16", "os_8x4_1of8_w8_acc20",
                          "os_4x4_dense4_w8"])


def copy_repo(dst: Path) -> None:
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(
        ".git", "build", "out", ".venv", ".benchvenv", "__pycache__", "*.pyc", "*.db"))


def apply(m: Mutant, root: Path) -> None:
    path = root / m.file
    text = path.read_text()
    for old, new in m.edits:
        if text.count(old) != 1:
            raise SystemExit(f"{m.key}: the text to mutate occurs {text.count(old)} times in "
                             f"{m.file} (the circuit changed; update the mutant)")
        text = text.replace(old, new)
    path.write_text(text)


def run_stage(root: Path, args: list[str], timeout_s: float) -> tuple[bool, str, float]:
    """(passed, first failing test or '', seconds) of one pytest run on the copy."""
    env = {**os.environ, "PYTHONPATH": str(root), "ARCHSIM_RTL_BUILD": str(root / "build" / "rtl")}
    weights = _weights_dir()
    if weights:
        env["ARCHSIM_WEIGHTS_DIR"] = str(weights)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                               "-o", "addopts=", *args], cwd=root, env=env, capture_output=True,
                              text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False, f"timeout after {timeout_s:.0f} s", time.perf_counter() - t0
    dt = time.perf_counter() - t0
    if proc.returncode == 0:
        return True, "", dt
    failed = [ln.split(" ", 1)[1].split(" - ")[0] for ln in proc.stdout.splitlines()
              if ln.startswith(("FAILED tests/", "ERROR tests/"))]
    return False, failed[0] if failed else f"pytest exit {proc.returncode}", dt


def _weights_dir() -> Path | None:
    sys.path.insert(0, str(ROOT / "tests" / "rtl"))
    try:
        from scenarios import weights_dir  # type: ignore[import-not-found]

        return weights_dir()
    finally:
        sys.path.pop(0)


def check(m: Mutant | None, *, old: bool, timeout_s: float, icarus_only: bool = False) -> dict:
    """Run the two stages on a copy with ``m`` applied (None: the unmutated baseline);
    ``icarus_only`` skips stage 1 (shows what the cocotb tests catch on their own)."""
    with tempfile.TemporaryDirectory(prefix="archsim_mutant_") as tmp:
        root = Path(tmp) / "repo"
        copy_repo(root)
        if m is not None:
            apply(m, root)
        rec: dict = {}
        if not icarus_only:
            pe_args = ["tests/test_rtl_pe.py"] + (["-k", OLD_PE] if old else [])
            ok, fail, t1 = run_stage(root, pe_args, timeout_s)
            rec["stage1_s"] = round(t1, 1)
            if not ok:
                return {**rec, "caught": True, "by": fail, "stage": "amaranth-sim"}
        ic_args = ["tests/rtl/test_cocotb_array.py", "-m", "rtl and not verilator"]
        if old:
            ic_args += ["-k", OLD_ICARUS]
        ok, fail, t2 = run_stage(root, ic_args, timeout_s)
        rec["stage2_s"] = round(t2, 1)
        return {**rec, "caught": not ok, "by": fail, "stage": "icarus" if not ok else ""}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="comma-separated mutant keys (default: all)")
    ap.add_argument("--old-suite", action="store_true",
                    help="also run the pre-#12 tests on each mutant")
    ap.add_argument("--icarus-only", action="store_true",
                    help="skip the Amaranth-simulator stage: what the cocotb tests catch alone")
    ap.add_argument("--baseline", action="store_true",
                    help="first check that the unmutated copy passes (slow: the whole RTL suite)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per stage")
    ap.add_argument("--out", default="out/bench/rtl_mutants.json")
    args = ap.parse_args()
    todo = MUTANTS
    if args.only:
        keys = set(args.only.split(","))
        todo = [m for m in MUTANTS if m.key in keys]
    rows = []
    if args.baseline:
        base = check(None, old=False, timeout_s=args.timeout)
        print(f"baseline (no mutation): {'FAILS: ' + base['by'] if base['caught'] else 'passes'}",
              flush=True)
        if base["caught"]:
            return 1
    for m in todo:
        new = check(m, old=False, timeout_s=args.timeout, icarus_only=args.icarus_only)
        rec = {"key": m.key, "what": m.what, "file": m.file, **new}
        line = (f"{m.key:<4} {'CAUGHT' if new['caught'] else 'SURVIVED':<8} {m.what}"
                f"  [{new['stage']}: {new['by']}]")
        if args.old_suite:
            old = check(m, old=True, timeout_s=args.timeout, icarus_only=args.icarus_only)
            rec["old_suite"] = old
            line += f"  old suite: {'caught' if old['caught'] else 'missed'}"
        print(line, flush=True)
        rows.append(rec)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    caught = sum(r["caught"] for r in rows)
    extra = ""
    if args.old_suite:
        extra = f"; the pre-#12 tests catch {sum(r['old_suite']['caught'] for r in rows)}"
    print(f"summary: {caught}/{len(rows)} mutants caught{extra}")
    return 0 if caught == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
