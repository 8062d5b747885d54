from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from crawler import resources
from crawler.resources import MEMORY_EVERY, ProcessTreeSampler

if TYPE_CHECKING:
    import psutil
    import pytest


def test_memory_is_read_at_the_first_sample_and_then_every_nth_cpu_at_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[int] = []

    def memory(process: psutil.Process) -> int:
        reads.append(process.pid)
        return 1000

    monkeypatch.setattr(resources, "_memory", memory)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        sampler = ProcessTreeSampler(interval=60.0)
        samples = 2 * MEMORY_EVERY + 1
        for _ in range(samples):
            sampler.sample()
    finally:
        child.kill()
        child.wait()
    # this process and its child (a test worker may have other children), at samples 0,
    # MEMORY_EVERY and 2 * MEMORY_EVERY
    assert reads.count(os.getpid()) == 3
    assert reads.count(child.pid) == 3
    assert sampler._peak_memory >= 2000
    # the child's CPU was read at every sample
    assert child.pid in {pid for pid, _ in sampler._descendant_cpu}
