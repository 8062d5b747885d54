"""The fixed mmap threshold, seen as a user would see it: the process's resident memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# Holds 40 buffers of 1.5 MB (each followed by a small malloc'd object that pins the heap),
# frees the buffers, and prints how much of their 60 MB stayed resident.
_PROBE = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from crawler.malloc import fix_mmap_threshold

    def resident():
        return int(Path("/proc/self/statm").read_text().split()[1]) * 4096

    if sys.argv[1] == "fixed":
        assert fix_mmap_threshold()
    warm = bytearray(4 * 1024 * 1024)
    del warm  # one big block freed: by default glibc raises its threshold to its size
    before = resident()
    held, pins = [], []
    for _ in range(40):
        held.append(bytearray(1536 * 1024))
        pins.append(bytearray(1000))  # above pymalloc's 512 bytes
    del held
    print(resident() - before)
    """
)


def _kept_after_free(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True
    ).stdout
    return int(out)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_large_buffers_leave_the_process_once_the_threshold_is_fixed() -> None:
    megabyte = 1024 * 1024
    assert _kept_after_free("adaptive") > 40 * megabyte  # the glibc default keeps them
    assert _kept_after_free("fixed") < 5 * megabyte
