"""``analyzer_lambda.heap``: glibc's arenas counted by ``malloc_stats`` in a fresh interpreter,
with threads that allocate as the report's pools do."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

from analyzer_lambda import heap

pytestmark = pytest.mark.skipif(
    not hasattr(ctypes.CDLL(None), "malloc_stats"), reason="glibc's malloc only"
)

_THREADS = """
import sys, threading
from analyzer_lambda import heap
limited = "MALLOC_ARENA_MAX" in heap.limit_heap() if sys.argv[1] == "limit" else False
barrier = threading.Barrier(8)
def work():
    barrier.wait()  # all eight at once: each would get an arena of its own
    blocks = [bytearray(64 * 1024) for _ in range(64)]
    barrier.wait()
    del blocks
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print("limited" if limited else "not limited", flush=True)
import ctypes
ctypes.CDLL(None).malloc_stats()  # per arena, on stderr
"""


def _arenas(mode: str, **env: str) -> tuple[str, int]:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    done = subprocess.run(
        [sys.executable, "-c", _THREADS, mode],
        capture_output=True, text=True, check=True, env=environ, timeout=60,
    )  # fmt: skip
    return done.stdout.strip(), done.stderr.count("Arena ")


def test_threads_share_at_most_arena_max_arenas_once_limited() -> None:
    assert _arenas("limit") == ("limited", heap.ARENA_MAX)


def test_without_the_limit_the_same_threads_take_more_arenas() -> None:
    said, arenas = _arenas("none")
    assert said == "not limited"
    assert arenas > heap.ARENA_MAX


def test_an_operators_malloc_arena_max_is_left_alone() -> None:
    said, arenas = _arenas("limit", MALLOC_ARENA_MAX="3")
    assert said == "not limited"
    assert arenas == 3


def test_the_arena_limit_is_set_unless_the_operator_set_it() -> None:
    def set_by(**env: str) -> str:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | env
        code = "from analyzer_lambda import heap; print(' '.join(heap.limit_heap()))"
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True, text=True, check=True, env=environ, timeout=60,
        )  # fmt: skip
        return done.stdout.strip()

    assert set_by() == "MALLOC_ARENA_MAX"
    assert set_by(MALLOC_ARENA_MAX="4") == ""
