"""Shared test set-up: where the test data that is not in the repository lives.

Real weights (MiniLM-L6 layer 0, ``models/weights/*.npy``) and other large inputs are read from
a shared data folder, never from an absolute path:

* ``ARCHSIM_SHARED_DATA`` — the folder, if set (an explicitly set folder that does not exist
  is an error, not a skip: a typo must not silently drop tests);
* otherwise ``../shared/data`` next to the repository root (where CI keeps it).

Tests take the `shared_data` fixture and call ``shared_data.path("models/weights/x.npy")``,
which skips the test with the reason (variable, default, what is missing) when the file is
absent; ``shared_data.find(...)`` returns ``None`` instead, for tests that check the shared
inputs as one part among others and report the skipped part themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA_ENV = "ARCHSIM_SHARED_DATA"
SHARED_DATA_DEFAULT = REPO.parent / "shared" / "data"


@dataclass(frozen=True)
class SharedData:
    """The shared data folder (``root`` is ``None`` when there is none) and how it was chosen."""

    root: Path | None
    source: str

    def find(self, rel: str) -> Path | None:
        """``root / rel`` if it exists, else ``None``."""
        if self.root is None:
            return None
        p = self.root / rel
        return p if p.exists() else None

    def why_missing(self, rel: str) -> str:
        where = (self.root if self.root is not None else SHARED_DATA_DEFAULT) / rel
        return (f"shared test data {where} not found ({self.source}; set {SHARED_DATA_ENV} "
                f"to the folder holding models/weights/)")

    def path(self, rel: str) -> Path:
        """``root / rel``; skips the calling test with the reason when it is absent."""
        p = self.find(rel)
        if p is None:
            pytest.skip(self.why_missing(rel))
        return p


def locate_shared_data() -> SharedData:
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        root = Path(env).expanduser()
        if not root.is_dir():
            raise pytest.UsageError(f"{SHARED_DATA_ENV}={env}: not a directory")
        return SharedData(root.resolve(), f"{SHARED_DATA_ENV}={env}")
    source = f"default ../shared/data from the repository root, {SHARED_DATA_ENV} unset"
    root = SHARED_DATA_DEFAULT
    return SharedData(root.resolve() if root.is_dir() else None, source)


@pytest.fixture(scope="session")
def shared_data() -> SharedData:
    """The shared test data folder (see the module docstring)."""
    return locate_shared_data()
