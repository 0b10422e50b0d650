#!/usr/bin/env bash
# Set up (Icarus Verilog included) and run the whole test suite.
# Extra arguments go to pytest (e.g. -m "not slow", -k sat, -x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
exec .venv/bin/python -m pytest "$@"
