"""``scrapy crawl competitors``: each given URL (and, with ``max_pages``, same-site links,
breadth-first) becomes exactly one page record.

URLs come from a watch list (``-a watchlist``: competitors by name, each with its own
``max_pages`` and prompt; ``crawler.spiders.targets``) and/or ``-a urls``/``urls_file``. A page
found by following a link belongs to the competitor of the page it was found on.

Pages are rendered by the Selenium download handler when ``meta["selenium"]`` is true
(``SELENIUM_RENDER_BY_DEFAULT``, or ``-a render=`` for this run). Every 4xx/5xx status
reaches the callback (``handle_httpstatus_list``), so such a page is recorded with an
``http_status`` error; a page that fails to download or render reaches the errback and is
recorded with the error's type. Requests dropped by a graceful stop produce no record: they
were never fetched.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy.http import TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread
from w3lib.url import canonicalize_url

from crawler.crash_retry import RECORDED_META, attempts, interrupted_crash
from crawler.exceptions import ShuttingDownError
from crawler.items import PageItem
from crawler.politeness.robots import RobotsDisallowedError
from crawler.records import failed_page, rendered_page
from crawler.spiders.arguments import CrawlArguments
from crawler.spiders.ignored import IgnoreRules, load_ignore_rules
from crawler.spiders.targets import bucket_of, load_targets, shard_urls
from rivalscope_core.keys import new_run_id, shard_label
from rivalscope_core.records import BLOCKED_BY_SITE
from rivalscope_core.sites import site_of
from rivalscope_core.urls import BadUrlError, normalize_url

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

    from rivalscope_core.watchlist import Competitor, WatchList

logger = logging.getLogger(__name__)

_ERROR_STATUSES = list(range(400, 600))

_META_URL = "rivalscope_url"
_META_SITE = "rivalscope_site"
_META_START = "rivalscope_start"
_META_COMPETITOR = "rivalscope_competitor"
_HTTP_ERROR_FROM = 400
START_URLS_STAT = "rivalscope/start_urls"
# Bot walls are failed pages too (rivalscope/pages/failed, exit code 1); counted apart as well.
BLOCKED_STAT = "rivalscope/blocked_by_site"


class CompetitorsSpider(scrapy.Spider):
    name = "competitors"
    # Breadth-first: shallow pages of a site first, so max_pages keeps the nearest pages.
    custom_settings = {  # noqa: RUF012 - Scrapy's documented class attribute
        "DEPTH_PRIORITY": 1,
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
    }

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        self.args = CrawlArguments.parse(kwargs)
        super().__init__(name)
        self.prompt = self.args.prompt
        # Every shard of a run is passed the same id; alone, a crawl is its own run.
        self.run_id = self.args.run or new_run_id()
        self.render = True
        self._seen: set[str] = set()
        self._per_site: Counter[str] = Counter()
        self._links = LinkExtractor()
        self._competitors: dict[str, Competitor] = {}
        self._bucket: str | None = None
        self._change_rules_ref: str | None = None
        self._ignore = IgnoreRules()

    @property
    def shard_label(self) -> str:
        """Part of every chunk key of a sharded crawl (``shard1of4``); empty otherwise."""
        return shard_label(*self.args.shard)

    @classmethod
    def validate_arguments(
        cls, kwargs: dict[str, Any], settings: BaseSettings | None = None
    ) -> None:
        """Everything that can be wrong with the arguments — a watch list's every entry and
        prompt included — checked before the crawl starts (the ``crawl`` command turns a
        ``BadArgumentError`` into exit code 2)."""
        args = CrawlArguments.parse(kwargs)
        bucket = bucket_of(settings.get("S3PIPELINE_URL") if settings else None)
        load_targets(args, bucket)
        load_ignore_rules(settings.get("CHANGE_RULES") if settings else None, bucket)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> CompetitorsSpider:
        spider: CompetitorsSpider = super().from_crawler(crawler, *args, **kwargs)
        default = crawler.settings.getbool("SELENIUM_RENDER_BY_DEFAULT")
        spider.render = default if spider.args.render is None else spider.args.render
        spider._bucket = bucket_of(crawler.settings.get("S3PIPELINE_URL"))
        spider._change_rules_ref = crawler.settings.get("CHANGE_RULES")
        return spider

    async def start(self) -> AsyncIterator[Any]:
        if self.args.urls_file or self.args.watchlist:  # files (maybe in S3): off the reactor
            targets = await maybe_deferred_to_future(
                deferToThread(load_targets, self.args, self._bucket)
            )
        else:
            targets = load_targets(self.args, self._bucket)
        if self._change_rules_ref:
            self._ignore = await maybe_deferred_to_future(
                deferToThread(load_ignore_rules, self._change_rules_ref, self._bucket)
            )
        for request in self.requests_for(targets):
            yield request

    def requests_for(self, targets: WatchList) -> list[scrapy.Request]:
        """The start requests of this task's shard of ``targets``."""
        urls = shard_urls(targets, self.args.shard)
        index, count = self.args.shard
        self.crawler.stats.set_value(START_URLS_STAT, len(urls))
        self._competitors = {c.name: c for c in targets.competitors}
        named = {c.name for url in urls if (c := targets.competitor_of(url)) is not None}
        logger.info(
            "Crawling %d URL(s)%s%s, up to %d page(s) per site",
            len(urls),
            f" of {len(named)} competitor(s)" if named else "",
            f" (shard {index}/{count})" if count > 1 else "",
            self.args.max_pages,
        )
        requests = (
            self._page_request(url, targets.competitor_of(url), start=True) for url in urls
        )
        return [request for request in requests if request is not None]

    def _budget(self, competitor: Competitor | None) -> int:
        """Pages per site: the competitor's ``max_pages``, else ``-a max_pages``."""
        if competitor is not None and competitor.max_pages is not None:
            return competitor.max_pages
        return self.args.max_pages

    def _competitor(self, meta: dict[str, Any]) -> Competitor | None:
        name = meta.get(_META_COMPETITOR)
        return self._competitors.get(name) if name is not None else None

    def _prompt(self, competitor: Competitor | None) -> str | None:
        """The prompt reference a page record carries: its competitor's, else the run's."""
        if competitor is not None and competitor.prompt is not None:
            return competitor.prompt
        return self.prompt

    def _page_request(
        self, url: str, competitor: Competitor | None, *, start: bool
    ) -> scrapy.Request | None:
        fingerprint = canonicalize_url(url, keep_fragments=False)
        site = site_of(url)
        if fingerprint in self._seen:
            return None
        if not start and self._per_site[site] >= self._budget(competitor):
            return None
        self._seen.add(fingerprint)
        self._per_site[site] += 1
        return scrapy.Request(
            url,
            callback=self.parse,
            errback=self.on_error,
            meta={
                "selenium": self.render,
                # not handle_httpstatus_all: that would stop RedirectMiddleware from following
                # a plain (render=false) redirect, and store the 3xx as the page
                "handle_httpstatus_list": _ERROR_STATUSES,
                _META_URL: url,
                _META_SITE: site,
                _META_START: start,
                _META_COMPETITOR: competitor.name if competitor is not None else None,
                # the elements whose screen boxes the render records (crawler/spiders/ignored.py)
                "selenium_ignore_selectors": self._ignore.selectors(url, competitor),
            },
        )

    def parse(self, response: Response, **_: Any) -> Iterator[Any]:
        url = response.meta.get(_META_URL, response.url)
        competitor = self._competitor(response.meta)
        record = rendered_page(url, response, self._prompt(competitor), competitor)
        self._count(record.error is None)
        if record.error is not None and record.error.type == BLOCKED_BY_SITE:
            logger.warning("Page %s is a bot wall: %s", url, record.error.message)
            self.crawler.stats.inc_value(BLOCKED_STAT)
        yield PageItem.from_record(record)
        if record.error is None and self._budget(competitor) > 1:
            yield from self._follow(response, competitor)

    def _follow(
        self, response: Response, competitor: Competitor | None
    ) -> Iterator[scrapy.Request]:
        site = response.meta.get(_META_SITE) or site_of(response.url)
        if self._per_site[site] >= self._budget(competitor):
            return
        if not isinstance(response, TextResponse):
            return  # an image or a PDF has no links to follow
        for link in self._links.extract_links(response):
            try:
                url = normalize_url(link.url.split("#", 1)[0])
            except BadUrlError:
                continue
            if site_of(url) != site:
                continue
            request = self._page_request(url, competitor, start=False)
            if request is not None:
                yield request

    def on_error(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined] # set by Scrapy on errbacks
        exc = failure.value
        assert exc is not None
        tries = attempts(request)
        if isinstance(exc, ShuttingDownError):
            if request.meta.get(RECORDED_META):
                return  # a crash retry the stop recorded already (crawler/crash_retry.py)
            interrupted = interrupted_crash(request)
            if interrupted is None:  # never requested from the site: no page to record
                self.crawler.stats.inc_value("rivalscope/pages/not_crawled")
                return
            exc, tries = interrupted  # the stop dropped a crash retry: record the crash
        if isinstance(exc, RobotsDisallowedError) and not request.meta.get(_META_START):
            # A followed link robots.txt forbids is not followed, and leaves the budget alone.
            self._per_site[request.meta.get(_META_SITE) or site_of(request.url)] -= 1
            return
        competitor = self._competitor(request.meta)
        record = failed_page(
            request.meta.get(_META_URL, request.url),
            exc,
            self._prompt(competitor),
            competitor,
            attempts=tries,
        )
        assert record.error is not None
        logger.warning("Page %s failed: %s", record.url, record.error.message)
        self._count(ok=False)
        yield PageItem.from_record(record)

    def _count(self, ok: bool) -> None:
        self.crawler.stats.inc_value(f"rivalscope/pages/{'ok' if ok else 'failed'}")
