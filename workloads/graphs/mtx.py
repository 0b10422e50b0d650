"""Matrix Market (``.mtx``) reading and writing, with one-line errors that name the file.

What is supported
-----------------
``read_mtx`` reads the *coordinate* format with field ``real``, ``integer`` or ``pattern``
and symmetry ``general`` or ``symmetric``.  Symmetric files are expanded to both triangles
(every stored off-diagonal entry is mirrored, the diagonal kept once, as
``scipy.io.mmread`` does); pattern entries get the value 1.0; duplicate entries are summed;
explicit zeros are kept as stored entries.  The result is a canonical ``float64``
``scipy.sparse.csr_array`` (sorted indices, no duplicates).

The body is parsed in one vectorised pass.  Only when that fails is the file re-read line by
line, to report the first bad line's number and reason (wrong number of fields, non-numeric
value, index out of range, more or fewer entries than the size line declares).

``write_mtx`` writes any 2-D sparse (or dense) matrix as ``coordinate real general``.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from workloads.errors import InputError

__all__ = ["read_mtx", "write_mtx"]

_FIELDS = ("real", "integer", "pattern")
_SYMMETRIES = ("general", "symmetric")
_INT_RE = re.compile(r"^[+-]?\d+$")
BYTES_PER_ENTRY = 48  # parse + COO + CSR copies of one entry (int64 row, col, float64 value), read_mtx's peak
GIB = float(1 << 30)


def available_memory_bytes() -> int:
    """Memory the machine can still give this process (``MemAvailable``; physical memory if
    that is unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 1 << 62


def load_bytes(nrows: int, nnz: int, symmetric: bool = False) -> int:
    """Peak bytes `read_mtx` needs for a matrix of ``nrows`` rows and ``nnz`` stored entries."""
    entries = nnz * (2 if symmetric else 1)
    return int(16 * (nrows + 1) + BYTES_PER_ENTRY * entries)


def check_size(what: str, need_bytes: int, max_bytes: int | None) -> None:
    """`InputError` if ``need_bytes`` exceeds ``max_bytes`` (None: the available memory)."""
    limit = available_memory_bytes() if max_bytes is None else int(max_bytes)
    if need_bytes > limit:
        src = "available memory" if max_bytes is None else "limit (--max-input-gib / max_input_bytes)"
        raise InputError(f"{what} needs about {need_bytes / GIB:.1f} GiB to load, more than the {limit / GIB:.1f} GiB {src}")


def _fail(path: os.PathLike | str, reason: str, line: int | None = None) -> InputError:
    where = f"{path}" if line is None else f"{path}: line {line}"
    return InputError(f"{where}: {reason}")


def _parse_header(path, first: str) -> tuple[str, str]:
    tokens = first.strip().lower().split()
    if not tokens or tokens[0] != "%%matrixmarket":
        raise _fail(path, "missing '%%MatrixMarket' header", 1)
    if len(tokens) != 5:
        raise _fail(path, "header must be '%%MatrixMarket matrix coordinate FIELD SYMMETRY'", 1)
    _, obj, fmt, field, symmetry = tokens
    if obj != "matrix":
        raise _fail(path, f"unsupported object {obj!r} (only 'matrix')", 1)
    if fmt != "coordinate":
        raise _fail(path, f"unsupported format {fmt!r} (only 'coordinate')", 1)
    if field not in _FIELDS:
        raise _fail(path, f"unsupported field {field!r} (one of {', '.join(_FIELDS)})", 1)
    if symmetry not in _SYMMETRIES:
        raise _fail(
            path, f"unsupported symmetry {symmetry!r} (one of {', '.join(_SYMMETRIES)})", 1
        )
    return field, symmetry


def read_mtx(path: str | os.PathLike, *, max_bytes: int | None = None, allow_nonfinite: bool = False) -> sp.csr_array:
    """Read a coordinate Matrix Market file into a canonical float64 ``csr_array``.

    Every malformed input raises `InputError` naming the file (and the line where relevant).
    Row and column indices must be plain ASCII integers (``1e3`` or ``1.0`` is refused).
    A file whose size line declares more than ``max_bytes`` of matrix (default: the memory
    still available; see `load_bytes`) is refused before its body is read, as is a file
    larger than that.  NaN and infinite values are refused unless ``allow_nonfinite``.
    """
    limit = available_memory_bytes() if max_bytes is None else int(max_bytes)
    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0
    if 4 * size > limit:  # the text, its split and the parsed table
        check_size(f"{path} ({size / GIB:.1f} GiB file)", 4 * size, max_bytes)
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16).decode("utf-8", errors="replace")
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except IsADirectoryError:
        raise _fail(path, "is a directory, not a .mtx file") from None
    except OSError as exc:
        raise _fail(path, f"cannot read ({exc.strerror or exc})") from None
    _check_declared_size(path, head, max_bytes)
    try:
        text = Path(path).read_text(encoding="utf-8", errors="strict")
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except IsADirectoryError:
        raise _fail(path, "is a directory, not a .mtx file") from None
    except UnicodeDecodeError:
        raise _fail(path, "not a text file (not UTF-8)") from None
    except OSError as exc:
        raise _fail(path, f"cannot read ({exc.strerror or exc})") from None

    # Header, comments and size line: walk lines until the size line.
    pos = 0
    lineno = 0
    header_done = False
    size_line = None
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos:end]
        pos = end + 1
        lineno += 1
        if not header_done:
            field, symmetry = _parse_header(path, line)
            header_done = True
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("%"):
            continue
        size_line = stripped
        break
    if not header_done:
        raise _fail(path, "empty file (missing '%%MatrixMarket' header)")
    if size_line is None:
        raise _fail(path, "missing size line 'ROWS COLS ENTRIES'")
    parts = size_line.split()
    if len(parts) != 3 or not all(_INT_RE.match(p) for p in parts):
        raise _fail(path, f"size line must be 'ROWS COLS ENTRIES', got {size_line!r}", lineno)
    nrows, ncols, nnz = (int(p) for p in parts)
    if nrows < 0 or ncols < 0 or nnz < 0:
        raise _fail(path, f"negative size in {size_line!r}", lineno)
    if symmetry == "symmetric" and nrows != ncols:
        raise _fail(path, f"symmetric matrix must be square, got {nrows}x{ncols}", lineno)

    width = 2 if field == "pattern" else 3
    body = text[pos:] if pos < len(text) else ""
    del text
    parsed = _parse_body_fast(body, nnz, width)
    if parsed is None:
        _diagnose(path, body, lineno, nnz, width, field, nrows, ncols)
        raise _fail(path, "malformed entries")  # pragma: no cover - _diagnose always raises
    rows, cols, vals = parsed
    if nnz and (
        rows.min() < 1 or rows.max() > nrows or cols.min() < 1 or cols.max() > ncols
        or (field == "integer" and not np.all(np.isfinite(vals) & (vals == np.round(vals))))
        # an integer file's values are ASCII integers too: "1e3" or "2.0" parse as whole floats
        or (field == "integer" and any(ch in body for ch in ".eE"))
    ):
        _diagnose(path, body, lineno, nnz, width, field, nrows, ncols)
    if not allow_nonfinite and width == 3 and nnz and not np.isfinite(vals).all():
        bad = int(np.flatnonzero(~np.isfinite(vals))[0])
        raise _fail(path, f"value {vals[bad]!r} is not finite (NaN/Inf refused; --allow-nonfinite accepts it)",
                    _entry_line(body, lineno, bad))
    rows -= 1
    cols -= 1
    if field == "pattern":
        vals = np.ones(nnz, dtype=np.float64)
    if symmetry == "symmetric":
        off = rows != cols
        rows, cols = np.concatenate([rows, cols[off]]), np.concatenate([cols, rows[off]])
        vals = np.concatenate([vals, vals[off]])
    coo = sp.coo_array((vals, (rows, cols)), shape=(nrows, ncols))
    out = coo.tocsr()
    out.sum_duplicates()
    out.sort_indices()
    return out


