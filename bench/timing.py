"""Per-page render time and completion time for the Scrapy-based crawls of the benchmark.

Scrapy's ``request_reached_downloader`` fires before a request waits in its site's slot, so it
cannot time a render. ``TimedHandler`` wraps the real download handler (named by
``BENCH_INNER_HANDLER``) and times each ``download_request`` call: navigation, settling and the
screenshot, nothing queued. ``BenchTimer`` (an extension) notes the first request, each page's
completion and the close, and writes them as JSON to ``BENCH_TIMING_FILE`` in the format
``bench.crawl`` reads from every approach.
"""

from __future__ import annotations

import inspect
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import build_from_crawler, load_object

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

RENDER_MS = "bench_render_ms"


class TimedHandler:
    """Delegates to ``BENCH_INNER_HANDLER`` and stores the call's duration in request meta."""

    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        path = crawler.settings.get("BENCH_INNER_HANDLER")
        if not path:
            raise NotConfigured("BENCH_INNER_HANDLER must name the download handler to time")
        self._crawler = crawler
        self._inner: Any = build_from_crawler(load_object(path), crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TimedHandler:
        return cls(crawler)

    async def download_request(self, request: Request) -> Response:
        started = time.monotonic()
        try:
            if inspect.iscoroutinefunction(self._inner.download_request):
                response: Response = await self._inner.download_request(request)
            else:  # an old-style handler returning a Deferred
                deferred = self._inner.download_request(request, self._crawler.spider)
                response = await maybe_deferred_to_future(deferred)
        finally:
            request.meta[RENDER_MS] = (time.monotonic() - started) * 1000
        return response

    async def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is None:
            return
        result = close()
        if inspect.isawaitable(result):
            await result
        elif result is not None:
            await maybe_deferred_to_future(result)


class BenchTimer:
    """Writes ``{first_request, finished, pages: [{url, render_ms, done_at, ...}]}``."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._first_request: float | None = None
        self._pages: list[dict[str, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BenchTimer:
        path = crawler.settings.get("BENCH_TIMING_FILE")
        if not path:
            raise NotConfigured("BENCH_TIMING_FILE is not set")
        timer = cls(Path(path))
        crawler.signals.connect(timer._reached, signal=signals.request_reached_downloader)
        crawler.signals.connect(timer._scraped, signal=signals.item_scraped)
        crawler.signals.connect(timer._closed, signal=signals.spider_closed)
        return timer

    def _reached(self, request: Request, spider: Spider) -> None:
        if self._first_request is None:
            self._first_request = time.time()

    def _scraped(self, item: Any, response: Any, spider: Spider) -> None:
        # ``response`` is a Failure for items an errback produced.
        meta = getattr(response, "meta", None) or {}
        fields = ItemAdapter(item) if ItemAdapter.is_item(item) else {}
        self._pages.append(
            {
                "url": fields.get("url") or getattr(response, "url", ""),
                "render_ms": meta.get(RENDER_MS),
                "done_at": time.time(),
                "bytes": fields.get("bench_bytes"),
                "shot_height": fields.get("bench_shot_height"),
                "error": fields.get("bench_error"),
            }
        )

    def _closed(self, spider: Spider, reason: str) -> None:
        # Pipelines have flushed by now: the engine closes them before spider_closed fires.
        report = {
            "first_request": self._first_request,
            "finished": time.time(),
            "reason": reason,
            "pages": self._pages,
        }
        self._path.write_text(json.dumps(report))
