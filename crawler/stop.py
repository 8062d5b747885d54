"""Graceful stop that really stops scheduling (SIGTERM from Fargate, or Ctrl-C).

Scrapy's own graceful stop stops taking requests from the scheduler but still downloads every
request already handed to the downloader: with one request at a time per site and a politeness
delay, those queue in the site's slot, and a trial crawl on Scrapy 2.19 fetched 7 more pages
over 30 s after SIGTERM. On the first signal this component

1. drops every request waiting in a downloader slot (not yet sent to the site), and refuses
   requests that were still on their way to the downloader (e.g. waiting for robots.txt);
2. lets pages already being transferred finish, for at most ``RIVALSCOPE_STOP_GRACE`` seconds;
3. then Scrapy closes the spider: the item pipeline flushes its partial chunk and the download
   handler quits its browsers.

Dropped requests fail with ``ShuttingDownError``; the spider records no page for them (they
were never fetched). It is a downloader middleware so that it can refuse requests, and it
wraps Scrapy's signal handlers rather than replacing them, so a second signal still forces an
unclean exit.
"""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.utils.asyncio import call_later

from crawler.exceptions import ShuttingDownError

if TYPE_CHECKING:
    from types import FrameType
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.utils.asyncio import CallLaterResult

logger = logging.getLogger(__name__)

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

#: Sent once, when the first SIGTERM/SIGINT stops the scheduling, before any page's grace: the
#: last moment a component can still hand items to the pipeline for what will not be fetched.
scheduling_stopped = object()


@dataclass(frozen=True)
class StopConfig:
    grace: float
    upload_budget: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> StopConfig:
        grace = settings.getfloat("RIVALSCOPE_STOP_GRACE")
        if grace < 0:
            raise ValueError(f"RIVALSCOPE_STOP_GRACE must be >= 0 seconds, got {grace}")
        # After the grace period, the last chunks' uploads may retry this long before they are
        # spilled locally: grace + this + spilling stays within Fargate's 120 s
        # (crawler/settings.py: 60 s + 30 s).
        budget = settings.getfloat("RIVALSCOPE_STOP_UPLOAD_BUDGET")
        if budget < 0:
            raise ValueError(f"RIVALSCOPE_STOP_UPLOAD_BUDGET must be >= 0 seconds, got {budget}")
        return cls(grace=grace, upload_budget=budget)


class GracefulStop:
    """Downloader middleware: after the first SIGTERM/SIGINT nothing new goes to any site."""

    def __init__(self, crawler: Crawler, config: StopConfig) -> None:
        self._crawler = crawler
        self._config = config
        self._grace_timer: CallLaterResult | None = None
        self.stopping = False
        # monotonic time after which no upload is retried (None: not stopping)
        self.upload_deadline: float | None = None
        crawler.signals.connect(self._wrap_signal_handlers, signal=signals.engine_started)
        crawler.signals.connect(self._cancel_grace_timer, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, StopConfig.from_settings(crawler.settings))

    def process_request(self, request: Request) -> None:
        if self.stopping:
            raise ShuttingDownError(f"stopping: {request.url} not fetched")

    def _wrap_signal_handlers(self) -> None:
        # Scrapy installs its handlers when the reactor starts, before the engine does.
        from twisted.internet import reactor

        for signum in _STOP_SIGNALS:
            previous = signal.getsignal(signum)

            def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
                reactor.callFromThread(self.stop_scheduling, signum)
                if callable(previous):
                    previous(signum, frame)

            signal.signal(signum, handler)

    def stop_scheduling(self, signum: int | None = None) -> None:
        """Drop what is queued for any site; give in-flight pages the grace period."""
        if self.stopping:
            return
        self.stopping = True
        self.upload_deadline = time.monotonic() + self._config.grace + self._config.upload_budget
        downloader = self._crawler.engine.downloader
        dropped = 0
        for slot in downloader.slots.values():
            while slot.queue:
                request, queued = slot.queue.popleft()
                queued.errback(ShuttingDownError(f"stopping: {request.url} not fetched"))
                dropped += 1
        in_flight = sum(len(slot.transferring) for slot in downloader.slots.values())
        self._crawler.stats.set_value("rivalscope/stop/dropped", dropped)
        self._crawler.stats.set_value("rivalscope/stop/in_flight", in_flight)
        logger.info(
            "Stopping (%s): dropped %d queued request(s); waiting up to %.0f s for %d in flight",
            signal.Signals(signum).name if signum else "requested",
            dropped,
            self._config.grace,
            in_flight,
        )
        self._grace_timer = call_later(self._config.grace, self._grace_expired)
        self._crawler.signals.send_catch_log(signal=scheduling_stopped)

    def _grace_expired(self) -> None:
        """In-flight pages took longer than the grace period: stop waiting for them, so the
        pipeline flushes within the container's stop timeout. Scrapy has no public way to
        abandon in-flight downloads; releasing the engine slot's bookkeeping is what lets
        ``close_spider`` go on (checked against Scrapy 2.19)."""
        self._grace_timer = None
        engine = self._crawler.engine
        slot: Any = getattr(engine, "_slot", None)
        if slot is None or not getattr(slot, "inprogress", None):
            return
        logger.warning(
            "Stop grace of %.0f s expired: abandoning %d page(s) still in flight",
            self._config.grace,
            len(slot.inprogress),
        )
        self._crawler.stats.set_value("rivalscope/stop/abandoned", len(slot.inprogress))
        slot.inprogress.clear()
        slot._maybe_fire_closing()

    def _cancel_grace_timer(self) -> None:
        if self._grace_timer is not None:
            self._grace_timer.cancel()
            self._grace_timer = None
