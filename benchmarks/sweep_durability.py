"""Durability with the real simulator: SIGKILL `archsim sweep` several times, resume, compare.

    PYTHONPATH=. python benchmarks/sweep_durability.py [--spec archsim/configs/sweeps/demo.yaml] [--kill-at 10 50 100]
        [--random-kills N --max-delay S --seed K] [--second-writers N]

Runs the spec once uninterrupted (the reference), then starts ``archsim sweep SPEC --resume``
as a subprocess and SIGKILLs its whole process group (main process and pool workers) as soon as
k points are committed, for each k; a final ``--resume`` completes it.  Checks: every point
exactly once, no committed point redone (its commit time unchanged), all metrics equal to the
reference.  Prints one summary line; details in ``out/bench/sweep_durability.json``.

``--random-kills N`` adds N more SIGKILLs at seeded random times after the start (uniform in
``[0, --max-delay]`` seconds, so some land in the first second, while the store is being
opened or the pool started); ``--random-mid-kills N`` as many at a random time after the
resumed run commits its first point (mid-sweep, points in flight).  ``--second-writers N`` runs N lock drills: while a sweep is
writing, a second ``archsim sweep`` on the same store must be refused at once (exit 2, one
line) and write nothing; the first is then SIGKILLed and the next resume must not be blocked.
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
    ap.add_argument("--random-kills", type=int, default=0)
    ap.add_argument("--random-mid-kills", type=int, default=0,
                    help="SIGKILLs at a random time after the resumed sweep commits its first point")
    ap.add_argument("--max-delay", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--second-writers", type=int, default=0)
    args = ap.parse_args()
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    ref, store = d / "durability_ref.db", d / "durability_killed.db"
    for s in (ref, store):
        for f in (s, Path(f"{s}-wal"), Path(f"{s}-shm")):
            f.unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    base = [sys.executable, "-m", "archsim", "sweep", args.spec, "--workers", str(args.workers), "--no-progress"]
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
    import random

    rng = random.Random(args.seed)
    for i in range(args.random_kills + args.random_mid_kills):
        mid = i >= args.random_kills
        before = committed(store)
        if mid and len(before) >= len(rows(ref)) - 1:
            break
        delay = rng.uniform(0.0, args.max_delay)
        proc = subprocess.Popen(base + ["--out", str(store), "--resume"], env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if mid:  # from the first point this run commits
            while len(committed(store)) <= len(before) and proc.poll() is None:
                time.sleep(0.002)
        time.sleep(delay)
        if proc.poll() is not None:
            kills.append({"random_delay_s": round(delay, 3), "mid": mid, "finished_before_kill": True})
            continue
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        after = committed(store)
        redone += sum(after.get(key) != t for key, t in before.items())
        kills.append({"random_delay_s": round(delay, 3), "mid": mid, "committed_before": len(before),
                      "committed_at_kill": len(after)})
    lock_drills = []
    lock_store = d / "durability_lock.db"
    for _ in range(args.second_writers):
        for f in (lock_store, Path(f"{lock_store}-wal"), Path(f"{lock_store}-shm")):
            f.unlink(missing_ok=True)
        first = subprocess.Popen(base + ["--out", str(lock_store)], env=env, start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not committed(lock_store) and first.poll() is None:
            time.sleep(0.002)
        n_before = len(committed(lock_store))
        t1 = time.perf_counter()
        second = subprocess.run(base + ["--out", str(lock_store), "--resume"], env=env, capture_output=True, text=True)
        refused_s = time.perf_counter() - t1
        running = first.poll() is None
        if running:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        check = subprocess.run([sys.executable, "-m", "archsim", "results", "check", str(lock_store)], env=env,
                               capture_output=True, text=True)
        lock_drills.append({"first_running": running, "points_when_second_started": n_before,
                            "second_rc": second.returncode, "second_stderr": second.stderr.strip()[:200],
                            "refused_in_s": round(refused_s, 2),
                            "refused": second.returncode == 2 and "another archsim sweep" in second.stderr
                            and second.stderr.count("\n") == 1,
                            "lock_freed_after_kill": check.returncode == 0 and "writing to it now" not in check.stdout})
    subprocess.run(base + ["--out", str(store), "--resume"], env=env, check=True, capture_output=True)
    a, b = rows(ref), rows(store)
    con = sqlite3.connect(store)
    dup = con.execute("SELECT COUNT(*) - COUNT(DISTINCT point_key) FROM points").fetchone()[0]
    attempts = {r[0] for r in con.execute("SELECT DISTINCT attempts FROM points")}
    con.close()
    ok = (a == b and dup == 0 and redone == 0 and attempts == {1}
          and all(x["refused"] and x["lock_freed_after_kill"] for x in lock_drills if x["first_running"]))
    result = {"spec": args.spec, "points": len(a), "reference_s": round(t_ref, 1), "kills": kills,
              "lock_drills": lock_drills,
              "duplicates": dup, "committed_points_redone": redone, "metrics_equal_to_reference": a == b,
              "attempts": sorted(attempts), "pass": ok}
    (d / "sweep_durability.json").write_text(json.dumps(result, indent=1))
    refused = sum(x["refused"] for x in lock_drills)
    early = sum(1 for x in kills if not x.get("mid", True) and x.get("random_delay_s", 9) < 1.0)
    print(f"sweep_durability: {Path(args.spec).name}: {len(kills)} SIGKILLs at "
          f"{[x.get('committed_at_kill', 'done') for x in kills]} committed points ({early} in the first second), "
          f"{refused}/{len(lock_drills)} "
          f"second writers refused, resumed -> {len(b)}/{len(a)} points, "
          f"{dup} duplicates, {redone} redone, metrics equal to uninterrupted run: {a == b} -> "
          f"{'PASS' if ok else 'FAIL'}")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
