"""Progress bars for long commands (tqdm, on stderr), silent when stderr is not a terminal.

Not a command module (nothing to register): `bar` is what ``run sat --model``, ``piuma
compare|scaling`` and ``rtl synth`` use.  When stderr is not a TTY (CI, pipes, files) the bar is
a no-op object with the same methods, and tqdm is not even imported.
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import Iterator


class _Quiet:
    """The no-op stand-in for a tqdm bar."""

    def update(self, n: float = 1) -> None:
        pass

    def set_description_str(self, desc: str) -> None:
        pass

    def refresh(self) -> None:
        pass

    def write(self, text: str) -> None:
        print(text)

    def close(self) -> None:
        pass

    def __enter__(self) -> "_Quiet":
        return self

    def __exit__(self, *exc) -> None:
        pass


def enabled() -> bool:
    """Whether progress is shown: stderr is an interactive terminal."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def bar(total: float | None, desc: str, *, unit: str = "it", show: bool | None = None):
    """A tqdm bar on stderr (or a no-op when not on a terminal); use as a context manager.

    ``write`` prints a line without breaking the bar (tqdm.write), or plainly when quiet."""
    if not (enabled() if show is None else show):
        return _Quiet()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True,
                file=sys.stderr, unit_scale=unit != "it")


@contextmanager
def ticking(b, every_s: float = 1.0) -> Iterator[None]:
    """Refresh ``b`` every ``every_s`` seconds while a blocking call runs (elapsed time moves)."""
    if isinstance(b, _Quiet):
        yield
        return
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(every_s):
            b.refresh()

    t = threading.Thread(target=tick, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
