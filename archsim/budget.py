"""Work budgets: estimate what a request costs before simulating it, and refuse what is too big.

A request that is in range field by field can still be far beyond the machine: a GEMM of 10^27
MACs, ResNet-50 at batch 10^9, an R-MAT graph of scale 22, a PIUMA fabric of 64 dies × 256
cores, a Matrix Market file announcing 10^12 rows, a sweep of a million sampled points.  Each
of these is estimated here in O(1) (from sizes, never by building the thing) and refused at
once with one line that names the estimate, the limit and how to raise it.

Two limits, both configurable through the environment:

``ARCHSIM_MAX_WORK`` (default ``2.5e6`` work units)
    A *work unit* is about one simulation event (a SAT block step, a PIUMA row or non-zero),
    25-45 µs of wall time on the 2-core reference machine (measured: a 16384³ GEMM, 32,768
    block steps, 1.5 s; 10^5 empty PIUMA rows 3.4 s; A·A on R-MAT s16, 1.1 M rows + entries,
    27 s): the default admits single simulations of up to about 1.5 minutes.
``ARCHSIM_MAX_MEMORY_BYTES`` (default 80 % of the machine's physical memory)
    The estimated peak memory of the request.
``ARCHSIM_MAX_POINTS`` (default ``200000``)
    Points of one sweep (after sampling, before constraints: what expansion must build).

The estimates are deliberately simple and stated next to each function; they are calibrated
on this machine (see BENCHMARKS.md, "Work budgets") and err on the side of letting a request
through: the goal is to refuse what could never finish, not to predict run times.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from workloads.errors import InputError

__all__ = [
    "Limits",
    "limits",
    "check_work",
    "sat_schedule_work",
    "check_sat_schedule",
    "piuma_fabric_work",
    "matrix_work",
    "mtx_header",
    "check_points",
    "check_cli_request",
]

DEFAULT_MAX_WORK = 2_500_000
DEFAULT_MAX_POINTS = 200_000
#: Bytes per PIUMA row and per stored non-zero while scheduling and simulating (CSR, task
#: arrays, demands; measured peak RSS / size on R-MAT s14-s16, rounded up).
_PIUMA_BYTES_PER_ROW = 200
#: streamed runs hold A, the plan and the blocks in flight: SpMV on R-MAT s22 peaks at ~61 B per
#: edge (the generator's temporaries dominate); rounded up
_PIUMA_BYTES_PER_NNZ = 100
#: Peak RSS of A·A on R-MAT scale 16 (BENCHMARKS.md: 0.44 GiB since the run is streamed: C is
#: never held whole), growing about ×2 per scale with A (measured ×1.6 from s14 to s16).
_RMAT_SPGEMM_S16_BYTES = 0.6e9
_RMAT_SPGEMM_GROWTH = 2.0
#: Fabric work: simulation cost grows about with the square of the core count (measured:
#: 64 cores 0.16 s, 256 cores 6.9 s on karate, mostly topology and per-thread set-up).
_FABRIC_UNITS_PER_CORE2 = 3
#: Memory per simulated hardware thread (SimPy process, queues, counters): an assumption.
BYTES_PER_THREAD = 10_000


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{name}={raw!r}: expected a number") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{name}={raw!r}: expected a finite number > 0")
    return value


def _physical_memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


class Limits:
    """The limits in force (read from the environment each time, so tests can set them)."""

    def __init__(self) -> None:
        self.max_work = _env_number("ARCHSIM_MAX_WORK", DEFAULT_MAX_WORK)
        self.max_memory_bytes = _env_number("ARCHSIM_MAX_MEMORY_BYTES", 0.8 * _physical_memory_bytes())
        self.max_points = _env_number("ARCHSIM_MAX_POINTS", DEFAULT_MAX_POINTS)


def limits() -> Limits:
    return Limits()


def _fmt(x: float) -> str:
    if x >= 1e15:
        return f"{x:.2e}"
    return f"{x:,.0f}"


def _fmt_bytes(x: float) -> str:
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20)):
        if x >= size:
            return f"{x / size:,.1f} {unit}"
    return f"{x:,.0f} B"


def check_work(what: str, work: float, memory_bytes: float = 0.0) -> None:
    """Refuse ``what`` when its estimated work or memory exceeds the limits in force."""
    lim = limits()
    if work > lim.max_work:
        raise InputError(
            f"{what}: too much work: about {_fmt(work)} simulation steps, over the limit of "
            f"{_fmt(lim.max_work)} (make it smaller, or raise ARCHSIM_MAX_WORK)")
    if memory_bytes > lim.max_memory_bytes:
        raise InputError(
            f"{what}: needs about {_fmt_bytes(memory_bytes)} of memory, over the limit of "
            f"{_fmt_bytes(lim.max_memory_bytes)} (make it smaller, or raise ARCHSIM_MAX_MEMORY_BYTES)")


# ----------------------------------------------------------------------------------------- SAT


def sat_schedule_work(schedule: Any) -> tuple[int, int]:
    """(block steps, bytes) of simulating a SAT schedule: every GEMM instance is walked block
    step by block step (one SimPy event each), and its (m, n) block grid is materialised."""
    steps = 0
    grid = 0
    for p in schedule.plans:
        nm, nk, nn = -(-p.m // p.m_blk), -(-p.k // p.k_blk), -(-p.n // p.n_blk)
        steps += p.count * nm * nk * nn
        grid = max(grid, nm * nn + nm + nk + nn)
    return steps, 100 * grid


def check_sat_schedule(schedule: Any) -> None:
    """Refuse a SAT schedule whose simulation would exceed the work or memory budget."""
    steps, mem = sat_schedule_work(schedule)
    check_work(f"workload {schedule.workload}", steps, mem)


# --------------------------------------------------------------------------------------- PIUMA


def piuma_fabric_work(cores: int, threads_per_core: int) -> float:
    """Set-up and per-thread work of a fabric of ``cores`` cores (see `_FABRIC_UNITS_PER_CORE2`)."""
    return _FABRIC_UNITS_PER_CORE2 * cores * cores + cores * threads_per_core


def matrix_work(rows: int, cols: int, nnz: int, *, kernel: str = "spgemm",
                rmat_scale: int | None = None) -> tuple[float, float]:
    """(work units, bytes) of a PIUMA kernel on a ``rows`` × ``cols`` matrix with ``nnz`` entries.

    Work: one unit per row and per non-zero (tasks, demands, events are per row chunk).  Memory:
    the CSR and the per-row / per-entry arrays; for A·A, the output C as well (R-MAT: the
    measured s16 figure scaled by ×5 per scale; a file: nnz²/rows products, uniform degrees).
    """
    work = float(rows) + float(nnz)
    mem = _PIUMA_BYTES_PER_ROW * float(max(rows, cols)) + _PIUMA_BYTES_PER_NNZ * float(nnz)
    if kernel == "spgemm":
        if rmat_scale is not None:
            # Up to s16 rows + nnz covers A·A (27 s measured); beyond, C outgrows A.
            mem = max(mem, _RMAT_SPGEMM_S16_BYTES * _RMAT_SPGEMM_GROWTH ** (rmat_scale - 16))
            work += float(nnz) * (2 ** max(0.0, (rmat_scale - 16) / 2) - 1)
        else:
            products = float(nnz) * float(nnz) / max(float(rows), 1.0)
            mem += 24.0 * products
            work += products / 16
    return work, mem


_SIZE_LINE = re.compile(r"^\s*([0-9]+)\s+([0-9]+)\s+([0-9]+)\s*$")


def mtx_header(path: str | Path, max_lines: int = 100_000) -> tuple[int, int, int] | None:
    """(rows, cols, entries) from a Matrix Market file's size line, reading only its head;
    ``None`` when the file cannot be read or has no plain size line (the reader reports that)."""
    p = Path(path)
    try:
        if not p.is_file():
            return None
        with open(p, "rb") as fh:
            for i, raw in enumerate(fh):
                if i >= max_lines:
                    return None
                line = raw.decode("ascii", "replace").strip()
                if i == 0 or not line or line.startswith("%"):
                    continue
                m = _SIZE_LINE.match(line)
                return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None
    except OSError:
        return None
    return None


def _matrix_path(name: str) -> Path | None:
    """A user's .mtx path (bundled names are small and need no check)."""
    if "/" in name or "\\" in name or name.endswith(".mtx"):
        return Path(name)
    return None


