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

from typing import Iterable

__all__ = ["InputError", "did_you_mean"]


def did_you_mean(value: object, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the valid name nearest to ``value`` (difflib), else ``""``.

    >>> did_you_mean("resnt50", ["resnet18", "resnet50", "vgg16"])
    "; did you mean 'resnet50'?"
    >>> did_you_mean("zzz", ["resnet18"])
    ''
    """
    import difflib

    near = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {near[0]!r}?" if near else ""


class InputError(ValueError):
    """A user-facing error: one line, naming the field or file and the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
