"""Where the CLI finds the modules that register sub-commands (keeps `archsim.cli` tiny)."""

from __future__ import annotations

from importlib import import_module
from typing import Callable

#: ``archsim run <simulator>`` parsers: module, function(run_subparsers)
_RUN = [("archsim.sat.cli", "register_run"), ("archsim.piuma.cli", "register_run")]
#: top-level sub-commands: module, function(subparsers)
_TOP = [
    ("archsim.sat.cli", "register"),
    ("archsim.piuma.cli", "register"),
    ("rtl.cli", "register"),
    ("archsim.sweep.cli", "register"),
    ("archsim.dram.cli", "register"),
]


def _load(entries: list[tuple[str, str]]) -> list[Callable]:
    out = []
    for mod, fn in entries:
        module = import_module(mod)
        f = getattr(module, fn, None)
        if f is not None:
            out.append(f)
    return out


def run_hooks() -> list[Callable]:
    return _load(_RUN)


def top_hooks() -> list[Callable]:
    return _load(_TOP)
