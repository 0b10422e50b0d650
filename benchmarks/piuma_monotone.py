"""Largest step the wrong way of the fast PIUMA level over the monotonicity sweeps of
`tests/test_piuma_timing.py` (its WORKLOADS and BIG workloads x SWEEPS, seed 1).

    PYTHONPATH=$PWD python benchmarks/piuma_monotone.py

Prints the cycles of every sweep and, last, ``WORST`` per parameter (percent, workload, values,
cycles); an empty ``WORST`` means every sweep is exactly monotone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from archsim.config import load_config, with_overrides
from archsim.piuma.run import run_piuma

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_piuma_timing as T  # noqa: E402  (the sweeps are defined once, in the tests)


def main() -> int:
    cfg = load_config("piuma", expect="piuma")
    worst: dict = {}
    for name, wl in {**T.WORKLOADS, **T.BIG}.items():
        for field, values, sign in T.SWEEPS:
            cyc = [run_piuma(with_overrides(cfg, {field: v}), wl, seed=1)[0].total_cycles for v in values]
            for a, b in zip(cyc, cyc[1:]):
                wrong = (b - a) / a if sign > 0 else (a - b) / a
                if wrong > worst.get(field, (0.0,))[0]:
                    worst[field] = (wrong, name, values, cyc)
            print(name, field, cyc, flush=True)
    print("WORST", json.dumps({k: [round(v[0] * 100, 3), v[1], v[2], v[3]] for k, v in worst.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
