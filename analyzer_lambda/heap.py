"""The process's C heap: fewer glibc malloc arenas, and freed memory handed back to the system.

Why (bench/RESULTS.md, "Runs (issue #13)", the run-complete step's memory): the report's work
decodes megabytes per page (chunk bodies, base64 screenshots, Pillow images) in thread pools —
the screenshots' writers, the results' readers, boto3's uploads. glibc gives each thread that
allocates its own arena (up to 8 per core), and what a thread frees stays in its arena's pages:
the step written part by part, with new pools for every part, peaked 1.5x higher than the same
work with ``MALLOC_ARENA_MAX=2``, though Python's own allocations were the same. A fixed mmap
threshold (``MALLOC_MMAP_THRESHOLD_=131072``, glibc's dynamic raise off) lowered that trial's
peak further, but cost **1.28x the CPU** of the step (100 pages, 21.0 vs 16.3 CPU s, peak RSS
330 vs 307 MB, medians of 2, the lead's quiet-machine run): every megabyte string mmapped and
unmapped again. CPU is billed as Lambda time too, so only the arena limit is set, once, before
any pool starts, and the report trims the heap between its parts.

All of it is best effort: on a C library other than glibc (macOS, musl) nothing happens. An
operator's own ``MALLOC_ARENA_MAX`` (glibc's variable, read at process start) is left alone."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rivalscope_core.libc import M_ARENA_MAX, malloc_trim, mallopt

if TYPE_CHECKING:
    from collections.abc import Mapping

ARENA_MAX = 2  # what the measurement above used; glibc's default is 8 per core


def limit_heap(environ: Mapping[str, str] = os.environ) -> list[str]:
    """At most ``ARENA_MAX`` malloc arenas for the threads started from now on; returns the
    glibc variables it set. Call it before the first thread pool (the handler's import)."""
    # an operator's MALLOC_ARENA_MAX: glibc has already applied it
    if "MALLOC_ARENA_MAX" in environ:
        return []
    return ["MALLOC_ARENA_MAX"] if mallopt(M_ARENA_MAX, ARENA_MAX) else []


def release_freed() -> bool:
    """Give the pages that freed memory left in every arena back to the system
    (``malloc_trim(0)``): between the report's parts, so the next one starts from a small
    heap. True when glibc released any."""
    return malloc_trim()
