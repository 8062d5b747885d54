"""The process's C heap: fewer glibc malloc arenas, and freed memory handed back to the system.

Why (bench/RESULTS.md, "Runs (issue #13)", the run-complete step's memory): the report's work
decodes megabytes per page (chunk bodies, base64 screenshots, Pillow images) in thread pools —
the screenshots' writers, the results' readers, boto3's uploads. glibc gives each thread that
allocates its own arena (up to 8 per core), and what a thread frees stays in its arena's pages:
the step written part by part, with new pools for every part, peaked 1.5x higher than the same
work with ``MALLOC_ARENA_MAX=2``, though Python's own allocations were the same. glibc also
raises its mmap threshold each time a large block is freed (up to 32 MB), after which the
megabyte-sized strings and images come from the arenas too and stay there; a fixed threshold
keeps them mmapped, returned to the system when freed (1.9x lower peak than the default in that
trial, with ``MALLOC_MMAP_THRESHOLD_=131072``). A Lambda's memory is billed, so the handler sets
both once, before any pool starts, and the report trims the heap between its parts.

All of it is best effort: on a C library other than glibc (macOS, musl) nothing happens. An
operator's own ``MALLOC_ARENA_MAX`` or ``MALLOC_MMAP_THRESHOLD_`` (glibc's variables, read at
process start) is left alone."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

ARENA_MAX = 2  # what the measurement above used; glibc's default is 8 per core
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value, kept fixed (no dynamic raise)
_M_ARENA_MAX = -8  # mallopt's parameter numbers, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt  # noqa: B018 - present in glibc only (musl and macOS lack it)
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def limit_heap(environ: Mapping[str, str] = os.environ) -> list[str]:
    """At most ``ARENA_MAX`` malloc arenas for the threads started from now on, and a fixed
    ``MMAP_THRESHOLD``; returns the glibc variables it set. Call it before the first thread
    pool (the handler's import)."""
    libc = _glibc()
    if libc is None:
        return []
    wanted = {
        "MALLOC_ARENA_MAX": (_M_ARENA_MAX, ARENA_MAX),
        "MALLOC_MMAP_THRESHOLD_": (_M_MMAP_THRESHOLD, MMAP_THRESHOLD),
    }
    done = []
    for variable, (parameter, value) in wanted.items():
        # the operator chose, and glibc has already applied it
        if variable not in environ and libc.mallopt(parameter, value):
            done.append(variable)
    return done


def release_freed() -> bool:
    """Give the pages that freed memory left in every arena back to the system
    (``malloc_trim(0)``): between the report's parts, so the next one starts from a small
    heap. True when glibc released any."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.malloc_trim(0))
