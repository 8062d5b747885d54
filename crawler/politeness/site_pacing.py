"""Page requests of one site reach it at least a floor apart, as the site measures (issue #11,
part 4): the politeness promise made from the site's side.

Scrapy spaces requests when they *leave* a site's downloader slot (``DOWNLOAD_DELAY``, drawn
from ``delay × (1 ± jitter)``). A plain fetch reaches the site a few milliseconds later; a
rendered page only after a browser is checked out (or started: seconds on a loaded machine)
and told to navigate. When page N is seen late and page N+1 at once, the site sees the two
closer than any delay Scrapy drew: 0.40 s with ``DOWNLOAD_DELAY=1`` was measured, below even the
0.5 s floor of the randomised delay.

So the render path remembers, per slot, when the site last had one of our page requests: the
moment the browser had the main document's response headers (the request had surely arrived by
then), read from DevTools' timestamps, or the end of the navigation when no response came. The
next navigation of that slot starts no earlier than ``floor`` after it, where the floor is the
least delay Scrapy may draw for the slot, ``delay × (1 − jitter)``. Holding is done twice: on the
reactor before a browser is checked out (waiting then holds no browser another site could use),
and, for what remains, in the worker thread just before ``driver.get``. A navigation is timed
under a per-slot lock, so several concurrent pages of one site are paced too.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


class Arrival:
    """Filled in by the render path: when the site had the page request (wall-clock seconds)."""

    def __init__(self) -> None:
        self.responded_at: float | None = None

    def note(self, responded_at: float | None) -> None:
        self.responded_at = responded_at


class SitePacer:
    """Per downloader slot: when the site last had a page request of ours (monotonic seconds).

    Thread-safe; the clocks and ``sleep`` are parameters so the timing rules are unit-tested
    without waiting."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._navigating: dict[str, threading.Lock] = {}

    def wait_for(self, slot: str, floor: float) -> float:
        """Seconds before a page of ``slot`` may reach the site (0 when it may now)."""
        with self._lock:
            last = self._last.get(slot)
        if last is None or floor <= 0:
            return 0.0
        return max(0.0, last + floor - self._clock())

    @contextmanager
    def navigation(self, slot: str, floor: float) -> Iterator[Arrival]:
        """Blocks until ``slot``'s turn, then yields an ``Arrival`` for the render path to fill
        in; on exit (an error included: the request may have gone out) the site's arrival time
        is recorded, bounded by when the navigation started and now."""
        with self._slot_lock(slot):
            wait = self.wait_for(slot, floor)
            if wait > 0:
                self._sleep(wait)
            started = self._clock()
            arrival = Arrival()
            try:
                yield arrival
            finally:
                now = self._clock()
                at = now
                if arrival.responded_at is not None:
                    # wall-clock time mapped onto the monotonic clock through "now"
                    at = now - max(0.0, self._wall() - arrival.responded_at)
                with self._lock:
                    self._last[slot] = min(now, max(started, at))

    def saw(self, slot: str, responded_at: float | None) -> None:
        """The site had a later page request of the same render (the page navigated by itself:
        a timer, a meta refresh): the next page's floor counts from it. Never moves backwards."""
        if responded_at is None:
            return
        now = self._clock()
        at = min(now, now - (self._wall() - responded_at))
        with self._lock:
            if at > self._last.get(slot, at - 1):
                self._last[slot] = at

    def _slot_lock(self, slot: str) -> threading.Lock:
        with self._lock:
            lock = self._navigating.get(slot)
            if lock is None:
                lock = self._navigating[slot] = threading.Lock()
            return lock


@contextmanager
def unpaced() -> Iterator[Arrival]:
    """For renders outside any slot (tools, tests of the page flow alone)."""
    yield Arrival()
