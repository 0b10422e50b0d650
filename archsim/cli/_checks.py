"""Checks of the argument values every command shares, run by `archsim.cli.main` before a
command starts: ``--seed``, ``--workers``, ``--dask``, ``--dask-timeout``, ``--points``,
``--gemm``, ``--batch``, output names, and the work budgets of `archsim.budget`.

Each check looks at an attribute only when the command defines it, so a new command gets them
for free; a bad value is an `InputError` naming the flag, before anything runs or is written.
"""

from __future__ import annotations

import argparse
import math
import os
import re

from workloads.errors import InputError

__all__ = ["check_args", "ascii_int"]

#: Seeds are numpy ``SeedSequence`` entropy: non-negative, and kept within 64 bits here.
_MAX_SEED = 2**63 - 1
_DASK_ADDRESS = re.compile(r"^(?:(tcp|tls|inproc|ucx|ws|wss)://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")
_POINT = re.compile(r"^[0-9]+(?:x[0-9]+)?$")


def _max_processes() -> int:
    """Local worker processes allowed: 8 per core (at least 16), or ``ARCHSIM_MAX_PROCESSES``."""
    raw = os.environ.get("ARCHSIM_MAX_PROCESSES", "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise InputError(f"ARCHSIM_MAX_PROCESSES={raw!r}: expected an integer >= 1")
        return int(raw)
    return max(16, 8 * (os.cpu_count() or 1))


def ascii_int(text: str, flag: str) -> int:
    """An integer written with ASCII digits (``int()`` would accept ``'١٢'``)."""
    t = text.strip()
    if not t or not re.fullmatch(r"[+-]?[0-9]+", t):
        raise InputError(f"{flag}: expected an integer written with digits 0-9, got {text!r}")
    return int(t)


def _check_int(args: argparse.Namespace, name: str, flag: str, lo: int, hi: int | None = None) -> None:
    v = getattr(args, name, None)
    if v is None:
        return
    if v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise InputError(f"{flag}: expected an integer {rng}, got {v}")


def check_args(args: argparse.Namespace) -> None:
    """Refuse bad shared argument values (one line naming the flag), then check work budgets."""
    _check_int(args, "seed", "--seed", 0, _MAX_SEED)
    procs = _max_processes()
    for name, flag, lo in (("workers", "--workers", 0), ("dask_local", "--dask-local", 1)):
        v = getattr(args, name, None)
        if v is not None and v > procs:
            raise InputError(f"{flag}: {v} processes on this {os.cpu_count() or 1}-core machine is more than "
                             f"the limit of {procs} (set ARCHSIM_MAX_PROCESSES to raise it)")
        _check_int(args, name, flag, lo)
    _check_int(args, "batch", "--batch", 1)
    _check_int(args, "rmat_scale", "--rmat-scale", 1, 40)
    _check_int(args, "rmat_edge_factor", "--rmat-edge-factor", 1, 1 << 20)
    _check_int(args, "top", "--top", 0)
    timeout = getattr(args, "dask_timeout", None)
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise InputError(f"--dask-timeout: expected a number of seconds > 0, got {timeout}")
    address = getattr(args, "dask", None)
    if address is not None and not _DASK_ADDRESS.match(address.strip()):
        raise InputError(f"--dask: {address!r} is not a scheduler address (expected e.g. "
                         f"tcp://host:8786)")
    points = getattr(args, "points", None)
    if isinstance(points, str) and getattr(args, "piuma_command", None) == "scaling":
        items = [x for x in points.split(",") if x]
        bad = [x for x in items if not _POINT.match(x.strip())]
        if not items or bad:
            raise InputError(f"--points: expected CORES or DIESxCORES, got {(bad or [points])[0]!r} "
                             f"(a comma-separated list such as 1,2,4,2x8)")
    if getattr(args, "matrix", None) is not None and getattr(args, "rmat_scale", None) is not None:
        raise InputError("--matrix and --rmat-scale: give one of them, not both")
    gemm = getattr(args, "gemm", None)
    if isinstance(gemm, str):
        parts = gemm.split(",")
        if len(parts) != 3:
            raise InputError(f"--gemm: expected three integers M,K,N, got {gemm!r}")
        for name, part in zip("MKN", parts):
            if ascii_int(part, f"--gemm {name}") < 1:
                raise InputError(f"--gemm: {name} must be >= 1, got {part.strip()}")
    name = getattr(args, "name", None)
    if isinstance(name, str) and getattr(args, "rtl_command", None) == "export":
        from archsim.paths import check_output_name

        check_output_name(name, "--name")
    from archsim.budget import check_cli_request

    check_cli_request(args)
