#!/usr/bin/env bash
# Packaging check (CI, after the tests): build the wheel, check what it holds, install it into a
# fresh virtualenv and run the main commands from a temporary directory outside the repository,
# with no PYTHONPATH, so only the installed package (and its bundled data) can be found.
# Usage: scripts/wheel_check.sh   (PYTHON=... to choose the interpreter that builds; default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
PY=${PYTHON:-$repo/.venv/bin/python}
work=$(mktemp -d "${TMPDIR:-/tmp}/archsim-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
unset PYTHONPATH

echo "wheel check: building the sdist, then the wheel from it (no stale build/ files can leak in)"
"$PY" -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
whl=$(ls "$work"/dist/archsim-*.whl)

# Every tracked data file of the packages is in the wheel; no tests, benchmarks or scripts are.
git ls-files archsim dataflow workloads rtl | grep -v '\.py$' >"$work/data_files" || true
"$PY" - "$whl" "$work/data_files" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
want = [l.strip() for l in open(sys.argv[2]) if l.strip()]
missing = [f for f in want if f not in names]
stray = sorted(n for n in names if n.split("/")[0] in ("tests", "benchmarks", "scripts", "build", "out")
               or n.rsplit("/", 1)[-1].startswith(("test_", "conftest")))
if missing or stray:
    sys.exit(f"wheel check: missing data files {missing}; files that do not belong {stray}")
print(f"wheel check: {len(names)} files, all {len(want)} data files present, no tests/benchmarks")
PY

echo "wheel check: installing into a fresh virtualenv"
"$PY" -m venv --without-pip "$work/venv" 2>/dev/null || python3 -m venv --without-pip "$work/venv"
"$PY" -m pip --python "$work/venv/bin/python" install -q "$whl"

mkdir "$work/run" && cd "$work/run"
run() { echo "\$ archsim $*"; "$work/venv/bin/archsim" "$@"; }
"$work/venv/bin/python" -c 'import archsim, sys; p = archsim.__file__; sys.exit(0 if p.startswith(sys.prefix) else f"archsim imported from {p}, not the venv")'
run --version
run run sat --gemm 64,64,64
run run piuma --kernel spmv --dataflow dma --matrix karate
run run sat --gemm 64,64,64 --config scalesim-like
run sweep demo --dry-run
echo "wheel check: OK"
