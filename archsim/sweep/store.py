"""The sweep result store: one SQLite file (WAL mode), one row per (design point, workload).

Tables
------
``meta(key, value)``
    ``schema_version``, ``package_version`` (of the writer that created it), ``spec_hashes``
    (JSON list of the specs that wrote into it), ``axes`` (JSON list of the axis columns),
    ``created``.
``points``
    ``point_key`` (primary key: hash of config JSON + workload JSON + seed), ``idx``,
    ``status`` (``ok`` / ``error``), ``error`` (``Type: message``), ``config_hash``,
    ``config_json``, ``workload_json``, ``seed``, ``package_version``, ``total_cycles``,
    ``seconds``, ``total_energy_pj``, ``metrics_json`` (every flat metric of the `RunResult`),
    ``wall_s`` (simulation wall time), ``attempts``, ``finished_at`` (unix time), ``spec_hash``,
    and one column per axis or workload field, named by its dotted path (``"array.rows"``,
    ``"workload.sparsity"``) for easy filtering.

Only the sweep's main process writes; each finished point is committed at once (``synchronous=
FULL``), so a killed sweep loses nothing that finished.  A store written with another schema
version, a file that is not an archsim store, or a path that cannot be written is refused with a
one-line `InputError` before anything is written.

A store is trusted only after it is checked: every open (for writing, reading, exporting,
plotting) runs SQLite's ``PRAGMA quick_check`` and checks the schema (the ``meta`` table, the
``points`` table and its base columns); a damaged store is refused with a one-line message and
never written to.  A writer holds an exclusive ``flock`` on the store file for as long as it is
open, so a second ``archsim sweep`` on a live store is refused at once instead of simulating the
same points twice.  `check_store` (``archsim results check STORE``) runs the same checks and
reports.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

from archsim.results import package_version
from workloads.errors import InputError

__all__ = ["SCHEMA_VERSION", "SweepStore", "load_rows", "read_meta", "check_store", "BASE_COLUMNS"]

SCHEMA_VERSION = 1
_SQLITE_MAGIC = b"SQLite format 3\x00"

BASE_COLUMNS = [
    ("point_key", "TEXT PRIMARY KEY"),
    ("idx", "INTEGER"),
    ("status", "TEXT NOT NULL"),
    ("error", "TEXT"),
    ("config_hash", "TEXT"),
    ("config_json", "TEXT NOT NULL"),
    ("workload_json", "TEXT NOT NULL"),
    ("seed", "INTEGER"),
    ("package_version", "TEXT"),
    ("total_cycles", "INTEGER"),
    ("seconds", "REAL"),
    ("total_energy_pj", "REAL"),
    ("metrics_json", "TEXT"),
    ("wall_s", "REAL"),
    ("attempts", "INTEGER"),
    ("finished_at", "REAL"),
    ("spec_hash", "TEXT"),
]
_BASE_NAMES = {n for n, _ in BASE_COLUMNS}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_value(v: Any) -> Any:
    if v is None or isinstance(v, (int, float, str)):
        return v
    return json.dumps(v, sort_keys=True)


def _connect_ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _damaged(path: Path, why: str) -> InputError:
    return InputError(f"{path}: damaged sweep store ({why}); it cannot be trusted: restore a copy, "
                      f"or start a new store with another --out")


def _verify(path: Path, *, allow_empty: bool) -> dict[str, str] | None:
    """Read-only checks of an existing store: SQLite magic, ``quick_check``, schema, version.

    Returns its meta; ``None`` when there is no store yet (no file, or an empty file when
    ``allow_empty``).  Nothing is written."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        if allow_empty:  # no store yet; a writer then checks that the path can be written
            return None
        raise InputError(f"{path}: store not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read store ({exc.strerror})") from None
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a sweep store")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file, not a sweep store")
    if st.st_size == 0:
        if allow_empty:
            return None
        raise InputError(f"{path}: empty file, not an archsim sweep store")
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise InputError(f"{path}: cannot read store ({exc.strerror})") from None
    if head != _SQLITE_MAGIC:
        raise InputError(f"{path}: not an archsim sweep store (not an SQLite file)")
    try:
        con = _connect_ro(path)
        try:
            problems = [r[0] for r in con.execute("PRAGMA quick_check(5)").fetchall()]
            if problems != ["ok"]:
                raise _damaged(path, f"integrity check: {'; '.join(str(p) for p in problems)[:120]}")
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "meta" not in tables:
                raise InputError(f"{path}: not an archsim sweep store (no meta table)")
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
            version = meta.get("schema_version")
            if version != str(SCHEMA_VERSION):
                writer = meta.get("package_version", "unknown")
                raise InputError(
                    f"{path}: store schema version {version} (written by archsim {writer}) is not "
                    f"supported; this archsim reads schema version {SCHEMA_VERSION}")
            if "points" not in tables:
                raise _damaged(path, "the points table is missing")
            cols = {r[1] for r in con.execute("PRAGMA table_info(points)")}
            missing = [n for n, _ in BASE_COLUMNS if n not in cols]
            if missing:
                raise _damaged(path, f"the points table lacks column {missing[0]!r}")
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise _damaged(path, str(exc)) from None
    return {str(k): str(v) for k, v in meta.items()}


