"""Run a sweep: expand a spec, skip what the store already holds, compute the rest, commit each.

Backends (results are identical whatever the backend, because a point is pure: config +
workload + seed):

* ``local`` (default): a `concurrent.futures.ProcessPoolExecutor` over ``workers`` processes
  (all cores by default).  At most ``2 × workers`` points are in flight; when a worker process
  dies (OOM killer, segfault) the pool is rebuilt and the in-flight points are resubmitted; a
  point that was in flight during ``allowed_failures`` pool deaths is recorded as an error.
* ``workers=0``: in the calling process, one point after another (debugging, tiny sweeps).
* Dask: ``dask_address="tcp://host:8786"`` submits to an existing scheduler;
  ``dask_local=N`` starts a ``LocalCluster(n_workers=N, threads_per_worker=1,
  processes=True)``.  When a worker dies, the scheduler reschedules its tasks on the others
  (up to its ``allowed-failures``); a task given up as ``KilledWorker`` is recorded as an error.

Workers only compute (`execute_point`); the main process writes every finished point to the
store and commits it at once.  A point that raises is recorded with ``Type: message`` and the
sweep goes on.  Re-running resumes: points already in the store are skipped (errored points
are retried with ``retry_errors=True``).
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from archsim.sweep.spec import LoadedSpec, Point, expand, load_spec, validate_workloads
from archsim.sweep.store import SweepStore
from workloads.errors import InputError

__all__ = ["run_sweep", "execute_point", "SweepSummary"]

SimulateFn = Callable[..., Any]
_MAX_ERROR_CHARS = 2000


def _default_simulate() -> SimulateFn:
    from archsim.api import simulate

    return simulate


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    out = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return out[:_MAX_ERROR_CHARS]


def execute_point(simulate_fn: SimulateFn | None, config: dict, workload: dict, seed: int,
                  area: dict | None = None) -> dict[str, Any]:
    """Run one point in a worker: ``{"status", "metrics" | "error", "wall_s", "version"}``.

    ``area`` (the spec's ``area:`` settings, plain data): attach the point's synthesised array
    area (`archsim.api.with_area`; rtl is imported only then, and each shape is synthesised
    once per cache directory).  Never raises for a failing simulation: the error is returned
    as data so the sweep goes on.
    """
    fn = simulate_fn or _default_simulate()
    t0 = time.perf_counter()
    try:
        result = fn(config, workload, seed=seed)
        if area:
            from archsim.api import with_area

            result = with_area(config, result, **area)
        flat = result.flat_metrics()
        return {"status": "ok", "metrics": flat, "wall_s": time.perf_counter() - t0, "version": result.version}
    except Exception as exc:  # noqa: BLE001 - recorded in the store, the sweep goes on
        return {"status": "error", "error": _one_line(exc), "wall_s": time.perf_counter() - t0}


@dataclass
class SweepSummary:
    store: str
    total: int  # points in the spec after constraints
    skipped: int  # already in the store
    ok: int
    failed: int
    elapsed_s: float
    backend: str

    @property
    def ran(self) -> int:
        return self.ok + self.failed

    @property
    def points_per_s(self) -> float:
        return self.ran / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def line(self) -> str:
        return (
            f"sweep: {self.total} points: {self.ok} ok, {self.failed} failed, {self.skipped} already stored; "
            f"{self.elapsed_s:.1f} s ({self.points_per_s:.2f} points/s, {self.backend}) -> {self.store}"
        )


class _Progress:
    def __init__(self, total: int, initial: int, desc: str, enabled: bool) -> None:
        self.failed = 0
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, desc=desc, unit="pt", dynamic_ncols=True,
                            smoothing=0.05, postfix={"failed": 0})

    def update(self, ok: bool) -> None:
        if not ok:
            self.failed += 1
        if self.bar is not None:
            if not ok:
                self.bar.set_postfix(failed=self.failed, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------- backends


def _run_serial(todo: list[Point], fn: SimulateFn | None, emit: Callable[[Point, dict], None],
                area: dict | None = None) -> None:
    for p in todo:
        emit(p, execute_point(fn, p.config, p.workload, p.seed, area))


def _close_fd(fd: int | None) -> None:
    """Pool-worker initializer: drop the store's lock descriptor inherited through fork, so that
    only the main process holds the lock (a killed sweep frees its store at once)."""
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


def _run_pool(
    todo: list[Point], fn: SimulateFn | None, workers: int, emit: Callable[[Point, dict], None],
    allowed_failures: int = 3, lock_fd: int | None = None, area: dict | None = None,
) -> None:
    pending: deque[Point] = deque(todo)
    suspicion: Counter[str] = Counter()
    window = 2 * workers
    while pending:
        ex = ProcessPoolExecutor(max_workers=workers, initializer=_close_fd, initargs=(lock_fd,))
        inflight: dict[Any, Point] = {}
        broken = False
        try:
            while pending or inflight:
                while pending and len(inflight) < window and not broken:
                    p = pending.popleft()
                    try:
                        inflight[ex.submit(execute_point, fn, p.config, p.workload, p.seed, area)] = p
                    except BrokenProcessPool:
                        pending.appendleft(p)
                        broken = True
                if broken:
                    break
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for f in done:
                    p = inflight[f]
                    try:
                        out = f.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    del inflight[f]
                    emit(p, out)
                if broken:
                    break
        except BaseException:
            ex.shutdown(wait=False, cancel_futures=True)
            raise
        if broken:
            # A worker died: every point in flight is suspect; retry it unless it was in flight
            # at `allowed_failures` deaths already.
            retry = []
            for f, p in inflight.items():
                if f.done() and not f.cancelled() and f.exception() is None:
                    emit(p, f.result())
                    continue
                suspicion[p.key] += 1
                if suspicion[p.key] >= allowed_failures:
                    emit(p, {"status": "error", "wall_s": None,
                             "error": f"WorkerDied: a worker process died while running this point "
                                      f"({suspicion[p.key]} times)"})
                else:
                    retry.append(p)
            pending.extendleft(reversed(retry))
            logging.getLogger(__name__).warning("a worker process died; restarting the pool (%d points retried)",
                                                len(retry))
        ex.shutdown(wait=True, cancel_futures=True)


def _run_dask(
    todo: list[Point], fn: SimulateFn | None, emit: Callable[[Point, dict], None], *,
    address: str | None, n_local: int | None, timeout_s: float = 10.0, area: dict | None = None,
) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - dask is a dependency
        raise InputError("--dask: the 'distributed' package is not installed") from None
    cluster = None
    if address is not None:
        try:
            client = Client(address, timeout=f"{timeout_s}s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"--dask: cannot connect to the scheduler at {address} ({_one_line(exc)})") from None
    else:
        cluster = LocalCluster(n_workers=n_local, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        keys = [f"archsim-point-{p.key}" for p in todo]
        futures = client.map(
            execute_point, [fn] * len(todo), [p.config for p in todo], [p.workload for p in todo],
            [p.seed for p in todo], [area] * len(todo), key=keys, pure=False,
        )
        by_key = {k: p for k, p in zip(keys, todo)}
        for fut in as_completed(futures):
            p = by_key[fut.key]
            try:
                out = fut.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker, lost connection ...
                out = {"status": "error", "error": _one_line(exc), "wall_s": None}
            emit(p, out)
            fut.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------- entry point


def run_sweep(
    spec: str | Path | LoadedSpec,
    store: str | Path,
    *,
    workers: int | None = None,
    dask_address: str | None = None,
    dask_local: int | None = None,
    resume: bool = False,
    retry_errors: bool = False,
    simulate_fn: SimulateFn | None = None,
    progress: bool = False,
    limit: int | None = None,
    dask_timeout_s: float = 10.0,
) -> SweepSummary:
    """Run (or resume) a sweep into ``store`` and return a summary.

    ``simulate_fn(config_dict, workload_dict, seed=...) -> RunResult`` defaults to
    `archsim.api.simulate`; it must be importable by name in the workers (a module-level
    function).  ``resume`` allows a store written from a different spec (its points are kept;
    this spec's points are added).  ``limit`` runs at most that many of the pending points, a
    seeded random subset spread over the whole spec (benchmarks, quick looks).
    Everything that can be checked is checked before the store is touched: the spec, every
    point's workload (`validate_workloads`, with the default simulator), the store's integrity
    and schema, and that no other sweep is writing to it (an exclusive lock, held to the end).
    """
    loaded = spec if isinstance(spec, LoadedSpec) else load_spec(spec)
    points = expand(loaded)
    if simulate_fn is None:
        # Every workload is checked before anything runs (a custom simulate_fn has its own).
        validate_workloads(loaded, points)
    if dask_address is not None and dask_local is not None:
        raise InputError("--dask and --dask-local: give one of them")
    if workers is not None and workers < 0:
        raise InputError(f"--workers: expected >= 0, got {workers}")
    if dask_local is not None and dask_local < 1:
        raise InputError(f"--dask-local: expected >= 1 workers, got {dask_local}")
    axes = list(dict.fromkeys(k for p in points for k in p.values))
    with SweepStore.open(store, spec_hash=loaded.hash, axes=axes, allow_other_spec=resume) as st:
        done = st.finished_keys(include_errors=not retry_errors)
        todo = [p for p in points if p.key not in done]
        if limit is not None and limit < len(todo):
            import numpy as np

            pick = np.random.default_rng(0).choice(len(todo), size=limit, replace=False)
            todo = [todo[i] for i in sorted(pick)]
        skipped = len(points) - len(todo) if limit is None else len([p for p in points if p.key in done])
        counts = Counter()
        bar = _Progress(len(todo) + skipped, skipped, loaded.name, progress and bool(todo))

        def emit(p: Point, out: dict) -> None:
            st.record(p, out, spec_hash=loaded.hash)
            counts[out["status"]] += 1
            bar.update(out["status"] == "ok")

        n_workers = workers if workers is not None else (os.cpu_count() or 1)
        if dask_address is not None:
            backend = f"dask {dask_address}"
        elif dask_local is not None:
            backend = f"dask LocalCluster x{dask_local}"
        elif n_workers == 0:
            backend = "in-process"
        else:
            backend = f"{n_workers} local worker{'s' if n_workers != 1 else ''}"
        area = loaded.spec.area.model_dump() if loaded.spec.area is not None else None
        t0 = time.perf_counter()
        try:
            if not todo:
                pass
            elif dask_address is not None or dask_local is not None:
                _run_dask(todo, simulate_fn, emit, address=dask_address, n_local=dask_local,
                          timeout_s=dask_timeout_s, area=area)
            elif n_workers == 0:
                _run_serial(todo, simulate_fn, emit, area)
            else:
                _run_pool(todo, simulate_fn, min(n_workers, len(todo)), emit, lock_fd=st.lock_fd, area=area)
        finally:
            bar.close()
        elapsed = time.perf_counter() - t0
    return SweepSummary(store=str(store), total=len(points), skipped=skipped, ok=counts["ok"],
                        failed=counts["error"], elapsed_s=elapsed, backend=backend)
