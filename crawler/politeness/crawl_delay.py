"""robots.txt ``Crawl-delay`` applied to the site's downloader slot (Scrapy does not: #892).

When a site's robots.txt asks for a delay longer than ``DOWNLOAD_DELAY``, that site's slot
waits at least that long between requests, capped by ``ROBOTSTXT_CRAWL_DELAY_MAX`` so a hostile
robots.txt cannot stall a crawl. Jitter is switched off for that slot: Scrapy's ±50% would go
below what the site asked for. AutoThrottle may lower a slot's delay after each response, so
the delay is re-asserted whenever a request of the site reaches the downloader and after each
response (this extension is connected after AutoThrottle).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CrawlDelayConfig:
    download_delay: float
    max_delay: float
    user_agent: str

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> CrawlDelayConfig:
        if not settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured("ROBOTSTXT_OBEY is off")
        max_delay = settings.getfloat("ROBOTSTXT_CRAWL_DELAY_MAX")
        if max_delay < 0:
            raise ValueError(f"ROBOTSTXT_CRAWL_DELAY_MAX must be >= 0, got {max_delay}")
        return cls(
            download_delay=settings.getfloat("DOWNLOAD_DELAY"),
            max_delay=max_delay,
            user_agent=str(settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT")),
        )

    def effective(self, crawl_delay: float | None) -> float | None:
        """The slot delay to enforce, or None when robots.txt asks for nothing longer."""
        if crawl_delay is None or crawl_delay <= self.download_delay:
            return None
        return min(crawl_delay, self.max_delay)


class CrawlDelay:
    """Extension: remembers each slot's Crawl-delay and keeps the slot at or above it."""

    def __init__(self, crawler: Crawler, config: CrawlDelayConfig) -> None:
        self._crawler = crawler
        self._config = config
        self._delays: dict[str, float] = {}
        crawler.signals.connect(self._robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(self._enforce, signal=signals.request_reached_downloader)
        crawler.signals.connect(self._enforce, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, CrawlDelayConfig.from_settings(crawler.settings))

    def _robots_parsed(self, robotparser: RobotParser, request: Request, **_: Any) -> None:
        delay = self._config.effective(robotparser.crawl_delay(self._config.user_agent))
        if delay is None:
            return
        key = self._crawler.engine.downloader.get_slot_key(request)
        self._delays[key] = delay
        logger.info("robots.txt of %s asks for Crawl-delay: using %.1f s", key, delay)
        self._crawler.stats.set_value(f"robotstxt/crawl_delay/{key}", delay)
        self._enforce(request)

    def _enforce(self, request: Request, **_: Any) -> None:
        key = self._crawler.engine.downloader.get_slot_key(request)
        delay = self._delays.get(key)
        slot = self._crawler.engine.downloader.slots.get(key)
        if delay is None or slot is None:
            return
        if slot.delay < delay or slot.jitter:
            slot.delay = max(slot.delay, delay)
            slot.jitter = 0.0