def check_matrix(name: str, kernel: str = "spgemm", what: str | None = None) -> None:
    p = _matrix_path(name)
    if p is None:
        return
    head = mtx_header(p)
    if head is None:
        return
    rows, cols, nnz = head
    work, mem = matrix_work(rows, cols, nnz, kernel=kernel)
    check_work(what or f"--matrix {name}: {rows:,}x{cols:,} with {nnz:,} entries", work, mem)


def check_rmat(scale: int, edge_factor: int = 16, kernel: str = "spgemm", what: str | None = None) -> None:
    if scale > 62:
        raise InputError(f"--rmat-scale: {scale} is beyond any machine (2^{scale} vertices)")
    rows = 1 << scale
    nnz = edge_factor * rows
    work, mem = matrix_work(rows, rows, nnz, kernel=kernel, rmat_scale=scale)
    check_work(what or f"--rmat-scale {scale}: {rows:,} vertices, {nnz:,} edges", work, mem)


# --------------------------------------------------------------------------------------- sweeps


def check_points(n: int, where: str) -> None:
    """Refuse a sweep of more than ``ARCHSIM_MAX_POINTS`` points before building them."""
    lim = limits()
    if n > lim.max_points:
        raise InputError(
            f"{where}: {_fmt(n)} points, over the limit of {_fmt(lim.max_points)} per sweep (split "
            f"the sweep, or raise ARCHSIM_MAX_POINTS)")


