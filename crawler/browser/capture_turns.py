"""Turns for tall full-page captures among the browsers of a pool (issue #16).

A capture is a browser's largest transient: its PSS jumps ~110 MB while it captures an 8,500 px
page and falls back after, and the jump grows ~15 MB per 1,000 px (bench/RESULTS.md, "The capture
itself"). Two browsers capturing tall pages at once add both jumps and make the crawl's peak. One
capture at a time for every page (commit 582de35) cut that peak but cost ~10 % of the pages/min:
short pages, whose jump is small, waited too. So only a capture at least
``SELENIUM_TALL_CAPTURE_HEIGHT`` px tall takes a turn, and waits only for another tall capture;
shorter ones never wait. By default, instead, ``CaptureHeightBudget`` lets captures run together
while their heights add up to at most ``SELENIUM_CAPTURE_HEIGHT_BUDGET``: the same bound on the
transients, without holding a medium page behind another (bench/RESULTS.md, "A height budget
for captures": peak 0.87x at 1.00x pages/min).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator


@contextmanager
def no_turn(_height: int) -> Iterator[bool]:
    """A capture that never waits: one browser, or a render outside a pool."""
    yield True


class TallCaptureTurns:
    """``turn(height)`` is entered around one capture of ``height`` px (its tallest single
    ``Page.captureScreenshot``). From ``min_height`` up, captures run one at a time; 0 turns
    the turns off. A turn not given within ``wait`` seconds is taken anyway: a capture stuck
    in another browser (until the pool's deadline kills it) must not hold this page up to its
    own deadline; the turn then yields False, else True."""

    def __init__(self, min_height: int, wait: float) -> None:
        self._lock = threading.Lock()
        self._min_height = min_height
        self._wait = wait

    def is_tall(self, height: int) -> bool:
        return 0 < self._min_height <= height

    @contextmanager
    def turn(self, height: int) -> Iterator[bool]:
        if not self.is_tall(height):
            yield True
            return
        acquired = self._lock.acquire(timeout=self._wait)
        try:
            yield acquired
        finally:
            if acquired:
                self._lock.release()


class CaptureHeightBudget:
    """``turn(height)`` lets captures run at once while their heights add up to at most
    ``budget`` px, so two medium pages still capture together where ``TallCaptureTurns`` would
    hold one of them; a capture alone always runs, however tall. 0 turns it off. A turn not
    given within ``wait`` seconds is taken anyway, as in ``TallCaptureTurns``."""

    def __init__(self, budget: int, wait: float) -> None:
        self._changed = threading.Condition()
        self._budget = budget
        self._wait = wait
        self._running: list[int] = []

    @contextmanager
    def turn(self, height: int) -> Iterator[bool]:
        if self._budget <= 0:
            yield True
            return
        with self._changed:
            given = self._changed.wait_for(
                lambda: not self._running or sum(self._running) + height <= self._budget,
                timeout=self._wait,
            )
            self._running.append(height)
        try:
            yield given
        finally:
            with self._changed:
                self._running.remove(height)
                self._changed.notify_all()
