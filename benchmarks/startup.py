"""Start-up cost of the ``archsim`` command: CPU seconds (user + sys) of the whole child process.

Each command runs as a fresh interpreter (``python -c 'from archsim.cli import main; ...'``, the
same entry point as the installed ``archsim`` script) with ``PYTHONPATH`` set to the source tree
under test and a temporary working directory; the CPU time is read with
``resource.getrusage(RUSAGE_CHILDREN)`` before and after each child (so it counts the child
only, whatever else the machine is doing, unlike wall time).  Reported: median and minimum over
``--repeat`` runs.

Before/after: ``--before REV`` extracts that revision with ``git archive`` into a temporary
directory and measures it with the same interpreter and commands::

    python benchmarks/startup.py --before 774b010 --repeat 7
    python benchmarks/startup.py --json out/startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: label -> argv of the ``archsim`` command
COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "usage error (run sat, no workload)": ["run", "sat"],
    "run sat --gemm 64,64,64": ["run", "sat", "--gemm", "64,64,64"],
    "run piuma spmv/dma karate": ["run", "piuma", "--kernel", "spmv", "--dataflow", "dma",
                                  "--matrix", "karate"],
}

_ENTRY = "import sys; from archsim.cli import main; sys.exit(main(sys.argv[1:]))"
_WHERE = "import archsim, sys; sys.stdout.write(archsim.__file__)"


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root)
    env.pop("PYTHONSTARTUP", None)
    return env


def cpu_of(argv: list[str], root: Path, cwd: Path) -> tuple[float, int]:
    """CPU seconds (user + sys) of one child running ``archsim ARGV``, and its exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-c", _ENTRY, *argv], cwd=cwd, env=_env(root),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, proc.returncode


def measure(root: Path, repeat: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="archsim-startup-") as cwd:
        where = subprocess.run([sys.executable, "-c", _WHERE], env=_env(root), cwd=cwd,
                               capture_output=True, text=True, check=True).stdout
        if not Path(where).resolve().is_relative_to(root.resolve()):
            raise SystemExit(f"error: archsim imports from {where}, not from {root}")
        for label, argv in COMMANDS.items():
            cpu_of(argv, root, Path(cwd))  # warm the page cache and __pycache__
            runs = []
            for _ in range(repeat):
                cpu, rc = cpu_of(argv, root, Path(cwd))
                runs.append(cpu)
            out[label] = {"median_cpu_s": statistics.median(runs), "min_cpu_s": min(runs),
                          "exit_code": rc, "runs": len(runs)}
    return out


def extract(rev: str, dest: Path) -> Path:
    blob = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev],
                          capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", metavar="REV", help="also measure this git revision")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = ap.parse_args(argv)

    results = {"after (working tree)": measure(REPO, args.repeat)}
    if args.before:
        with tempfile.TemporaryDirectory(prefix="archsim-before-") as tmp:
            results[f"before ({args.before})"] = measure(extract(args.before, Path(tmp)),
                                                         args.repeat)
    print(f"python {sys.version.split()[0]}, {args.repeat} runs each, CPU s = user + sys of the "
          f"child (median / min)")
    labels = list(results)
    print("| command | " + " | ".join(labels) + " |")
    print("|---|" + "---:|" * len(labels))
    for cmd in COMMANDS:
        cells = [f"{results[k][cmd]['median_cpu_s']:.3f} / {results[k][cmd]['min_cpu_s']:.3f}"
                 for k in labels]
        print(f"| `archsim {' '.join(COMMANDS[cmd])}` | " + " | ".join(cells) + " |")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