# ---------------------------------------------------------------------------------- CLI hook


def _piuma_config(args: Any) -> Any:
    from archsim.config import load_config

    return load_config(getattr(args, "config", None) or "piuma", expect="piuma")


def check_cli_request(args: Any) -> None:
    """The CLI's one-line hook: estimate a parsed command's work before it runs.

    PIUMA commands: fabric size (``--cores``/``--dies``/``--points``), ``--rmat-scale(s)``, and
    the size line of each ``--matrix``/``--matrices`` file.  SAT work is checked exactly on the
    schedule (`check_sat_schedule`, called by the simulator), sweeps on their point count.
    """
    command = getattr(args, "command", None)
    simulator = getattr(args, "simulator", None)
    if not (command == "piuma" or (command == "run" and simulator == "piuma")):
        return
    kernel = getattr(args, "kernel", "spgemm") or "spgemm"
    cfg = _piuma_config(args)
    cores_per_die = getattr(args, "cores", None) or cfg.cores_per_die
    dies = getattr(args, "dies", None) or cfg.dies
    fabrics = [(dies, cores_per_die)]
    points = getattr(args, "points", None)
    if getattr(args, "piuma_command", None) == "scaling" and isinstance(points, str):
        fabrics = []
        for spec in (x.strip() for x in points.split(",") if x.strip()):
            d, _, c = spec.partition("x") if "x" in spec else ("1", "", spec)
            fabrics.append((int(d), int(c)))
    for d, c in fabrics:
        cores = d * c
        check_work(f"fabric of {d} dies x {c} cores", piuma_fabric_work(cores, cfg.threads_per_core),
                   BYTES_PER_THREAD * cores * cfg.threads_per_core)
    scales = []
    if getattr(args, "rmat_scale", None) is not None:
        scales.append(args.rmat_scale)
    for s in (getattr(args, "rmat_scales", None) or "").split(","):
        if s.strip():
            from archsim.cli._checks import ascii_int

            scales.append(ascii_int(s, "--rmat-scales"))
    edge_factor = getattr(args, "rmat_edge_factor", 16) or 16
    for s in scales:
        check_rmat(s, edge_factor, kernel)
    names = []
    if getattr(args, "matrix", None):
        names.append(args.matrix)
    names += [m for m in (getattr(args, "matrices", None) or "").split(",") if m]
    for name in names:
        check_matrix(name, kernel)
