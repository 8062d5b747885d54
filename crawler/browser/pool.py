"""A fixed number of reused browsers (``SELENIUM_POOL_SIZE``), started on first use.

Reuse is the point: on the crawl benchmark's 60 pages on 6 loopback sites, a new Chrome per URL
ran at 29.8 pages/min, one reused driver at 54.5 and a pool of two reused drivers at 87.9 (the
design's first measurements; today's figures: ``python -m bench.crawl``, bench/RESULTS.md).
A browser is replaced when it crashed or hung (``session.broken``), when it
is found dead at check-out (someone killed it between pages), and after
``SELENIUM_RECYCLE_AFTER`` pages, so slow leaks cannot build up over a long crawl.
A browser whose page is done goes to the next page waiting for one straight from it, and is left
on a blank tab only when no page waits (``_leave_unless_awaited``).

Check-out happens on the reactor (a ``DeferredSemaphore``); every WebDriver call runs in the
reactor's thread pool through ``deferToThread``, awaited via ``maybe_deferred_to_future`` (a bare
``await`` of a Deferred fails under the asyncio reactor).
"""

from __future__ import annotations

import atexit
import logging
import time
from typing import TYPE_CHECKING, TypeVar

from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from selenium.common.exceptions import WebDriverException
from twisted.internet.defer import Deferred, DeferredList, DeferredSemaphore
from twisted.internet.threads import deferToThread
from urllib3.exceptions import HTTPError

