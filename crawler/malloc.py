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

import ctypes
import logging

logger = logging.getLogger(__name__)

# glibc's malloc.h: M_MMAP_THRESHOLD; 128 KiB is glibc's own starting threshold.
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """True when glibc accepted the threshold; False (and nothing changed) on a C library
    without ``mallopt``, such as musl or macOS's."""
    try:
        # The symbols already loaded into this process, the C library's among them (looking the
        # library up by name would run ldconfig).
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        logger.debug("no mallopt here: large buffers stay under the C library's own policy")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))
