from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from twisted.internet import error as net
from twisted.python.failure import Failure

from crawler import settings as declared_settings
from crawler.exceptions import ShuttingDownError
from crawler.items import PageItem
from crawler.politeness.robots import RobotsDisallowedError
from crawler.spiders.competitors import CompetitorsSpider

PAGE = b"""<html><head><title>Home</title></head><body>
<a href="/a">a</a> <a href="/b#part">b</a> <a href="/a">again</a>
<a href="https://blog.shop.co.uk/post">same site, other host</a>
<a href="https://other.example/x">other site</a> <a href="mailto:x@shop.co.uk">mail</a>
</body></html>"""


def _spider(settings: dict[str, Any] | None = None, **kwargs: str) -> CompetitorsSpider:
    declared = {"SELENIUM_RENDER_BY_DEFAULT": declared_settings.SELENIUM_RENDER_BY_DEFAULT}
    crawler = get_crawler(CompetitorsSpider, {**declared, **(settings or {})})
    spider = CompetitorsSpider.from_crawler(crawler, **kwargs)
    crawler.spider = spider
    return spider


async def _start(spider: CompetitorsSpider) -> list[Request]:
    return [request async for request in spider.start()]


def _response_to(request: Request, body: bytes = PAGE, status: int = 200) -> HtmlResponse:
    return HtmlResponse(request.url, status=status, body=body, encoding="utf-8", request=request)


def _parse(spider: CompetitorsSpider, request: Request, **kw: Any) -> list[Any]:
    return list(spider.parse(_response_to(request, **kw)))


def _start_requests(spider: CompetitorsSpider) -> list[Request]:
    import asyncio

    return asyncio.run(_start(spider))


def test_start_requests_render_and_see_every_status() -> None:
    spider = _spider(urls="https://shop.co.uk/, https://shop.co.uk/ https://b.example/x")
    requests = _start_requests(spider)
    assert [r.url for r in requests] == ["https://shop.co.uk/", "https://b.example/x"]
    assert all(
        r.meta["selenium"] is True and 404 in r.meta["handle_httpstatus_list"] for r in requests
    )


@pytest.mark.parametrize(
    ("setting", "argument", "expected"),
    [(False, None, False), (True, "false", False), (False, "true", True)],
)
def test_rendering_follows_the_setting_unless_overridden(
    setting: bool, argument: str | None, expected: bool
) -> None:
    kwargs = {"urls": "https://a.example/"} | ({"render": argument} if argument else {})
    spider = _spider({"SELENIUM_RENDER_BY_DEFAULT": setting}, **kwargs)
    assert _start_requests(spider)[0].meta["selenium"] is expected


def test_default_max_pages_follows_no_link() -> None:
    spider = _spider(urls="https://shop.co.uk/", prompt="pricing")
    (request,) = _start_requests(spider)
    (item,) = _parse(spider, request)
    assert isinstance(item, PageItem)
    assert (item["url"], item["title"], item["prompt"], item["error"]) == (
        "https://shop.co.uk/",
        "Home",
        "pricing",
        None,
    )


def test_same_site_links_are_followed_once_up_to_max_pages() -> None:
    spider = _spider(urls="https://shop.co.uk/", max_pages="3")
    (request,) = _start_requests(spider)
    out = _parse(spider, request)
    followed = [r.url for r in out if isinstance(r, Request)]
    # /a once, /b without its fragment; the budget (3 with the start page) is then spent
    assert followed == ["https://shop.co.uk/a", "https://shop.co.uk/b"]

    bigger = _spider(urls="https://shop.co.uk/", max_pages="10")
    out = _parse(bigger, _start_requests(bigger)[0])
    assert [r.url for r in out if isinstance(r, Request)] == [
        "https://shop.co.uk/a",
        "https://shop.co.uk/b",
        "https://blog.shop.co.uk/post",
    ]


def test_error_pages_are_recorded_and_not_followed() -> None:
    spider = _spider(urls="https://shop.co.uk/", max_pages="5")
    (request,) = _start_requests(spider)
    (item,) = _parse(spider, request, status=500)
    assert item["error"] == {"type": "http_status", "message": "HTTP 500"}
    assert spider.crawler.stats.get_value("rivalscope/pages/failed") == 1


def _fail(spider: CompetitorsSpider, request: Request, exc: Exception) -> list[Any]:
    failure = Failure(exc)
    failure.request = request  # type: ignore[attr-defined]
    return list(spider.on_error(failure))


def test_a_failed_page_becomes_an_error_record() -> None:
    spider = _spider(urls="https://nowhere.example/")
    (request,) = _start_requests(spider)
    (item,) = _fail(spider, request, net.DNSLookupError("nowhere.example"))
    assert (item["url"], item["status"], item["error"]["type"]) == (
        "https://nowhere.example/",
        None,
        "dns",
    )


def test_a_robots_disallowed_start_url_is_recorded_but_a_followed_link_is_not() -> None:
    spider = _spider(urls="https://shop.co.uk/", max_pages="3")
    (start,) = _start_requests(spider)
    (item,) = _fail(spider, start, RobotsDisallowedError("no"))
    assert item["error"]["type"] == "robots_disallowed"
    link = next(r for r in _parse(spider, start) if isinstance(r, Request))
    assert _fail(spider, link, RobotsDisallowedError("no")) == []


def test_requests_dropped_by_a_stop_make_no_record() -> None:
    spider = _spider(urls="https://shop.co.uk/")
    (request,) = _start_requests(spider)
    assert _fail(spider, request, ShuttingDownError("stopping")) == []
    assert spider.crawler.stats.get_value("rivalscope/pages/not_crawled") == 1


def test_a_bot_wall_is_a_failed_page_counted_apart_and_not_followed() -> None:
    wall = (
        Path(__file__).resolve().parents[3] / "data/walls/akamai_access_denied.html"
    ).read_bytes()
    spider = _spider(urls="https://shop.co.uk/", max_pages="5")
    (request,) = _start_requests(spider)
    (item,) = _parse(spider, request, body=wall + PAGE, status=403)
    assert item["error"]["type"] == "blocked_by_site"
    assert item["error"]["message"].startswith("Akamai bot wall: ")
    stats = spider.crawler.stats
    assert stats.get_value("rivalscope/pages/failed") == 1
    assert stats.get_value("rivalscope/blocked_by_site") == 1
    assert stats.get_value("rivalscope/pages/ok") is None
