"""The ``archsim`` command line: a thin layer over the public API.

Sub-commands are registered by the modules that own them (``register(subparsers)``), so each
simulator, the RTL flow and the sweep layer keep their flags next to their code:

* ``archsim run sat|piuma ...``    one simulation (`archsim.sat.cli`, `archsim.piuma.cli`)
* ``archsim schedule ...``         the offline schedule of a SAT workload as JSON
* ``archsim workloads layers ...`` the layers of a model and their training GEMMs
* ``archsim demo``                 the main job: dense vs N:M training, table and plots
* ``archsim rtl export|synth``     Verilog and synthesis statistics (`rtl.cli`)
* ``archsim sweep|results|plot``   design-space sweeps, the result store, plots (`archsim.sweep.cli`)

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


def build_parser() -> argparse.ArgumentParser:
    from archsim import _cli_hooks

    parser = _Parser(prog="archsim", description="Sparse-hardware co-design simulator.")
    from archsim.results import package_version

    parser.add_argument("--version", action="version", version=f"archsim {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run one simulation")
    run_sub = run.add_subparsers(dest="simulator", required=True, parser_class=_Parser)
    for register in _cli_hooks.run_hooks():
        register(run_sub)
    for register in _cli_hooks.top_hooks():
        register(sub)
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
