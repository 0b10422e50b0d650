"""Durability (SIGKILL a running sweep, resume) and distribution (Dask) of sweeps.

The sweep runs the synthetic simulator (`archsim.sweep.testing`) with a small sleep per point,
so a sweep lasts long enough to be killed at chosen points; the sweep machinery, the store and
the CLI are the real ones.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from archsim.sweep import load_rows, run_sweep
from archsim.sweep.testing import synthetic_simulate

ROOT = Path(__file__).resolve().parent.parent
SYN = "archsim.sweep.testing:synthetic_simulate"


def spec_file(tmp_path: Path, sleep_s: float, extra_workload: str = "") -> Path:
    p = tmp_path / "spec.yaml"
    p.write_text(textwrap.dedent(f"""
        name: durability
        base: sat
        axes:
          array.rows: [8, 16, 32, 64]
          workload.sparsity: ["dense", "2:4", "2:8"]
          dram.channels: [1, 4]
        ties: {{array.cols: array.rows}}
        workloads:
          - {{gemm: [128, 128, 128], sleep_s: {sleep_s}}}
          {extra_workload}
    """))
    return p


def committed(store: Path) -> dict[str, float]:
    """point_key -> finished_at of the committed points (read-only; the writer may be running)."""
    if not store.exists():
        return {}
    try:
        con = sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            return dict(con.execute("SELECT point_key, finished_at FROM points"))
        finally:
            con.close()
    except sqlite3.OperationalError:  # the store is being created
        return {}


def metrics(store: Path) -> dict[str, tuple]:
    return {r["point_key"]: (r["status"], r["total_cycles"], r["total_energy_pj"], r["seconds"])
            for r in load_rows(store, status=None)}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "archsim", "sweep", *args, "--simulate", SYN, "--no-progress"]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


@pytest.mark.slow
def test_sigkill_and_resume_loses_nothing_and_runs_nothing_twice(tmp_path: Path) -> None:
    spec = spec_file(tmp_path, sleep_s=0.08)
    ref = tmp_path / "ref.db"
    run_sweep(spec, ref, workers=0, simulate_fn=synthetic_simulate)
    total = len(metrics(ref))
    assert total == 24
    store = tmp_path / "killed.db"
    kills = []
    for k in (2, 9, 16):  # SIGKILL the sweep (main process and its pool) after k points committed
        before = committed(store)
        proc = subprocess.Popen(cli(str(spec), "--out", str(store), "--workers", "2", "--resume"),
                                env=env(), cwd=tmp_path, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(committed(store)) < k and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, f"sweep ended before it could be killed: {proc.stderr.read()!r}"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        after = committed(store)
        kills.append(len(after))
        # nothing committed before this run was redone or lost
        assert all(after[key] == t for key, t in before.items())
        assert k <= len(after) < total
    final = subprocess.run(cli(str(spec), "--out", str(store), "--workers", "2", "--resume"),
                           env=env(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    rows = load_rows(store, status=None)
    assert len(rows) == total and len({r["point_key"] for r in rows}) == total
    assert all(r["attempts"] == 1 and r["status"] == "ok" for r in rows)
    assert metrics(store) == metrics(ref)
    assert kills == sorted(kills)


DASK_SPEC_SLEEP = 0.02


@pytest.mark.slow
def test_dask_local_cluster_matches_the_local_pool(tmp_path: Path) -> None:
    spec = spec_file(tmp_path, sleep_s=DASK_SPEC_SLEEP,
                     extra_workload="- {gemm: [64, 64, 64], fail: true}")
    a = run_sweep(spec, tmp_path / "pool.db", workers=2, simulate_fn=synthetic_simulate)
    b = run_sweep(spec, tmp_path / "dask.db", dask_local=2, simulate_fn=synthetic_simulate)
    assert (a.ok, a.failed) == (b.ok, b.failed) == (24, 24)
    assert metrics(tmp_path / "pool.db") == metrics(tmp_path / "dask.db")
    ra = {r["point_key"]: r["metrics_json"] for r in _raw(tmp_path / "pool.db")}
    rb = {r["point_key"]: r["metrics_json"] for r in _raw(tmp_path / "dask.db")}
    assert ra == rb  # every flat metric, bit for bit
    errs = [r["error"] for r in load_rows(tmp_path / "dask.db", status="error")]
    assert len(errs) == 24 and all(e.startswith("RuntimeError:") for e in errs)


def _raw(store: Path) -> list[dict]:
    con = sqlite3.connect(store)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT point_key, metrics_json FROM points")]
    finally:
        con.close()


@pytest.mark.slow
def test_dask_worker_killed_mid_sweep_the_sweep_completes(tmp_path: Path) -> None:
    marker = tmp_path / "worker-died"
    spec = spec_file(tmp_path, sleep_s=0.05,
                     extra_workload=f'- {{gemm: [64, 64, 64], die_once: "{marker}"}}')
    s = run_sweep(spec, tmp_path / "dask.db", dask_local=2, simulate_fn=synthetic_simulate)
    assert marker.exists()  # one worker process was SIGKILLed in the middle of a point
    assert (s.ok, s.failed) == (48, 0)
    rows = load_rows(tmp_path / "dask.db")
    assert len({r["point_key"] for r in rows}) == 48


@pytest.mark.slow
def test_cli_dask_local(tmp_path: Path) -> None:
    spec = spec_file(tmp_path, sleep_s=0.0)
    out = subprocess.run(cli(str(spec), "--out", str(tmp_path / "d.db"), "--dask-local", "2"),
                         env=env(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "24 ok, 0 failed" in out.stdout and "LocalCluster" in out.stdout
    bad = subprocess.run(cli(str(spec), "--out", str(tmp_path / "e.db"), "--dask", "tcp://127.0.0.1:1",
                             "--dask-timeout", "1"),
                         env=env(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --dask: cannot connect"), bad.stderr
    assert bad.stderr.count("\n") == 1
    assert json.loads(json.dumps(metrics(tmp_path / "d.db")))