from crawler.browser.session import BrowserSession
from crawler.exceptions import (
    BrowserCrashedError,
    BrowserUnavailableError,
    PageTimeoutError,
    RenderError,
    ShuttingDownError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from crawler.browser.config import SeleniumConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A browser that fails to start this many times in a row is not starting at all (a wrong
# binary, a missing library): pages then fail at once, naming the settings to check, instead
# of each waiting for its own doomed start; one start is tried again after the cool-down.
MAX_START_FAILURES = 3
START_COOL_DOWN = 60.0
# A start that failed is tried again this soon, in the same page's turn, up to this many starts
# per page (``BrowserPool._start``).
START_ATTEMPTS = 2
START_RETRY_DELAY = 1.0
# A browser handed on still showing its page is taken by the waiting page at once (within one
# turn of the reactor); one not taken by then is left blank (``_leave_if_unclaimed``).
HAND_OVER_GRACE = 0.5


class BrowserPool:
    def __init__(
        self,
        config: SeleniumConfig,
        on_event: Callable[[str], None] = lambda _name: None,
    ) -> None:
        """``on_event`` receives ``browser_restarts``, ``browsers_recycled``,
        ``browsers_started``, ``browser_start_failures`` and ``browser_start_retries`` (the
        handler turns them into stats)."""
        self._config = config
        self._on_event = on_event
        self._slots = DeferredSemaphore(config.pool_size)
        self._idle: list[BrowserSession] = []
        self._sessions: set[BrowserSession] = set()
        self._quitting: set[Deferred[None]] = set()
        self._closing = False
        self._start_failures = 0
        self._last_start_error = ""
        self._retry_start_at = 0.0
        # Last resort if the crawl dies without close(): no orphan browsers.
        atexit.register(self._kill_all_now)

    @property
    def sessions(self) -> list[BrowserSession]:
        return list(self._sessions)

    async def run(
        self,
        job: Callable[[BrowserSession], T],
        *,
        timeout: float | None = None,
        label: str = "the page",
    ) -> T:
        """Run ``job(session)`` in a worker thread with a browser of the pool to itself.

        ``timeout`` bounds the whole job. A page whose script never yields (``while (true)``
        after load) blocks a WebDriver call until Selenium's own 120 s read timeout; past the
        deadline the browser is killed instead, which ends that call at once, and the page
        fails with ``PageTimeoutError``."""
        self._refuse_if_closing()
        await maybe_deferred_to_future(self._slots.acquire())
        try:
            self._refuse_if_closing()
            session = await self._check_out()
            overdue = False

            def stop_overdue_browser() -> None:
                nonlocal overdue
                overdue = True
                session.broken = True
                logger.warning("%s took longer than %g s; killing its browser", label, timeout)
                session.abort()

            watchdog = call_later(timeout, stop_overdue_browser) if timeout is not None else None
            try:
                return await maybe_deferred_to_future(deferToThread(job, session))
            except RenderError as exc:
                if self._closing:  # close() quit the browser under this page
                    raise ShuttingDownError(f"the crawl is stopping: {exc}") from exc
                if overdue:
                    raise PageTimeoutError(
                        f"{label} did not finish rendering within {timeout:g} s"
                        " (DOWNLOAD_TIMEOUT); its browser was stopped"
                    ) from exc
                raise
            finally:
                try:
                    await self._leave_unless_awaited(session)
                finally:
                    if watchdog is not None:
                        watchdog.cancel()
                    self._check_in(session)
        finally:
            self._slots.release()

    async def close(self) -> None:
        """Quit every browser (in threads, concurrently) and wait for all of them."""
        self._closing = True
        self._idle.clear()
        for session in list(self._sessions):
            self._quit_in_background(session)
        if self._quitting:
            await maybe_deferred_to_future(DeferredList(list(self._quitting)))
        # The atexit hook stays: a browser still starting now is quit when it is up, and
        # killed at exit if the process ends first.

    def _refuse_if_closing(self) -> None:
        if self._closing:
            raise ShuttingDownError("the crawl is stopping: page not rendered")

    async def _leave_unless_awaited(self, session: BrowserSession) -> None:
        """Leave the last page for a blank tab, unless a next page already waits for a browser:
        that page's navigation then leaves it, and the blank navigation (~0.05 CPU s a page,
        bench/RESULTS.md "Render cost (issue #16)") is saved. Either way no page runs on in an
        idle browser; the last one runs on only until the next navigation, which comes as soon
        as a blank one would have (issue #16)."""
        if not session.shows_page or not self._goes_idle(session):
            return
        if self._slots.waiting:
            self._on_event("pages_followed_directly")
            return
        await maybe_deferred_to_future(deferToThread(session.leave_page))

    def _goes_idle(self, session: BrowserSession) -> bool:
        """Whether ``_check_in`` keeps ``session`` for the next page (rather than quitting it)."""
        return (
            not self._closing
            and session in self._sessions
            and not session.broken
            and session.pages < self._config.recycle_after
        )

    def _take_idle(self) -> BrowserSession:
        """An idle browser, one still showing its last page first: it was kept for the page
        that was waiting when it was checked in (``_leave_unless_awaited``), which is this one."""
        for index in range(len(self._idle) - 1, -1, -1):
            if self._idle[index].shows_page:
                return self._idle.pop(index)
        return self._idle.pop()

    async def _leave_if_unclaimed(self, session: BrowserSession) -> None:
        """The safety net of a hand-over: a browser still showing a page that no waiting page
        took (it was cancelled) is left blank, holding a slot as a page would."""
        if session not in self._idle or not session.shows_page:
            return  # taken, as it nearly always is: no wait for a slot
        await maybe_deferred_to_future(self._slots.acquire())
        try:
            if session in self._idle and session.shows_page:
                self._idle.remove(session)
                await maybe_deferred_to_future(deferToThread(session.leave_page))
                self._check_in(session)
        finally:
            self._slots.release()

    async def _check_out(self) -> BrowserSession:
        while self._idle:
            session = self._take_idle()
            if await maybe_deferred_to_future(deferToThread(_is_alive, session)):
                return session
            logger.warning("browser found dead between pages; replacing it")
            self._on_event("browser_restarts")
            self._quit_in_background(session)
        session = await self._start()
        self._start_failures = 0
        self._sessions.add(session)
        self._on_event("browsers_started")
        if self._closing:  # close() ran while this browser was starting
            self._quit_in_background(session)
            self._refuse_if_closing()
        return session

    async def _start(self) -> BrowserSession:
        """A new browser, its start tried up to ``START_ATTEMPTS`` times ``START_RETRY_DELAY``
        apart: under load Chromium sometimes exits during start-up ("session not created:
        Chrome instance exited", bench/RESULTS.md) and starts fine a moment later. The tries
        count towards ``MAX_START_FAILURES``, so a broken install still fails fast, with the
        message naming the settings."""
        for attempt in range(1, START_ATTEMPTS + 1):
            unavailable = self._unavailable()
            if unavailable is not None:
                raise unavailable
            try:
                return await maybe_deferred_to_future(
                    deferToThread(BrowserSession.start, self._config)
                )
            except (WebDriverException, HTTPError, OSError) as exc:
                # chromedriver refused the session, or itself died or stopped answering
                message = str(exc.msg or exc) if isinstance(exc, WebDriverException) else str(exc)
                self._start_failed(message)
                unavailable = self._unavailable()  # that failure made it a broken install
                if unavailable is not None:
                    raise unavailable from exc
                if attempt == START_ATTEMPTS:
                    raise BrowserCrashedError(f"could not start Chromium: {message}") from exc
            logger.warning(
                "Chromium failed to start (%s); trying again in %g s",
                self._last_start_error,
                START_RETRY_DELAY,
            )
            self._on_event("browser_start_retries")
            await _sleep(START_RETRY_DELAY)
            self._refuse_if_closing()
        raise AssertionError("unreachable")  # pragma: no cover

    def _start_failed(self, message: str) -> None:
        self._on_event("browser_start_failures")
        self._start_failures += 1
        self._last_start_error = message.splitlines()[0] if message else "unknown error"
        if self._start_failures >= MAX_START_FAILURES:
            self._retry_start_at = time.monotonic() + START_COOL_DOWN
            logger.error(
                "Chromium failed to start %d times in a row (%s); pages fail at once for %.0f s."
                " Check SELENIUM_BROWSER_PATH=%s and SELENIUM_DRIVER_PATH=%s",
                self._start_failures,
                self._last_start_error,
                START_COOL_DOWN,
                self._config.browser_path,
                self._config.driver_path,
            )

    def _unavailable(self) -> BrowserUnavailableError | None:
        """The error to fail a page with at once, during the cool-down of a broken install."""
        if self._start_failures < MAX_START_FAILURES or time.monotonic() >= self._retry_start_at:
            return None
        return BrowserUnavailableError(
            f"Chromium failed to start {self._start_failures} times in a row "
            f"({self._last_start_error}); check SELENIUM_BROWSER_PATH="
            f"{self._config.browser_path} and SELENIUM_DRIVER_PATH={self._config.driver_path}"
        )

    def _check_in(self, session: BrowserSession) -> None:
        if self._closing or session not in self._sessions:
            self._quit_in_background(session)
        elif session.broken:
            self._on_event("browser_restarts")
            self._quit_in_background(session)
        elif session.pages >= self._config.recycle_after:
            self._on_event("browsers_recycled")
            self._quit_in_background(session)
        else:
            self._idle.append(session)
            if session.shows_page:
                call_later(
                    HAND_OVER_GRACE,
                    lambda: deferred_from_coro(self._leave_if_unclaimed(session)),
                )

    def _quit_in_background(self, session: BrowserSession) -> None:
        if session not in self._sessions:
            return
        self._sessions.discard(session)
        done: Deferred[None] = deferToThread(session.quit)
        self._quitting.add(done)
        done.addBoth(lambda _: self._quitting.discard(done))

    def _kill_all_now(self) -> None:
        for session in list(self._sessions):
            session.kill()
        self._sessions.clear()


async def _sleep(seconds: float) -> None:
    """Wait on the reactor, holding no thread."""
    waited: Deferred[None] = Deferred()
    call_later(seconds, waited.callback, None)
    await maybe_deferred_to_future(waited)


def _is_alive(session: BrowserSession) -> bool:
    """The browser answers; pop-up windows the last page left are closed on the way (the
    check costs one round trip either way)."""
    try:
        session.close_other_windows()
    except WebDriverException:
        return False
    return True
