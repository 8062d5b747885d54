"""Peak proportional set size (PSS) of one process tree, sampled from a thread.

PSS splits shared pages between the processes that map them, so summing it over a browser's
many processes (python + chromedriver + chromium's zygote, GPU, renderer and utility children)
counts shared libraries once. RSS would count Chromium's shared memory once per process.
Only the crawler's tree is sampled: the workload's web servers run elsewhere.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from collections.abc import Mapping

SAMPLE_INTERVAL = 0.2


@dataclass(frozen=True)
class Sample:
    at: float  # time.time(), comparable with the crawlers' own timestamps
    pss: int  # bytes, summed over the tree
    processes: int
    by_kind: dict[str, int]
    # PSS by "kind pid": which of the pool's browsers a peak is in (issue #16, task capmem)
    by_process: dict[str, int] = field(default_factory=dict)


#: Kinds final at first sight; any other name is looked at again (a launcher exec-ing Chromium)
KNOWN_KINDS = frozenset({"python", "chromedriver", "node"})


def process_kind(process: psutil.Process) -> str:
    """``python``, ``chromedriver``, ``node`` or ``chromium:<type>`` (browser, renderer, gpu,
    utility, zygote): where a tree's memory goes."""
    name = process.name()
    if name == "chromedriver":
        return name
    # Chromium starts some children as ``/proc/self/exe --type=…`` (named ``exe``), and some
    # runs showed a browser process under a hex name of 15 characters: the binary the process
    # runs, and its ``--type=``, tell what it is whatever its name.
    if "chrom" in name or name == "exe" or _runs_chromium(process):
        kind = next(
            (arg.split("=", 1)[1] for arg in process.cmdline() if arg.startswith("--type=")),
            "browser",
        )
        return f"chromium:{kind}"
    return "python" if name.startswith("python") else name


def _runs_chromium(process: psutil.Process) -> bool:
    try:
        binary = Path(process.exe()).name
    except (psutil.Error, OSError):
        return False
    return ("chrom" in binary and binary != "chromedriver") or binary == "headless_shell"


def tree_pss(
    root: psutil.Process,
    cpu: dict[tuple[int, float], float] | None = None,
    kinds: dict[tuple[int, float], str] | None = None,
    by_process: dict[str, int] | None = None,
) -> tuple[int, int, dict[str, int]]:
    """(PSS bytes, process count, PSS by process kind) of ``root`` and all its descendants;
    processes that exit while being read are skipped. ``cpu``, when given, is updated with
    each process's CPU seconds so far (user + system), by (pid, start time): pids are reused.
    ``kinds`` caches ``process_kind`` by the same key; ``by_process``, when given, is filled
    with each process's PSS under ``"<kind> <pid>"``."""
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0, {}
    total, counted = 0, 0
    by_kind: dict[str, int] = {}
    cache = kinds if kinds is not None else {}
    for process in processes:
        try:
            key = (process.pid, process.create_time())
            pss = process.memory_full_info().pss
            kind = cache.get(key) or process_kind(process)
            if kind in KNOWN_KINDS or kind.startswith("chromium:"):
                cache[key] = kind  # else the process may still be exec-ing its binary
            if cpu is not None:
                times = process.cpu_times()
                cpu[key] = times.user + times.system
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
        total += pss
        counted += 1
        by_kind[kind] = by_kind.get(kind, 0) + pss
        if by_process is not None:
            by_process[f"{kind} {process.pid}"] = pss
    return total, counted, by_kind


def tree_cpu(root: psutil.Process, *, include_root: bool = True) -> float:
    """CPU seconds so far (user + system) of ``root``'s descendants, and of ``root`` itself
    unless ``include_root`` is false; processes that exit while being read are skipped."""
    processes = root.children(recursive=True)
    if include_root:
        processes.insert(0, root)
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


@dataclass
class PssSampler:
    """Samples the tree under ``pid`` every ``interval`` seconds until ``stop()``."""

    pid: int
    interval: float = SAMPLE_INTERVAL
    samples: list[Sample] = field(default_factory=list)
    # CPU seconds by pid as last seen: a process that exits between two samples loses at
    # most one interval of CPU time from the total.
    cpu_by_pid: dict[tuple[int, float], float] = field(default_factory=dict)
    _kinds: dict[tuple[int, float], str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> PssSampler:
        self._thread = threading.Thread(target=self._run, name="pss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            started = time.time()
            by_process: dict[str, int] = {}
            pss, count, by_kind = tree_pss(root, self.cpu_by_pid, self._kinds, by_process)
            if count:
                self.samples.append(Sample(started, pss, count, by_kind, by_process))
            self._stop.wait(max(0.0, self.interval - (time.time() - started)))

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu_by_pid.values())

    def cpu_breakdown(self) -> dict[str, float]:
        """CPU seconds by process kind, largest first."""
        return cpu_by_kind(self.cpu_by_pid, self._kinds)

    @property
    def peak(self) -> int:
        return max((s.pss for s in self.samples), default=0)

    def peak_breakdown(self) -> str:
        """The peak sample as ``kind MB, …``, largest first."""
        return _breakdown(self.samples)

    def peak_between(self, start: float, end: float) -> int:
        return max((s.pss for s in self.samples if start <= s.at <= end), default=0)

    def breakdown_between(self, start: float, end: float) -> str:
        """``peak_breakdown`` of the samples taken from ``start`` to ``end``: which process kind
        a long crawl's peak moves to (issue #16's "flat over 500 pages")."""
        return _breakdown([s for s in self.samples if start <= s.at <= end])

    def dump(self, path: Path) -> None:
        """Every sample as a JSON line (time, PSS and PSS by kind and by process, in MB): where
        and when a run's peak is, read after the run (``bench.crawl --keep``)."""
        mb = 2**20
        with path.open("w") as out:
            for sample in self.samples:
                line = {
                    "at": round(sample.at, 2),
                    "pss": round(sample.pss / mb, 1),
                    "by_kind": {k: round(v / mb, 1) for k, v in sample.by_kind.items()},
                    "by_process": {k: round(v / mb, 1) for k, v in sample.by_process.items()},
                }
                out.write(json.dumps(line) + "\n")


def _breakdown(samples: list[Sample]) -> str:
    if not samples:
        return ""
    top = max(samples, key=lambda sample: sample.pss)
    parts = sorted(top.by_kind.items(), key=lambda item: -item[1])
    return ", ".join(f"{kind} {pss / 2**20:,.0f}" for kind, pss in parts)


def cpu_by_kind(
    cpu_by_process: Mapping[tuple[int, float], float], kinds: Mapping[tuple[int, float], str]
) -> dict[str, float]:
    """CPU seconds summed by each process's kind (``process_kind``), largest first; a process
    is keyed by (pid, create time), as pids are reused."""
    found: dict[str, float] = {}
    for key, seconds in cpu_by_process.items():
        kind = kinds.get(key, "?")
        found[kind] = found.get(kind, 0.0) + seconds
    return dict(sorted(found.items(), key=lambda item: -item[1]))
