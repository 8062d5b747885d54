"""The download handler that renders pages in headless Chromium, behind Scrapy's politeness.

Why a download handler and not a downloader middleware: Scrapy applies ``DOWNLOAD_DELAY``,
``CONCURRENT_REQUESTS_PER_DOMAIN`` and AutoThrottle in the downloader's per-site *slots*, which
sit between the middlewares and the download handlers. A middleware that renders in
``process_request`` and returns a response runs *before* the slot, so every page would go out at
once, with no delay and no per-site limit (scrapy#4591; the trap of the usual
scrapy-selenium middleware). A handler is what the slot calls when a request's turn has come,
exactly like the HTTP handler it replaces, so rendering obeys the same politeness as a plain
fetch, and AutoThrottle measures the real render latency.

Only requests with a truthy ``request.meta["selenium"]`` are rendered; everything else
(robots.txt, plain fetches) goes to Scrapy's own HTTP/1.1 handler. Scrapy builds one handler per
scheme, so the ``http`` and ``https`` instances share one render service (browser pool and guard
proxy) per crawler.
"""

from __future__ import annotations

import dataclasses
import logging
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.exceptions import NotSupported
from scrapy.http import HtmlResponse, Response
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred

from crawler.browser.capture_turns import CaptureHeightBudget, TallCaptureTurns
from crawler.browser.config import SeleniumConfig
from crawler.browser.encoder import ScreenshotEncoder
from crawler.browser.page import RenderedPage, RenderOptions, render_page
from crawler.browser.pool import BrowserPool
from crawler.exceptions import RenderError
from crawler.malloc import fix_mmap_threshold
from crawler.netguard.config import NetguardConfig
from crawler.netguard.proxy import GuardProxy
from crawler.politeness.site_pacing import SitePacer

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler

    from crawler.browser.session import BrowserSession

logger = logging.getLogger(__name__)

__all__ = ["RenderedPage", "SeleniumDownloadHandler"]


class _RenderService:
    """The browser pool and the guard proxy of one crawler, shared by its handler instances."""

    def __init__(self, crawler: Crawler) -> None:
        # Rendering is what moves screenshot-sized buffers through this process.
        fix_mmap_threshold()
        self.stats = crawler.stats
        config = SeleniumConfig.from_settings(crawler.settings)
        self.proxy = _start_guard_proxy(crawler)
        self.config = config.with_proxy(self.proxy.start())
        slow_page = config.page_load_timeout + config.settle_timeout
        if config.download_timeout < slow_page:
            logger.warning(
                "DOWNLOAD_TIMEOUT=%g s is shorter than SELENIUM_PAGE_LOAD_TIMEOUT +"
                " SELENIUM_SETTLE_TIMEOUT (%g s): slow pages will fail at %g s",
                config.download_timeout,
                slow_page,
                config.download_timeout,
            )
        self.pool = BrowserPool(self.config, on_event=self._count)
        # SELENIUM_SCREENSHOT_FORMAT=auto: captures re-encoded off the browsers' threads, each
        # browser at most one page ahead of the encoder (crawler/browser/encoder.py).
        self.encoder = (
            ScreenshotEncoder(
                config.screenshot_quality,
                backlog=2 * config.pool_size,
                wait=config.page_load_timeout,
            )
            if config.screenshot_format == "auto"
            else None
        )
        # Tall captures one at a time; a turn is waited for at most a page-load timeout.
        # Or, by default, captures run together while their heights fit in a budget.
        self.captures: TallCaptureTurns | CaptureHeightBudget = (
            TallCaptureTurns(config.tall_capture_height, config.page_load_timeout)
            if config.tall_capture_height
            else CaptureHeightBudget(config.capture_height_budget, config.page_load_timeout)
        )
        self.pacer = SitePacer()
        self.users = 0

    def _count(self, name: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"selenium/{name}")

    def blocked_reason(self, url: str) -> str | None:
        """Why the guard proxy refused ``url``'s host and port, if it did."""
        target = urlsplit(url)
        port = target.port or (443 if target.scheme == "https" else 80)
        host = (target.hostname or "").lower()
        for blocked in list(self.proxy.blocked):
            if blocked.host.strip("[]").lower() == host and blocked.port == port:
                return blocked.reason
        return None

    async def close(self) -> None:
        try:
            await self.pool.close()
        finally:
            self.proxy.stop()
            if self.encoder is not None:
                self.encoder.stop()


_SERVICES: WeakKeyDictionary[Crawler, _RenderService] = WeakKeyDictionary()


def _start_guard_proxy(crawler: Crawler) -> GuardProxy:
    """The private-address guard's proxy: every browser request goes through it, loopback
    included, so a page's images, frames, fetches and redirects obey ALLOW_PRIVATE_ADDRESSES
    as Scrapy's own requests do (the netguard middleware)."""
    guard = NetguardConfig.from_crawler(crawler)
    return GuardProxy(guard.policy, outbound=guard.outbound)


