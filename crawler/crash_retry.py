"""A page lost to a dying browser is tried again in a fresh browser, in its site's turn.

Users expect "nothing lost on a fault": under load Chromium can die mid-render or exit while
starting ("session not created: Chrome instance exited", bench/RESULTS.md), and the page was
then stored failed although nothing was wrong with it. This downloader middleware turns a
``BrowserCrashedError`` into a new request, up to ``SELENIUM_CRASH_RETRIES`` times per page,
through Scrapy's own ``get_retry_request``: the retry goes back through the scheduler and the
site's downloader slot, so ``DOWNLOAD_DELAY``, one request at a time per site and the site-side
pacing (crawler/politeness/site_pacing.py) hold for it as for any page; a loop inside the
download handler would bypass them. Only after the last try is the failed record stored, its
message saying how many attempts were made.

What is retried, and what is not:

- ``browser_crash`` (the browser died mid-render, chromedriver stopped answering, Chromium
  could not start): the fault was the browser's; the pool has replaced it.
- not ``BrowserUnavailableError`` (Chromium failed to start several times in a row: a wrong
  ``SELENIUM_BROWSER_PATH``): another try would fail the same way; it fails fast, naming the
  setting.
- not ``timeout``: a page that hangs past ``SELENIUM_PAGE_LOAD_TIMEOUT`` or ``DOWNLOAD_TIMEOUT``
  (its browser killed by the pool's deadline included) is the page's fault, and would hang
  again, holding a browser and its site's slot as long once more.
- not once the crawl is stopping: the engine reads the scheduler no more, so a retry would be
  dropped unseen; the page is recorded failed at once. A retry already waiting in a slot when
  SIGTERM comes is dropped by ``crawler.stop.GracefulStop``; the spider records it as failed
  with its crash (``interrupted_crash``), since the site did see the page requested. One
  still in the scheduler then (the downloader was full: the engine will not read it again) is
  recorded the same way at the stop, through the scraper, so its failed record is in the last
  chunk flushed; should the engine hand it to the downloader after all, the stop refuses it and
  the spider sees it was recorded already.

Scrapy's ``RetryMiddleware`` (``RETRY_TIMES``) is left to network errors and statuses; the
crash retries have their own counter, so one budget does not eat the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.retry import get_retry_request
from twisted.python.failure import Failure

from crawler.exceptions import BrowserCrashedError, BrowserUnavailableError, ShuttingDownError
from crawler.stop import scheduling_stopped

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

# Request meta: how many crash retries the page has had, and why its last try failed.
RETRIES_META = "selenium_crash_retries"
CRASH_META = "selenium_crash"
RECORDED_META = "selenium_crash_recorded"  # its failed record was made at the stop
STATS_BASE = "selenium/crash_retry"


@dataclass(frozen=True)
class CrashRetryConfig:
    retries: int

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> CrashRetryConfig:
        try:
            retries = settings.getint("SELENIUM_CRASH_RETRIES")
        except ValueError:
            raw = settings.get("SELENIUM_CRASH_RETRIES")
            raise ValueError(f"SELENIUM_CRASH_RETRIES must be an integer, not {raw!r}") from None
        if retries < 0:
            raise ValueError(f"SELENIUM_CRASH_RETRIES must be 0 or more, not {retries}")
        return cls(retries=retries)


def is_retried(exc: BaseException) -> bool:
    """Whether a page that failed with ``exc`` is tried again in a fresh browser."""
    return isinstance(exc, BrowserCrashedError) and not isinstance(exc, BrowserUnavailableError)


def attempts(request: Request) -> int:
    """How many times the page of a failed ``request`` was tried (its last try included)."""
    return int(request.meta.get(RETRIES_META, 0)) + 1


def interrupted_crash(request: Request) -> tuple[BrowserCrashedError, int] | None:
    """For a request the stop dropped: the crash its retry was for and the attempts made, if it
    was a crash retry (the page was requested from the site, so it is recorded failed)."""
    crash = request.meta.get(CRASH_META)
    if crash is None:
        return None
    request.meta[RECORDED_META] = True
    error = BrowserCrashedError(f"{crash}; not tried again: the crawl was stopping")
    return error, int(request.meta.get(RETRIES_META, 0))


class CrashRetryMiddleware:
    """Downloader middleware: a ``browser_crash`` becomes a retry through the scheduler."""

    def __init__(self, crawler: Crawler, config: CrashRetryConfig) -> None:
        self._crawler = crawler
        self._config = config
        # Retries handed to the scheduler that have not reached the downloader yet (by id).
        self._scheduled: dict[int, Request] = {}
        crawler.signals.connect(self._record_unsent, signal=scheduling_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, CrashRetryConfig.from_settings(crawler.settings))

    def process_request(self, request: Request) -> None:
        self._scheduled.pop(id(request), None)

    def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if not is_retried(exception) or request.meta.get("dont_retry"):
            return None
        engine = self._crawler.engine
        if engine is None or not engine.running:
            return None  # stopping: a retry would wait in a scheduler nobody reads
        done = int(request.meta.get(RETRIES_META, 0))
        stats = self._crawler.stats
        if done >= self._config.retries:
            if self._config.retries and stats is not None:
                stats.inc_value(f"{STATS_BASE}/max_reached")
                logger.warning(
                    "Page %s failed again after %d retry(ies) in a fresh browser; recording it"
                    " failed",
                    request.url,
                    done,
                )
            return None
        spider = self._crawler.spider
        assert spider is not None  # a downloader middleware runs inside a crawl
        retry_times = request.meta.get("retry_times")
        retry = get_retry_request(
            request,
            spider=spider,
            reason=BrowserCrashedError.error_type,
            max_retry_times=int(retry_times or 0) + 1,  # the limit here is our own counter
            stats_base_key=STATS_BASE,
            logger=logger,
        )
        assert retry is not None
        # RETRY_TIMES' own budget is left to the network errors and statuses it is for.
        if retry_times is None:
            retry.meta.pop("retry_times", None)
        else:
            retry.meta["retry_times"] = retry_times
        retry.meta[RETRIES_META] = done + 1
        retry.meta[CRASH_META] = str(exception)
        self._scheduled[id(retry)] = retry
        logger.warning(
            "Page %s: %s; trying it again in a fresh browser, in its site's turn (retry %d of %d)",
            request.url,
            exception,
            done + 1,
            self._config.retries,
        )
        return retry

    def _record_unsent(self) -> None:
        """At the stop, a retry still in the scheduler (the downloader was full, so it had not
        reached its site's slot) will never be read: the engine stops reading the scheduler.
        The site did see the page, so it is recorded failed with its crash, now, through the
        spider's errback, while the pipeline still takes items."""
        if not self._scheduled:
            return
        engine = self._crawler.engine
        unsent = list(self._scheduled.values())
        self._scheduled.clear()
        if self._crawler.stats is not None:
            self._crawler.stats.set_value(f"{STATS_BASE}/recorded_at_stop", len(unsent))
        logger.warning(
            "%d page(s) waiting for a retry after a browser crash are not tried again: the crawl"
            " is stopping; recorded failed: %s",
            len(unsent),
            ", ".join(sorted(request.url for request in unsent)),
        )
        if engine is None:
            return
        for request in unsent:
            stopped = ShuttingDownError(f"stopping: {request.url} not fetched")
            engine.scraper.enqueue_scrape(Failure(stopped), request)  # type: ignore[no-untyped-call]
