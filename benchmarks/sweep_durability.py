"""Durability with the real simulator: SIGKILL `archsim sweep` several times, resume, compare.

    PYTHONPATH=. python benchmarks/sweep_durability.py [--spec archsim/configs/sweeps/demo.yaml] [--kill-at 10 50 100]

Runs the spec once uninterrupted (the reference), then starts ``archsim sweep SPEC --resume``
as a subprocess and SIGKILLs its whole process group (main process and pool workers) as soon as
k points are committed, for each k; a final ``--resume`` completes it.  Checks: every point
exactly once, no committed point redone (its commit time unchanged), all metrics equal to the
reference.  Prints one summary line; details in ``out/bench/sweep_durability.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def committed(store: Path) -> dict[str, float]:
    if not store.exists():
        return {}
    try:
        con = sqlite3.connect(f"{store.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            return dict(con.execute("SELECT point_key, finished_at FROM points"))
        finally:
            con.close()
    except sqlite3.OperationalError:
        return {}


def rows(store: Path) -> dict[str, tuple]:
    con = sqlite3.connect(store)
    try:
        return {k: (s, m) for k, s, m in con.execute("SELECT point_key, status, metrics_json FROM points")}
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", default=str(ROOT / "archsim/configs/sweeps/demo.yaml"))
    ap.add_argument("--kill-at", type=int, nargs="+", default=[10, 50, 100])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dir", default=str(ROOT / "out/bench"))
    args = ap.parse_args()
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    ref, store = d / "durability_ref.db", d / "durability_killed.db"
    for s in (ref, store):
        for f in (s, Path(f"{s}-wal"), Path(f"{s}-shm")):
            f.unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    base = [sys.executable, "-m", "archsim.cli", "sweep", args.spec, "--workers", str(args.workers), "--no-progress"]
    t0 = time.perf_counter()
    subprocess.run(base + ["--out", str(ref)], env=env, check=True, capture_output=True)
    t_ref = time.perf_counter() - t0
    kills, redone = [], 0
    for k in args.kill_at:
        before = committed(store)
        proc = subprocess.Popen(base + ["--out", str(store), "--resume"], env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while len(committed(store)) < k and proc.poll() is None:
            time.sleep(0.002)
        if proc.poll() is not None:
            raise SystemExit(f"the sweep finished before {k} points; use smaller --kill-at values")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        after = committed(store)
        redone += sum(after.get(key) != t for key, t in before.items())
        kills.append({"kill_after_k": k, "committed_at_kill": len(after)})
    subprocess.run(base + ["--out", str(store), "--resume"], env=env, check=True, capture_output=True)
    a, b = rows(ref), rows(store)
    con = sqlite3.connect(store)
    dup = con.execute("SELECT COUNT(*) - COUNT(DISTINCT point_key) FROM points").fetchone()[0]
    attempts = {r[0] for r in con.execute("SELECT DISTINCT attempts FROM points")}
    con.close()
    ok = a == b and dup == 0 and redone == 0 and attempts == {1}
    result = {"spec": args.spec, "points": len(a), "reference_s": round(t_ref, 1), "kills": kills,
              "duplicates": dup, "committed_points_redone": redone, "metrics_equal_to_reference": a == b,
              "attempts": sorted(attempts), "pass": ok}
    (d / "sweep_durability.json").write_text(json.dumps(result, indent=1))
    print(f"sweep_durability: {Path(args.spec).name}: {len(kills)} SIGKILLs at "
          f"{[x['committed_at_kill'] for x in kills]} committed points, resumed -> {len(b)}/{len(a)} points, "
          f"{dup} duplicates, {redone} redone, metrics equal to uninterrupted run: {a == b} -> "
          f"{'PASS' if ok else 'FAIL'}")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
