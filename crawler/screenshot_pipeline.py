"""Re-encodes each page's screenshot for storage when ``SELENIUM_SCREENSHOT_FORMAT=auto``
(issue #16): a palette PNG for a flat text page, a JPEG for a photo page
(``crawler/browser/reencode.py`` decides from the capture).

An item pipeline placed before the S3 pipeline, so the browser never waits for it: the browser
thread only captures Chrome's fast PNG and is handed its next page while this pipeline encodes.
Encodes run in a thread pool of its own with ``ENCODE_THREADS`` threads, so at most that many
decoded captures (~4 bytes a pixel) exist at a time whatever the backlog; pages waiting hold
only the base64 text they already held. Nothing is lost: the S3 pipeline receives an item only
after its encode has finished, so a chunk (and the flush at a SIGTERM's stop, which waits for
items in progress) always holds re-encoded pages, and an encode that fails keeps the captured
PNG as it was, counted in ``screenshot/reencode_failed``.
"""

from __future__ import annotations

import base64
import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from crawler.browser.config import read_screenshot_format, read_screenshot_quality
from crawler.browser.reencode import reencode

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

# One: the encodes of two browsers' pages keep up with plenty to spare (~0.1-0.3 CPU s a page
# against ~1 s of rendering), and a second thread would only compete with Chromium for the cores.
ENCODE_THREADS = 1
STAT_PREFIX = "screenshot"


class ScreenshotPipeline:
    def __init__(self, stats: StatsCollector | None, quality: int) -> None:
        self._stats = stats
        self._quality = quality
        self._pool = ThreadPool(minthreads=0, maxthreads=ENCODE_THREADS, name="screenshot-encode")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if read_screenshot_format(crawler.settings) != "auto":
            raise NotConfigured("screenshots are stored as captured")
        return cls(crawler.stats, read_screenshot_quality(crawler.settings))

    def open_spider(self) -> None:
        self._pool.start()

    def close_spider(self) -> None:
        # Every item has left process_item by now: no encode is pending.
        self._pool.stop()

    async def process_item(self, item: Any) -> Any:
        shot = item.get("screenshot") if hasattr(item, "get") else None
        if not isinstance(shot, dict) or shot.get("format") != "png":
            return item
        from twisted.internet import reactor  # the installed one, never a default

        stored, outcome = await maybe_deferred_to_future(
            deferToThreadPool(reactor, self._pool, self.stored_screenshot, shot, item.get("url"))
        )
        item["screenshot"] = stored
        self._inc(outcome)
        return item

    def stored_screenshot(self, shot: dict[str, Any], url: object) -> tuple[dict[str, Any], str]:
        """The screenshot as stored and the stat to count; the original on any failure."""
        try:
            fmt, data = reencode(base64.b64decode(shot["data"]), self._quality)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the capture, never the page
            logger.warning("Kept the captured PNG of %s: re-encoding failed: %r", url, exc)
            return shot, "reencode_failed"
        stored = {**shot, "format": fmt, "data": base64.b64encode(data).decode("ascii")}
        return stored, f"stored_as/{fmt}"

    def _inc(self, name: str) -> None:
        if self._stats is not None:
            self._stats.inc_value(f"{STAT_PREFIX}/{name}")
