"""Freed screenshot-sized buffers go back to the operating system at once.

Every rendered page passes multi-megabyte buffers through the crawler process: chromedriver's HTTP
answer with the screenshot, its base64 text, the JSON line and its compressed bytes. glibc serves a
block above its mmap threshold (128 KiB at start) with ``mmap`` and unmaps it when it is freed, but
it also raises the threshold to the size of each such block freed (up to 32 MiB). After the first
screenshot, those buffers therefore come from the heap arenas of the worker threads that allocate
them, which fragment and keep the memory: on the crawl benchmark the python process peaked at
299–324 MB PSS with the adaptive threshold and 171–184 MB with it fixed (``python -m bench.crawl
--only rivalscope``, 60 pages, two runs each; bench/RESULTS.md). ``mallopt(M_MMAP_THRESHOLD)``
fixes it and turns the adaptation off; the ``MALLOC_MMAP_THRESHOLD_`` variable would too, but only
from process start, which ``scrapy crawl``, the tests and the benchmark do not share.
"""

from __future__ import annotations

from rivalscope_core.libc import M_MMAP_THRESHOLD, mallopt

# 128 KiB is glibc's own starting threshold.
MMAP_THRESHOLD_BYTES = 128 * 1024


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """True when glibc accepted the threshold; False (and nothing changed) on a C library
    without ``mallopt``, such as musl or macOS's."""
    return mallopt(M_MMAP_THRESHOLD, threshold)
