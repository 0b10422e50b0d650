"""The allocator setting for streamed runs: applied on glibc, a no-op elsewhere, never an error."""

from __future__ import annotations

import platform

from archsim.hostmem import keep_freed_arrays


def test_keep_freed_arrays_applies_on_glibc():
    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert keep_freed_arrays(256 << 20) is glibc