def _check_declared_size(path, head: str, max_bytes: int | None) -> None:
    """Refuse at once a size line that declares more matrix than may be loaded (only the
    first 64 KiB of the file is looked at; a malformed head is left to the full parse)."""
    lines = head.split("\n")
    if not lines or not lines[0].lower().startswith("%%matrixmarket"):
        return
    symmetric = "symmetric" in lines[0].lower()
    for line in lines[1:-1]:
        t = line.strip()
        if not t or t.startswith("%"):
            continue
        parts = t.split()
        if len(parts) == 3 and all(_INT_RE.match(p) for p in parts):
            nrows, ncols, nnz = (int(p) for p in parts)
            if nrows >= 0 and ncols >= 0 and nnz >= 0:
                check_size(f"{path}: {nrows}x{ncols} with {nnz} entries", load_bytes(max(nrows, ncols), nnz, symmetric), max_bytes)
        return


def _entry_line(body: str, size_lineno: int, entry: int) -> int:
    """Line number of the ``entry``-th (0-based) entry line of ``body``."""
    count = -1
    for lineno, line in enumerate(body.split("\n"), start=size_lineno + 1):
        t = line.strip()
        if t and not t.startswith("%"):
            count += 1
            if count == entry:
                return lineno
    return size_lineno


def _parse_body_fast(body: str, nnz: int, width: int):
    """Vectorised parse of the entry lines; None if anything is off (then `_diagnose`)."""
    if "%" in body:  # comment lines among the entries: drop them first (rare)
        body = "\n".join(ln for ln in body.split("\n") if not ln.lstrip().startswith("%"))
    if nnz == 0:
        if body.split():
            return None
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=np.float64)
    # indices parsed as integers: "1e3" or "1.0" as an index is an error (then `_diagnose`);
    # loadtxt also refuses a line with a wrong number of fields
    dt = [("r", np.int64), ("c", np.int64)] + ([("v", np.float64)] if width == 3 else [])
    try:
        table = np.loadtxt(io.StringIO(body), dtype=dt, ndmin=1)
    except ValueError:
        return None
    if table.shape != (nnz,):
        return None
    rows = table["r"].copy()
    cols = table["c"].copy()
    vals = table["v"].copy() if width == 3 else np.ones(nnz, dtype=np.float64)
    return rows, cols, vals


