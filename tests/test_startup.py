"""Start-up stays light: which heavy modules each kind of command imports (not how long it takes;
the CPU times are in BENCHMARKS.md, from benchmarks/startup.py).

Each check runs a fresh interpreter, so the result does not depend on what this test session
has already imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "scipy", "pydantic", "simpy", "matplotlib", "dask", "distributed", "amaranth",
         "yaml", "tqdm", "pandas", "pyarrow")

_PROBE = """
import json, sys
from archsim.cli import main
try:
    rc = main(sys.argv[1:])
except SystemExit as exc:
    rc = exc.code
heavy = %r
loaded = sorted({m.split('.')[0] for m in sys.modules} & set(heavy))
sys.__stdout__.write('\\n@@' + json.dumps({'rc': rc, 'loaded': loaded}) + '\\n')
"""


def _imports(*argv: str, tmp_path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                                    os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", _PROBE % (HEAVY,), *argv], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=120)
    tail = proc.stdout.rsplit("@@", 1)
    assert len(tail) == 2, proc.stdout + proc.stderr
    return json.loads(tail[1])


@pytest.mark.parametrize("argv", [
    ("--help",), ("--version",), ("run", "sat", "--help"), ("run", "piuma", "--help"),
    ("rtl", "synth", "--help"), ("sweep", "--help"), ("plot", "--help"),
    ("run", "sat"),                      # usage error: neither --model nor --gemm
    ("run", "nosuchsim", "--gemm", "1,1,1"),
])
def test_help_and_usage_errors_import_nothing_heavy(argv, tmp_path):
    out = _imports(*argv, tmp_path=tmp_path)
    assert out["rc"] in (0, 2)
    assert out["loaded"] == [], f"archsim {' '.join(argv)} imported {out['loaded']}"


def test_a_gemm_run_needs_no_numpy_scipy_plots_or_rtl(tmp_path):
    out = _imports("run", "sat", "--gemm", "16,16,16", tmp_path=tmp_path)
    assert out["rc"] == 0
    assert set(out["loaded"]) <= {"pydantic", "yaml", "simpy"}, out["loaded"]
