"""The demo sweep and its plot gallery: ``archsim/configs/sweeps/demo.yaml`` → ``out/gallery/*.png``.

    PYTHONPATH=. python benchmarks/sweep_gallery.py [--out out/gallery] [--store out/sweeps/demo.db]

Runs (or resumes) the demo sweep through the CLI, then draws every plot kind from the store.
Prints one line per figure and a summary line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archsim.cli import main as archsim  # noqa: E402

SQUARE = "workload.gemm=[512,512,512]"
FIGURES = [
    ("demo_speedup.png", ["--kind", "speedup"]),
    ("demo_energy.png", ["--kind", "energy", "--x", "workload.sparsity", "--hue", "array.rows", "--where", SQUARE]),
    ("demo_pareto.png", ["--kind", "pareto", "--hue", "workload.sparsity", "--where", SQUARE]),
    ("demo_scaling.png", ["--kind", "scaling", "--x", "array.rows", "--hue", "workload.sparsity", "--where", SQUARE]),
    ("demo_heatmap.png", ["--kind", "heatmap", "--x", "array.rows", "--hue", "workload.sparsity"]),
    ("demo_heatmap_energy.png", ["--kind", "heatmap", "--x", "array.rows", "--hue", "dram.channels",
                                 "--y", "total_energy_pj"]),
]


def run() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "out/gallery"))
    ap.add_argument("--store", default=str(ROOT / "out/sweeps/demo.db"))
    ap.add_argument("--workers", default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    argv = ["sweep", str(ROOT / "archsim/configs/sweeps/demo.yaml"), "--out", args.store, "--no-progress"]
    if args.workers:
        argv += ["--workers", args.workers]
    if archsim(argv) != 0:
        raise SystemExit(2)
    for name, extra in FIGURES:
        if archsim(["plot", args.store, *extra, "-o", str(Path(args.out) / name)]) != 0:
            raise SystemExit(2)
    print(f"sweep_gallery: {len(FIGURES)} figures in {args.out} ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    run()