def _diagnose(path, body: str, size_lineno: int, nnz: int, width: int, field: str,
              nrows: int, ncols: int) -> None:
    """Find the first bad entry line and raise an `InputError` for it."""
    count = 0
    lineno = size_lineno
    for lineno, line in enumerate(body.split("\n"), start=size_lineno + 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("%"):
            continue
        count += 1
        if count > nnz:
            raise _fail(path, f"more entries than the {nnz} declared in the size line", lineno)
        fields = stripped.split()
        if len(fields) != width:
            raise _fail(
                path, f"expected {width} fields for a {field} entry, got {len(fields)}", lineno
            )
        for name, tok, bound in (("row", fields[0], nrows), ("column", fields[1], ncols)):
            if not _INT_RE.match(tok):
                raise _fail(path, f"{name} index {tok!r} is not an integer", lineno)
            if not 1 <= int(tok) <= bound:
                raise _fail(path, f"{name} index {tok} out of range 1..{bound}", lineno)
        if width == 3:
            tok = fields[2]
            if field == "integer":
                if not _INT_RE.match(tok):
                    raise _fail(path, f"value {tok!r} is not an integer", lineno)
            else:
                try:
                    float(tok)
                except ValueError:
                    raise _fail(path, f"value {tok!r} is not a number", lineno) from None
    if count < nnz:
        raise _fail(path, f"found {count} entries, fewer than the {nnz} declared in the size line")
    raise _fail(path, "malformed entries", lineno)


def write_mtx(path: str | os.PathLike, matrix) -> None:
    """Write a 2-D sparse (or dense) matrix as ``coordinate real general`` (1-based indices,
    values written in the shortest form that reads back exactly)."""
    if sp.issparse(matrix):
        coo = sp.coo_array(matrix)
    else:
        arr = np.asarray(matrix)
        if arr.ndim != 2:
            raise InputError(f"{path}: write_mtx needs a 2-D matrix, got {arr.ndim}-d")
        coo = sp.coo_array(arr)
    if coo.ndim != 2:
        raise InputError(f"{path}: write_mtx needs a 2-D matrix, got {coo.ndim}-d")
    coo.sum_duplicates()
    if np.iscomplexobj(coo.data):
        raise InputError(f"{path}: write_mtx writes real matrices only, got complex values")
    nrows, ncols = coo.shape
    rows = coo.row.astype(np.int64) + 1
    cols = coo.col.astype(np.int64) + 1
    vals = coo.data.astype(np.float64)
    buf = io.StringIO()
    buf.write("%%MatrixMarket matrix coordinate real general\n")
    buf.write(f"{nrows} {ncols} {coo.nnz}\n")
    if coo.nnz:
        # repr() of a Python float is the shortest string that reads back to the same value.
        buf.write("\n".join(
            f"{r} {c} {v!r}" for r, c, v in zip(rows.tolist(), cols.tolist(), vals.tolist())
        ))
        buf.write("\n")
    try:
        Path(path).write_text(buf.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
