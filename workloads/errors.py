"""The one exception type for user mistakes, shared by every package.

`InputError` is raised for anything a user can get wrong: an impossible N:M ratio, an unknown
model, a malformed Matrix Market file, a config field out of range, a tiling that cannot fit the
buffers.  Its message is one line that names the field or file and the reason.  The CLI prints
it as ``error: <message>`` and exits with status 2, without a traceback.  Everything else is a
bug and keeps its traceback.

It lives in `workloads` because that package imports none of the others; `dataflow` and
`archsim` import it from here.
"""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """A user-facing error: one line, naming the field or file and the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
