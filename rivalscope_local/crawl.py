"""``scrapy crawl competitors`` as a subprocess of the local run, with progress.

A subprocess, as in AWS (Fargate runs the crawl, Lambda the analysis): the crawl gets its own
Twisted reactor and browser pool and reaches the local endpoint over HTTP like any client. Its
log goes to ``data/logs/``; the console gets a progress line from Scrapy's periodic stats
(``LOGSTATS_INTERVAL``), errors, and the crawl's summary."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

ROOT = Path(__file__).resolve().parents[1]
_STATS = re.compile(r"Crawled (?P<pages>\d+) pages? .*scraped (?P<items>\d+) items?")
_SUMMARY = re.compile(r"^rivalscope: (?P<stored>\d+) page record")
_SHOWN = re.compile(r"\] (ERROR|CRITICAL):|^rivalscope: ")

# Linux's prctl(PR_SET_PDEATHSIG): the kernel sends the crawl SIGTERM (its graceful stop) when
# the run dies without stopping it, even by SIGKILL. Resolved here, before any fork.
_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def _stop_with_parent() -> None:
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class CrawlProgress:
    pages: int = 0
    items: int = 0
    #: pages stored, from the crawl's closing summary (None while it runs)
    stored: int | None = None
    lines: list[str] = field(default_factory=list)


def crawl_command(
    urls: Sequence[str],
    *,
    prompt: str | None,
    max_pages: int,
    allow_private: str = "",
    chunk_size: int = 5,
    watchlist: Path | None = None,
) -> list[str]:
    command = [
        sys.executable, "-m", "scrapy", "crawl", "competitors",
        "-a", f"max_pages={max_pages}",
        "-s", "LOGSTATS_INTERVAL=2",
        # a local Ctrl-C should not wait a minute for pages in flight
        "-s", "RIVALSCOPE_STOP_GRACE=10",
        # small chunks: analysis starts while the crawl goes on
        "-s", f"S3PIPELINE_MAX_CHUNK_SIZE={chunk_size}",
    ]  # fmt: skip
    if urls:
        command += ["-a", f"urls={','.join(urls)}"]
    if watchlist is not None:
        command += ["-a", f"watchlist={watchlist}"]
    if prompt:
        command += ["-a", f"prompt={prompt}"]
    if allow_private:
        command += ["-s", f"ALLOW_PRIVATE_ADDRESSES={allow_private}"]
    return command


class CrawlProcess:
    """One crawl; :meth:`wait` returns its exit code (SPEC.md: 0, 1 some pages failed, 2)."""

    def __init__(
        self,
        command: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        self.progress = CrawlProgress()
        self._on_line = on_line
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("w", encoding="utf-8")
        self._proc = subprocess.Popen(
            list(command),
            cwd=ROOT,
            env={**env, "SE_OFFLINE": "true", "SE_AVOID_STATS": "true"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            # its own process group: Ctrl-C reaches the run, which stops the crawl gracefully
            start_new_session=True,
            # the death signal is tied to the forking *thread*: CrawlProcess is created on the
            # run's main thread, which lives as long as the run
            preexec_fn=_stop_with_parent,  # noqa: PLW1509 - one async-signal-safe syscall
        )
        self._groups: set[int] = set()
        self._scanned = 0.0
        assert self._proc.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self._proc.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._log.write(line)
            self._log.flush()
            match = _STATS.search(line)
            if match:
                self.progress.pages = int(match["pages"])
                self.progress.items = int(match["items"])
            summary = _SUMMARY.search(line)
            if summary:
                self.progress.stored = int(summary["stored"])
            if _SHOWN.search(line):
                self.progress.lines.append(line.rstrip())
                if self._on_line is not None:
                    self._on_line(line.rstrip())

    def poll(self) -> int | None:
        """The exit code, or None while it runs; also notes the browsers' process groups."""
        code = self._proc.poll()
        if code is None and time.monotonic() - self._scanned > 2.0:
            self._scanned = time.monotonic()
            self._groups |= descendant_groups(self._proc.pid)
        return code

    def wait(self, timeout: float | None = None) -> int:
        code = self._proc.wait(timeout)
        self._reader.join(5)
        self._log.close()
        self._kill_leftovers()
        return code

    def _kill_leftovers(self) -> None:
        """The crawler starts each chromedriver in a session of its own (so that it can kill a
        browser with all its helpers); a crawl that died before closing them leaves those
        groups behind. Kill the ones it had while running."""
        for group in self._groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        self._groups.clear()

    def stop(self, grace: float = 20.0) -> None:
        """SIGINT (Scrapy's graceful stop), then SIGTERM, then SIGKILL to the whole group, and
        the browsers' groups last."""
        if self._proc.poll() is None:
            self._groups |= descendant_groups(self._proc.pid)
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if self._proc.poll() is not None:
                break
            try:
                os.killpg(self._proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self._proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        if not self._log.closed:
            self._reader.join(5)
            self._log.close()
        self._kill_leftovers()


def descendant_groups(root: int) -> set[int]:
    """Process groups of ``root``'s descendants other than its own, read from ``/proc``
    (Linux; elsewhere an empty set)."""
    parents: dict[int, tuple[int, int]] = {}
    try:
        entries = [e for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return set()
    for entry in entries:
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid pgrp ...
        parents[int(entry.name)] = (int(fields[1]), int(fields[2]))
    own = parents.get(root, (0, root))[1]
    groups: set[int] = set()
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, pgrp) in parents.items():
            if ppid == parent:
                frontier.append(pid)
                if pgrp != own:
                    groups.add(pgrp)
    return groups