def _check_existing(path: Path) -> dict[str, str] | None:
    """Meta of an existing store (read-only, nothing written), None when there is no store yet."""
    return _verify(path, allow_empty=True)


def read_meta(path: str | Path) -> dict[str, str]:
    """The ``meta`` table of a store (checked, opened read-only)."""
    meta = _verify(Path(path), allow_empty=False)
    assert meta is not None
    return meta


def _check_rows(path: Path, con: sqlite3.Connection) -> None:
    """Every point row readable: a known status and metrics that parse as a JSON mapping (a
    store whose rows cannot be read back is damaged, even when SQLite's pages are sound)."""
    for key, status, blob in con.execute("SELECT point_key, status, metrics_json FROM points"):
        try:
            ok = (isinstance(key, str) and status in ("ok", "error")
                  and (blob is None or isinstance(json.loads(blob), dict)))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise _damaged(path, f"point {str(key)[:12]}: unreadable status or metrics")


def check_store(path: str | Path) -> str:
    """``archsim results check STORE``: the integrity, schema and lock checks as one line.

    Raises `InputError` for a damaged, foreign or missing store."""
    p = Path(path)
    meta = read_meta(p)
    try:
        con = _connect_ro(p)
        try:
            counts = dict(con.execute("SELECT status, COUNT(*) FROM points GROUP BY status").fetchall())
            full = [r[0] for r in con.execute("PRAGMA integrity_check(5)").fetchall()]
            _check_rows(p, con)
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise _damaged(p, str(exc)) from None
    if full != ["ok"]:
        raise _damaged(p, f"integrity check: {'; '.join(map(str, full))[:120]}")
    busy = ""
    try:
        fd = os.open(p, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError:
            busy = "; a sweep is writing to it now"
        finally:
            os.close(fd)
    except OSError:
        pass
    total = sum(counts.values())
    specs = len(json.loads(meta.get("spec_hashes", "[]")))
    return (f"{p}: ok: schema version {meta.get('schema_version')}, {total} points "
            f"({counts.get('ok', 0)} ok, {counts.get('error', 0)} failed), {specs} spec(s), "
            f"integrity check passed{busy}")


def _check_writable(path: Path) -> None:
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{path}: store path is not writable ({exc.strerror})") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{path}: store path is not writable (directory {parent} is read-only)")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{path}: store path is not writable (file is read-only)")
    # SQLite also needs to create its -wal / -shm files next to the store: probe the directory
    # (os.access says yes to root even on read-only or special file systems).
    try:
        fd, probe = tempfile.mkstemp(prefix=".archsim-probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"{path}: store path is not writable ({exc.strerror})") from None


def _lock(path: Path) -> int:
    """An exclusive, non-blocking ``flock`` on the store file (created empty if needed), held
    until `SweepStore.close`; a live writer elsewhere makes this an `InputError` at once.
    (``flock`` locks are separate from SQLite's own ``fcntl`` byte-range locks.)"""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise InputError(f"{path}: store path is not writable ({exc.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise InputError(f"{path}: another archsim sweep is writing to this store right now; "
                             f"wait for it to finish, or choose another --out") from None
        raise InputError(f"{path}: cannot lock the store ({exc.strerror})") from None
    return fd


def _unlock(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class SweepStore:
    """A sweep store opened for writing by the sweep's main process.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> s = SweepStore.open(d / "s.db", spec_hash="abc", axes=["array.rows"])
    >>> s.count()
    0
    >>> s.close()
    """

    def __init__(self, path: Path, con: sqlite3.Connection, meta: dict[str, str],
                 lock_fd: int | None = None) -> None:
        self.path = path
        self._con = con
        self._lock_fd = lock_fd
        self.meta = meta
        self._columns = [r[1] for r in con.execute("PRAGMA table_info(points)")]

    # ------------------------------------------------------------------ open / create
    @classmethod
    def check(cls, path: str | Path) -> dict[str, str] | None:
        """Refuse an incompatible or unwritable store without touching it; its meta if it exists."""
        p = Path(path)
        meta = _check_existing(p)
        _check_writable(p)
        return meta

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        spec_hash: str,
        axes: Iterable[str] = (),
        allow_other_spec: bool = True,
    ) -> "SweepStore":
        """Open (creating if needed) a store for writing.

        An existing store written from a different spec is refused unless ``allow_other_spec``.
        """
        p = Path(path)
        meta = cls.check(p)
        lock_fd = _lock(p)
        if meta is not None:
            try:
                con = _connect_ro(p)
                try:
                    _check_rows(p, con)  # points a resume would skip must be readable
                finally:
                    con.close()
            except sqlite3.DatabaseError as exc:
                _unlock(lock_fd)
                raise _damaged(p, str(exc)) from None
            except InputError:
                _unlock(lock_fd)
                raise
            hashes = json.loads(meta.get("spec_hashes", "[]"))
            if spec_hash not in hashes and not allow_other_spec:
                _unlock(lock_fd)
                raise InputError(
                    f"{p}: store was written by a different sweep spec (spec hash {', '.join(hashes)}); "
                    "pass --resume to add this spec's points to it, or choose another --out"
                )
        try:
            con = sqlite3.connect(str(p), timeout=30, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            con.execute("BEGIN IMMEDIATE")
            con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            cols = ", ".join(f"{_q(n)} {t}" for n, t in BASE_COLUMNS)
            con.execute(f"CREATE TABLE IF NOT EXISTS points ({cols})")
            existing = {r[1] for r in con.execute("PRAGMA table_info(points)")}
            old = dict(con.execute("SELECT key, value FROM meta").fetchall())
            axes_all = json.loads(old.get("axes", "[]"))
            for a in axes:
                if a in _BASE_NAMES:
                    continue
                if a not in existing:
                    con.execute(f"ALTER TABLE points ADD COLUMN {_q(a)}")
                if a not in axes_all:
                    axes_all.append(a)
            hashes = json.loads(old.get("spec_hashes", "[]"))
            if spec_hash not in hashes:
                hashes.append(spec_hash)
            new = {
                "schema_version": str(SCHEMA_VERSION),
                "package_version": old.get("package_version", package_version()),
                "created": old.get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
                "spec_hashes": json.dumps(hashes),
                "spec_hash": old.get("spec_hash", spec_hash),
                "axes": json.dumps(axes_all),
            }
            con.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(new.items()))
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            _unlock(lock_fd)
            raise InputError(f"{p}: store path is not writable or not a store ({exc})") from None
        return cls(p, con, new, lock_fd)

    @property
    def lock_fd(self) -> int | None:
        """The descriptor holding the writer's lock (pool workers close their inherited copy)."""
        return self._lock_fd

    def close(self) -> None:
        try:
            self._con.close()
        finally:
            if self._lock_fd is not None:
                _unlock(self._lock_fd)
                self._lock_fd = None

    def __enter__(self) -> "SweepStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ queries
    def count(self, status: str | None = None) -> int:
        if status is None:
            return self._con.execute("SELECT COUNT(*) FROM points").fetchone()[0]
        return self._con.execute("SELECT COUNT(*) FROM points WHERE status = ?", (status,)).fetchone()[0]

    def finished_keys(self, *, include_errors: bool = True) -> set[str]:
        sql = "SELECT point_key FROM points" + ("" if include_errors else " WHERE status = 'ok'")
        return {r[0] for r in self._con.execute(sql)}

    def attempts(self, key: str) -> int:
        r = self._con.execute("SELECT attempts FROM points WHERE point_key = ?", (key,)).fetchone()
        return int(r[0] or 0) if r else 0

    # ------------------------------------------------------------------ writes
    def record(self, point: Any, outcome: dict[str, Any], *, spec_hash: str = "") -> None:
        """Write one finished point (``outcome`` from `archsim.sweep.runner.execute_point`) and commit."""
        flat = outcome.get("metrics") or {}
        row: dict[str, Any] = {
            "point_key": point.key,
            "idx": point.index,
            "status": outcome["status"],
            "error": outcome.get("error"),
            "config_hash": point.config_hash,
            "config_json": json.dumps(point.config, sort_keys=True),
            "workload_json": json.dumps(point.workload, sort_keys=True),
            "seed": point.seed,
            "package_version": outcome.get("version") or package_version(),
            "total_cycles": flat.get("total_cycles"),
            "seconds": flat.get("seconds"),
            "total_energy_pj": flat.get("total_energy_pj"),
            "metrics_json": json.dumps(flat, sort_keys=True) if flat else None,
            "wall_s": outcome.get("wall_s"),
            "attempts": self.attempts(point.key) + 1,
            "finished_at": time.time(),
            "spec_hash": spec_hash,
        }
        for name, value in point.values.items():
            if name in _BASE_NAMES:
                continue
            if name not in self._columns:
                self._con.execute(f"ALTER TABLE points ADD COLUMN {_q(name)}")
                self._columns.append(name)
            row[name] = _sql_value(value)
        names = list(row)
        sql = (
            f"INSERT OR REPLACE INTO points ({', '.join(_q(n) for n in names)}) "
            f"VALUES ({', '.join('?' for _ in names)})"
        )
        try:
            self._con.execute(sql, [row[n] for n in names])  # autocommit: one transaction per point
        except sqlite3.Error as exc:
            raise InputError(f"{self.path}: cannot write point {point.key} ({exc})") from None


def _decode(v: Any) -> Any:
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def load_rows(path: str | Path, *, status: str | None = "ok") -> list[dict[str, Any]]:
    """Rows of a store as flat dicts: the axis / workload columns, status and every metric.

    ``status="ok"`` (default) keeps successful points only; ``None`` keeps all.  The store is
    opened read-only.
    """
    p = Path(path)
    read_meta(p)  # checked: exists, SQLite, quick_check, schema, version
    try:
        con = _connect_ro(p)
        try:
            con.row_factory = sqlite3.Row
            sql = "SELECT * FROM points" + (" WHERE status = ?" if status else "") + " ORDER BY idx, point_key"
            rows = con.execute(sql, (status,) if status else ()).fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise _damaged(p, str(exc)) from None
    out = []
    for r in rows:
        d = {k: r[k] for k in r.keys() if k not in ("config_json", "metrics_json", "workload_json")}
        for k in list(d):
            if k not in _BASE_NAMES:
                d[k] = _decode(d[k])
        try:
            metrics = json.loads(r["metrics_json"]) if r["metrics_json"] else {}
        except (TypeError, ValueError):
            raise _damaged(p, f"point {str(r['point_key'])[:12]}: unreadable metrics") from None
        if not isinstance(metrics, dict):
            raise _damaged(p, f"point {str(r['point_key'])[:12]}: metrics are not a mapping")
        for k, v in metrics.items():
            d.setdefault(k, v)
        d["workload_json"] = r["workload_json"]
        d["config_json"] = r["config_json"]
        out.append(d)
    return out