class SeleniumDownloadHandler:
    # Built at start-up: a bad SELENIUM_* setting is reported before any page, naming it.
    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        self._crawler = crawler
        self._http = build_from_crawler(HTTP11DownloadHandler, crawler)
        service = _SERVICES.get(crawler)
        if service is None:
            service = _SERVICES[crawler] = _RenderService(crawler)
        service.users += 1
        self._service = service

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @property
    def pool(self) -> BrowserPool:
        return self._service.pool

    async def download_request(self, request: Request) -> Response:
        if not request.meta.get("selenium"):
            return await self._http.download_request(request)
        if request.method != "GET":
            raise NotSupported(f"rendering supports GET only, not {request.method} {request}")
        config = self._service.config
        slot, floor = self._slot_floor(request)
        pacer = self._service.pacer
        wait = pacer.wait_for(slot, floor)
        if wait > 0:
            # The site saw this slot's previous page late (crawler.politeness.site_pacing):
            # wait here, on the reactor, holding no browser another site could use meanwhile.
            self._inc("selenium/site_pacing/waits")
            waited: Deferred[None] = Deferred()
            call_later(wait, waited.callback, None)
            await maybe_deferred_to_future(waited)
        options = RenderOptions(
            screenshot=bool(request.meta.get("selenium_screenshot", True)),
            blocked_reason=self._service.blocked_reason,
            navigation=partial(pacer.navigation, slot, floor),
            saw_request=partial(pacer.saw, slot),
            ignore_selectors=tuple(request.meta.get("selenium_ignore_selectors") or ()),
            capture_turn=self._service.captures.turn,
        )

        encoder = self._service.encoder if options.screenshot else None
        reserved = False

        def job(session: BrowserSession) -> RenderedPage:
            nonlocal reserved
            page_options = options
            if encoder is not None:
                reserved = encoder.reserve()
                if not reserved:
                    # The encoder is behind (no idle CPU for it): this page is Chrome's JPEG, as
                    # with SELENIUM_SCREENSHOT_FORMAT=jpeg, rather than a browser waiting for it.
                    page_options = dataclasses.replace(options, screenshot_format="jpeg")
            return render_page(session, request.url, config, page_options, leave=False)

        timeout = float(request.meta.get("download_timeout") or config.download_timeout)
        try:
            page = await self._render(job, timeout, request.url)
        except BaseException:
            if reserved and encoder is not None:
                encoder.release()
            raise
        if reserved and encoder is not None:
            page = await self._encoded(page, encoder, request.url)
        elif encoder is not None:
            self._inc("screenshot/encoder_busy")
        if page.screenshot is not None and page.screenshot.truncated:
            self._inc("selenium/screenshot_truncated")
        if page.scrolled is not None:
            self._inc("selenium/scroll/scrolled" if page.scrolled else "selenium/scroll/skipped")
        request.meta["selenium_page"] = page
        if page.not_a_page is not None:
            # No body: what the tab showed belongs to another page (crawler/browser/page.py).
            return Response(
                url=page.final_url,
                status=page.status if page.status is not None else 200,
                headers={"Content-Type": page.content_type} if page.content_type else {},
                request=request,
                flags=["rendered", "not_a_page"],
            )
        return HtmlResponse(
            url=page.final_url,
            status=page.status if page.status is not None else 200,
            headers={"Content-Type": "text/html; charset=utf-8"},
            body=page.html.encode("utf-8"),
            encoding="utf-8",
            request=request,
            flags=["rendered"],
        )

    async def _render(
        self, job: Callable[[BrowserSession], RenderedPage], timeout: float, url: str
    ) -> RenderedPage:
        try:
            page = await self.pool.run(job, timeout=timeout, label=url)
        except RenderError as exc:
            self._inc(f"selenium/render_errors/{exc.error_type}")
            raise
        self._inc("selenium/pages_rendered")
        return page

    async def _encoded(
        self, page: RenderedPage, encoder: ScreenshotEncoder, url: str
    ) -> RenderedPage:
        """The page with its screenshot as ``SELENIUM_SCREENSHOT_FORMAT=auto`` stores it; gives
        back the page's place in the encoder's backlog."""
        if page.screenshot is None:
            encoder.release()
            return page
        self._inc(f"screenshot/captured_as/{page.screenshot.format}")
        shot, outcome = await encoder.encode(page.screenshot, url)
        self._inc(f"screenshot/{outcome}")
        return dataclasses.replace(page, screenshot=shot)

    def _slot_floor(self, request: Request) -> tuple[str, float]:
        """The request's downloader slot and the least gap its site must see between our page
        requests: the slot's delay × (1 − jitter), the shortest delay Scrapy may draw for it
        (AutoThrottle and robots.txt Crawl-delay change the slot, so it is read per request).
        Outside a crawl's downloader (no slot) nothing is paced."""
        key = str(request.meta.get("download_slot") or urlsplit(request.url).hostname or "")
        if not self._crawler.crawling:
            return key, 0.0
        slot = self._crawler.engine.downloader.slots.get(key)
        if slot is None:
            return key, 0.0
        return key, max(0.0, slot.delay * (1 - min(1.0, slot.jitter)))

    async def close(self) -> None:
        """Closes the plain HTTP handler; the last instance of the crawler also quits every
        browser and stops the guard proxy."""
        await self._http.close()
        service = self._service
        service.users -= 1
        if service.users == 0:
            _SERVICES.pop(self._crawler, None)
            await service.close()

    def _inc(self, name: str) -> None:
        if self._crawler.stats is not None:
            self._crawler.stats.inc_value(name)
