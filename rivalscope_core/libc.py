"""glibc's ``mallopt`` and ``malloc_trim``, for the crawler's and the analyser's heap settings
(``crawler/malloc.py``, ``analyzer_lambda/heap.py``): one lookup, one answer on a C library
without them (musl, macOS): False, nothing changed.

The functions are looked up among the symbols already loaded into the process (``CDLL(None)``),
the C library's among them: finding the library by name (``ctypes.util.find_library``) would run
``ldconfig`` or a compiler in a subprocess, at every crawl start and Lambda cold start."""

from __future__ import annotations

import ctypes
import functools
from typing import Any

# glibc's malloc.h: mallopt's parameter numbers.
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


@functools.cache
def _function(name: str, *argtypes: type) -> Any:
    try:
        function = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = argtypes
    function.restype = ctypes.c_int
    return function


def mallopt(parameter: int, value: int) -> bool:
    """True when glibc took the setting."""
    function = _function("mallopt", ctypes.c_int, ctypes.c_int)
    return function is not None and bool(function(parameter, value))


def malloc_trim() -> bool:
    """Give the pages freed memory left in every arena back to the system; True when any were."""
    function = _function("malloc_trim", ctypes.c_size_t)
    return function is not None and bool(function(0))
