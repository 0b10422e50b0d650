"""The ``archsim`` command line: a thin layer over the public API.

Every command lives in this package, one module per concern; the simulators, the sweep layer
and the RTL never import the CLI:

* ``archsim run sat ...``, ``schedule``, ``workloads``, ``demo``  (`archsim.cli.sat`)
* ``archsim run piuma ...``, ``piuma compare|scaling``            (`archsim.cli.piuma`)
* ``archsim rtl export|synth``     Verilog and synthesis statistics (`archsim.cli.rtl`)
* ``archsim sweep|results|plot``   design-space sweeps, the result store, plots (`archsim.cli.sweep`)
* ``archsim dram run|presets|curve`` the command-level DRAM model on traces (`archsim.cli.dram`)

Each module has ``register(subparsers)`` (top-level commands) and, for simulators,
``register_run(run_subparsers)``; `_COMMANDS` lists them explicitly and a missing module or
function is an `ImportError`/`AttributeError` at parser build time (a test builds the parser), never
a silently dropped sub-command.

User mistakes and environment failures print ``error: <one line>`` on stderr and exit 2, without
a traceback (see `main`, the one error boundary); argument values every command shares
(``--seed``, ``--workers``, ``--dask``...) and the work budgets (`archsim.budget`) are checked
in `archsim.cli._checks` before a command runs.
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
    ("archsim.cli.dram", ("register",)),
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


#: Longest ``error: ...`` line printed (a message built from user input is cut here).
MAX_MESSAGE_CHARS = 300

_BUG_LINE = ("this is a bug in archsim, not in your input: please report it with the command line "
             "and the traceback above")


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 3] + "..."
    return text


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush cannot fail again (EPIPE, ENOSPC)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout already closed or not a real file
        pass


def _os_message(exc: OSError) -> str:
    import errno
    import os

    what = exc.filename if exc.filename is not None else None
    reason = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc)) or type(exc).__name__
    if exc.errno == errno.ENOSPC:
        reason = "no space left on device"
    if what is None:
        if exc.errno in (errno.ENOSPC, errno.EIO, errno.EBADF):
            what = "<stdout>"
        return f"{what}: {reason}" if what else reason
    return f"{what}: {reason}"


def explain(exc: BaseException) -> str | None:
    """The one-line message for an exception that user input or the environment can cause;
    ``None`` for a bug (which keeps its traceback)."""
    # Only modules already imported can have raised: never import one here (start-up stays light).
    sqlite3 = sys.modules.get("sqlite3")
    yaml = sys.modules.get("yaml")
    if isinstance(exc, InputError):
        return str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return f"input is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
    if isinstance(exc, UnicodeError):
        return f"text encoding problem ({exc})"
    if yaml is not None and isinstance(exc, yaml.YAMLError):
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        return f"malformed YAML{at}: {getattr(exc, 'problem', None) or exc}"
    if sqlite3 is not None and isinstance(exc, sqlite3.Error):
        return f"result store: {exc} (run `archsim results check STORE` to inspect it)"
    if isinstance(exc, OSError):
        return _os_message(exc)
    if isinstance(exc, MemoryError):
        return ("out of memory: the request is larger than this machine can hold; make it smaller "
                "(see ARCHSIM_MAX_WORK / ARCHSIM_MAX_MEMORY_BYTES for the budgets checked up front)")
    if isinstance(exc, RecursionError):
        return "input nested too deeply"
    if isinstance(exc, OverflowError):
        return f"number too large ({exc})"
    if isinstance(exc, ValueError):
        return f"invalid value ({exc})"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``archsim`` command line; returns the exit status.

    The one error boundary of the program: every exception that user input or the environment
    can cause (`InputError`, any `OSError` incl. a full disk or a read-only folder,
    `UnicodeDecodeError`, YAML and SQLite errors, `MemoryError`, `OverflowError`,
    `RecursionError`, `ValueError` from parsing) becomes one line ``error: ...`` (at most
    ``MAX_MESSAGE_CHARS`` characters) and exit status 2.  A closed pipe (``archsim ... | head``)
    ends quietly.  Anything else is a bug: its traceback is printed with a line asking for a
    report, exit status 1.  ``ARCHSIM_DEBUG=1`` shows the traceback of every error.
    """
    import os

    debug = os.environ.get("ARCHSIM_DEBUG", "") not in ("", "0")
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        from archsim.cli._checks import check_args

        check_args(args)
        status = int(args.func(args) or 0)
        sys.stdout.flush()
        return status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): the standard quiet exit.
        _silence_stdout()
        return 141
    except Exception as exc:  # noqa: BLE001 - the one boundary: classify, then report
        message = explain(exc)
        if isinstance(exc, OSError) and exc.filename is None:
            _silence_stdout()  # a failed stdout write would fail again at exit
        if message is None or debug:
            import traceback

            traceback.print_exc()
            if message is None:
                print(f"error: {_one_line(f'{type(exc).__name__}: {exc}')}", file=sys.stderr)
                print(_BUG_LINE, file=sys.stderr)
                return 1
        print(f"error: {_one_line(message)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
