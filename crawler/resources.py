"""CPU seconds and peak memory of the crawl's whole process tree, browsers included.

They go into the shard's ``_done`` marker and feed the cost ledger (Fargate bills the task, and
most of its work is Chromium's, in chromedriver's and Chromium's own processes, not in this
one). A daemon thread samples the tree every ``interval`` seconds with psutil:

- peak memory is the largest sum of the tree's PSS (proportional set size: Chromium's processes
  share much of their memory, and a sum of RSS would count it once per process; RSS is the
  fallback where PSS cannot be read), read at every ``MEMORY_EVERY``-th sample only: the
  kernel walks a process's page tables to answer ``/proc/PID/smaps_rollup``, 3-4 ms for each of
  Chromium's processes, and at every sample that was the largest single share of the crawler
  process's own CPU (~16 % in a ``perf`` profile of the crawl benchmark, bench/RESULTS.md
  "Render cost (issue #16)", "The crawler's own python");
- CPU is this process's own time (exact, from ``getrusage``) plus its descendants': the larger
  of the last sampled CPU time of every descendant ever seen and ``RUSAGE_CHILDREN`` (the exact
  time of the descendants that were waited for). Both are lower bounds: a descendant that exits
  between two samples and is not waited for loses at most ``interval`` seconds of its time.
"""

from __future__ import annotations

import resource
import threading
from dataclasses import dataclass

import psutil

# Memory is read at one sample in this many (CPU at every one: ``/proc/PID/stat`` is cheap, and
# the CPU a descendant spends after its last sample is lost).
MEMORY_EVERY = 5


@dataclass(frozen=True)
class ResourceUsage:
    cpu_seconds: float
    peak_memory_bytes: int


class ProcessTreeSampler:
    """``start()`` before the crawl, ``stop()`` after it (browsers quit) for the totals."""

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"sampling interval must be > 0 seconds, got {interval}")
        self._interval = interval
        self._self = psutil.Process()
        # (pid, create time) → the descendant's last sampled user + system CPU seconds
        self._descendant_cpu: dict[tuple[int, float], float] = {}
        self._peak_memory = 0
        self._samples = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="process-tree-sampler", daemon=True
        )

    def start(self) -> ProcessTreeSampler:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> ResourceUsage:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
        self.sample()
        own = resource.getrusage(resource.RUSAGE_SELF)
        waited = resource.getrusage(resource.RUSAGE_CHILDREN)
        descendants = max(sum(self._descendant_cpu.values()), waited.ru_utime + waited.ru_stime)
        return ResourceUsage(
            cpu_seconds=round(own.ru_utime + own.ru_stime + descendants, 3),
            peak_memory_bytes=self._peak_memory,
        )

    def _loop(self) -> None:
        while not self._stopped.wait(self._interval):
            self.sample()

    def sample(self) -> None:
        """One walk of the tree; a process that exits meanwhile is skipped. Memory is read at
        the first sample and at every ``MEMORY_EVERY``-th after it."""
        with_memory = self._samples % MEMORY_EVERY == 0
        self._samples += 1
        memory = _memory(self._self) if with_memory else 0
        for child in self._self.children(recursive=True):
            try:
                with child.oneshot():
                    times = child.cpu_times()
                    key = (child.pid, child.create_time())
                    if with_memory:
                        memory += _memory(child)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            self._descendant_cpu[key] = times.user + times.system
        self._peak_memory = max(self._peak_memory, memory)


def _memory(process: psutil.Process) -> int:
    try:
        try:
            return int(process.memory_full_info().pss)
        except (psutil.AccessDenied, AttributeError):
            return int(process.memory_info().rss)
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return 0
