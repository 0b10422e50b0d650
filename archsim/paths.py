"""Output names that stay inside their output folder.

A name the user gives for a file inside an output folder (``rtl export --name``, a sweep spec's
``name`` that becomes ``out/sweeps/<name>.db``) must be a plain file name: no directory
separators, not ``.``/``..``, no NUL, not absolute, at most 200 characters.  `check_output_name`
refuses anything else with a one-line `InputError`; `inside` joins and re-checks that the result
is still inside the folder (symlinks resolved).
"""

from __future__ import annotations

from pathlib import Path

from workloads.errors import InputError

__all__ = ["check_output_name", "inside"]

_MAX_NAME_CHARS = 200


def check_output_name(name: str, what: str) -> str:
    """``name`` if it is a plain file name (see the module docstring), else an `InputError`."""
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{what}: empty name")
    bad = None
    if "/" in name or "\\" in name:
        bad = "contains a directory separator"
    elif name in (".", "..") or name.startswith(".."):
        bad = "is not a plain file name"
    elif "\x00" in name or any(ord(c) < 32 for c in name):
        bad = "contains control characters"
    elif len(name) > _MAX_NAME_CHARS:
        bad = f"is longer than {_MAX_NAME_CHARS} characters"
    if bad:
        shown = name if len(name) <= 60 else name[:57] + "..."
        raise InputError(f"{what} {shown!r}: {bad}; give a plain name (the file goes inside the "
                         f"output folder)")
    return name


def inside(folder: str | Path, name: str, what: str) -> Path:
    """``folder / name`` after `check_output_name`, refused if it resolves outside ``folder``."""
    check_output_name(name, what)
    base = Path(folder)
    target = base / name
    try:
        if not target.resolve().is_relative_to(base.resolve()):
            raise InputError(f"{what} {name!r}: resolves outside the output folder {str(base)!r}")
    except OSError as exc:
        raise InputError(f"{what} {name!r}: cannot resolve ({exc.strerror})") from None
    return target


def write_file(path: str | Path, data: str | bytes, what: str = "output") -> Path:
    """Write ``data`` to ``path`` (creating its folder), or a one-line `InputError` naming the
    path and the reason: a full disk (``/dev/full``), a read-only folder, a parent that is a
    file, a target that is a directory.  The file is closed (and so flushed) before returning,
    so a failed write can never pass silently."""
    p = Path(path)
    try:
        if p.is_dir():
            raise InputError(f"{what} {str(p)!r}: is a directory, expected a file path")
        if str(p.parent) not in ("", ".") and not p.parent.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(p, mode) as fh:
            fh.write(data)
    except InputError:
        raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(f"{what} {str(p)!r}: cannot write ({reason})") from None
    return p


def read_text(path: str | Path, what: str, max_bytes: int = 64 * 1024 * 1024) -> str:
    """A user's UTF-8 text file (a schedule, a synthesis JSON...), or a one-line `InputError`
    naming it: missing, a directory or device, over ``max_bytes``, or not UTF-8."""
    from archsim.config import decode_text, read_user_bytes

    return decode_text(read_user_bytes(path, what, max_bytes), path, what)
