"""Small real matrices shipped as package data, and one loader for names or paths.

The bundled files live in ``workloads/graphs/data/`` (provenance and licences in
``data/ATTRIBUTION.md``); they are located with `importlib.resources`, so they work from an
installed wheel as well as from a source tree.

>>> "karate" in bundled_names()
True
>>> load_matrix("karate").shape
(34, 34)
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import scipy.sparse as sp

from workloads.errors import InputError, did_you_mean
from workloads.graphs.mtx import read_mtx

__all__ = ["bundled_names", "load_matrix"]

_DATA = "data"


def _data_dir():
    return resources.files("workloads.graphs").joinpath(_DATA)


def bundled_names() -> tuple[str, ...]:
    """Names of the bundled matrices (file names without ``.mtx``), sorted case-insensitively."""
    names = (
        entry.name[: -len(".mtx")]
        for entry in _data_dir().iterdir()
        if entry.name.endswith(".mtx") and entry.is_file()
    )
    return tuple(sorted(names, key=str.lower))


def load_matrix(name_or_path: str | os.PathLike, **read_options) -> sp.csr_array:
    """A bundled matrix by name (``"karate"``) or any Matrix Market file by path.

    A string that is neither a bundled name nor an existing file (and does not end in
    ``.mtx``) is an `InputError` listing the bundled names.  ``read_options`` go to `read_mtx`
    (``max_bytes``, ``allow_nonfinite``).
    """
    text = os.fspath(name_or_path)
    if isinstance(text, str) and not isinstance(name_or_path, Path):
        names = bundled_names()
        if text in names:
            with resources.as_file(_data_dir().joinpath(f"{text}.mtx")) as path:
                return read_mtx(path, **read_options)
        if not os.path.exists(text) and not text.lower().endswith(".mtx"):
            raise InputError(
                f"matrix: unknown {text!r}{did_you_mean(text, names)} (give a .mtx path or one "
                f"of {', '.join(names)})"
            )
    return read_mtx(name_or_path, **read_options)
