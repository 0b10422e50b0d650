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
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

from archsim.results import package_version
from workloads.errors import InputError

__all__ = ["SCHEMA_VERSION", "SweepStore", "load_rows", "read_meta", "BASE_COLUMNS"]

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


def _check_existing(path: Path) -> dict[str, str] | None:
    """Meta of an existing store (read-only, nothing written), None when there is no store yet."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a sweep store")
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise InputError(f"{path}: cannot read store ({exc.strerror})") from None
    if head != _SQLITE_MAGIC:
        raise InputError(f"{path}: not an archsim sweep store (not an SQLite file)")
    meta = read_meta(path)
    version = meta.get("schema_version")
    if version != str(SCHEMA_VERSION):
        writer = meta.get("package_version", "unknown")
        raise InputError(
            f"{path}: store schema version {version} (written by archsim {writer}) is not supported; "
            f"this archsim reads schema version {SCHEMA_VERSION}"
        )
    return meta


def read_meta(path: str | Path) -> dict[str, str]:
    """The ``meta`` table of a store, opened read-only."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: store not found")
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT key, value FROM meta").fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        if "no such table" in str(exc):
            raise InputError(f"{path}: not an archsim sweep store (no meta table)") from None
        raise InputError(f"{path}: cannot read store ({exc})") from None
    return dict(rows)


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


class SweepStore:
    """A sweep store opened for writing by the sweep's main process.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> s = SweepStore.open(d / "s.db", spec_hash="abc", axes=["array.rows"])
    >>> s.count()
    0
    >>> s.close()
    """

    def __init__(self, path: Path, con: sqlite3.Connection, meta: dict[str, str]) -> None:
        self.path = path
        self._con = con
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
        if meta is not None:
            hashes = json.loads(meta.get("spec_hashes", "[]"))
            if spec_hash not in hashes and not allow_other_spec:
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
            raise InputError(f"{p}: store path is not writable or not a store ({exc})") from None
        return cls(p, con, new)

    def close(self) -> None:
        self._con.close()

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
    if not p.exists():
        raise InputError(f"{p}: store not found")
    _check_existing(p)
    con = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
    try:
        con.row_factory = sqlite3.Row
        sql = "SELECT * FROM points" + (" WHERE status = ?" if status else "") + " ORDER BY idx, point_key"
        rows = con.execute(sql, (status,) if status else ()).fetchall()
    finally:
        con.close()
    out = []
    for r in rows:
        d = {k: r[k] for k in r.keys() if k not in ("config_json", "metrics_json", "workload_json")}
        for k in list(d):
            if k not in _BASE_NAMES:
                d[k] = _decode(d[k])
        metrics = json.loads(r["metrics_json"]) if r["metrics_json"] else {}
        for k, v in metrics.items():
            d.setdefault(k, v)
        d["workload_json"] = r["workload_json"]
        d["config_json"] = r["config_json"]
        out.append(d)
    return out

