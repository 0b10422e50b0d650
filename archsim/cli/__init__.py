"""The ``archsim`` command line: a thin layer over the public API.

Every command lives in this package, one module per concern; the simulators, the sweep layer
and the RTL never import the CLI:

* ``archsim run sat ...``, ``schedule``, ``workloads``, ``demo``  (`archsim.cli.sat`)
* ``archsim run piuma ...``, ``piuma compare|scaling``            (`archsim.cli.piuma`)
* ``archsim rtl export|synth``     Verilog and synthesis statistics (`archsim.cli.rtl`)
* ``archsim sweep|results|plot``   design-space sweeps, the result store, plots (`archsim.cli.sweep`)

Each module has ``register(subparsers)`` (top-level commands) and, for simulators,
``register_run(run_subparsers)``; `_COMMANDS` lists them explicitly and a missing module or
function is an `ImportError`/`AttributeError` at parser build time (a test builds the parser), never
a silently dropped sub-command.

User mistakes (`InputError`, a missing file) print ``error: <one line>`` on stderr and exit 2,
without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from workloads.errors import InputError

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{self.prog}: {message}")


#: (module, register functions it must define): ``register_run`` adds to ``archsim run``.
_COMMANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("archsim.cli.sat", ("register_run", "register")),
    ("archsim.cli.piuma", ("register_run", "register")),
    ("archsim.cli.rtl", ("register",)),
    ("archsim.cli.sweep", ("register",)),
)


class _VersionAction(argparse.Action):
    """``--version``: looks the installed version up only when asked (importlib.metadata is slow)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="show the version and exit"):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0,
                         help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from archsim.results import package_version

        print(f"archsim {package_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    from importlib import import_module

    parser = _Parser(prog="archsim", description="Sparse-hardware co-design simulator.")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run one simulation")
    run_sub = run.add_subparsers(dest="simulator", required=True, parser_class=_Parser)
    for modname, functions in _COMMANDS:
        module = import_module(modname)
        for fn in functions:
            register = getattr(module, fn)  # AttributeError if renamed: fail loudly
            register(run_sub if fn == "register_run" else sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc.filename}: file not found", file=sys.stderr)
        return 2
    except PermissionError as exc:
        print(f"error: {exc.filename}: permission denied", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
