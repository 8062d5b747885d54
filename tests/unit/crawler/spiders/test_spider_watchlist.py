"""The spider with ``-a watchlist``: which competitor, prompt and page budget each page gets, and
what ``validate_arguments`` (the crawl command's check before any browser) refuses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.items import PageItem
from crawler.spiders.arguments import BadArgumentError, CrawlArguments
from crawler.spiders.competitors import CompetitorsSpider
from crawler.spiders.targets import load_targets

if TYPE_CHECKING:
    from pathlib import Path

PAGE = b"""<html><head><title>Home</title></head><body>
<a href="/a">a</a> <a href="/b">b</a> <a href="/c">c</a> <a href="/d">d</a></body></html>"""

WATCHLIST = """
competitors:
  - name: Acme Analytics
    urls: [https://acme.example/, https://app.acme.example/plans]
    max_pages: 3
    prompt: prompts/acme.md
    change_rules: {ignore_text: ["^Trusted by"], ignore_selectors: ["#cookie-banner"]}
  - name: 花見クラウド
    urls: [https://hanami.example/]
"""


@pytest.fixture
def watchlist(tmp_path: Path) -> Path:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "acme.md").write_text("Acme's prices?\n", encoding="utf-8")
    path = tmp_path / "watchlist.yaml"
    path.write_text(WATCHLIST, encoding="utf-8")
    return path


def _spider(**kwargs: str) -> tuple[CompetitorsSpider, list[Request]]:
    crawler = get_crawler(CompetitorsSpider, {})
    spider = CompetitorsSpider.from_crawler(crawler, **kwargs)
    crawler.spider = spider
    targets = load_targets(CrawlArguments.parse(kwargs), bucket=None)
    return spider, spider.requests_for(targets)


def _parse(spider: CompetitorsSpider, request: Request) -> list[Any]:
    response = HtmlResponse(request.url, body=PAGE, encoding="utf-8", request=request)
    return list(spider.parse(response))


def test_every_page_carries_its_competitor_and_its_prompt(watchlist: Path) -> None:
    spider, requests = _spider(
        watchlist=str(watchlist), urls="https://loose.example/", prompt="run-prompt"
    )
    assert [r.url for r in requests] == [
        "https://acme.example/",
        "https://app.acme.example/plans",
        "https://hanami.example/",
        "https://loose.example/",
    ]
    items = [next(i for i in _parse(spider, r) if isinstance(i, PageItem)) for r in requests]
    acme_prompt = str((watchlist.parent / "prompts" / "acme.md").resolve())
    assert [(i["competitor"], i["prompt"]) for i in items] == [
        ("Acme Analytics", acme_prompt),  # its own prompt, as an absolute path
        ("Acme Analytics", acme_prompt),
        ("花見クラウド", "run-prompt"),  # no prompt of its own: the run's
        (None, "run-prompt"),  # -a urls: no competitor
    ]
    assert items[0]["change_rules"] == {
        "ignore_text": ["^Trusted by"],
        "ignore_selectors": ["#cookie-banner"],
    }
    assert items[2]["change_rules"] is None


def test_followed_pages_keep_the_competitor_and_its_budget(watchlist: Path) -> None:
    spider, requests = _spider(watchlist=str(watchlist))
    acme, _, hanami = requests
    followed = [r for r in _parse(spider, acme) if isinstance(r, Request)]
    assert [r.url for r in followed] == ["https://acme.example/a", "https://acme.example/b"]
    item = next(i for i in _parse(spider, followed[0]) if isinstance(i, PageItem))
    assert item["competitor"] == "Acme Analytics"
    # 花見クラウド has no max_pages: -a max_pages (default 1) follows no link
    assert [r for r in _parse(spider, hanami) if isinstance(r, Request)] == []


def test_a_shard_holds_whole_competitors(watchlist: Path) -> None:
    shards = [_spider(watchlist=str(watchlist), shard=f"{i}/2")[1] for i in range(2)]
    crawled = sorted(r.url for shard in shards for r in shard)
    assert crawled == sorted(
        ["https://acme.example/", "https://app.acme.example/plans", "https://hanami.example/"]
    )
    for shard in shards:
        urls = {r.url for r in shard}
        assert ("https://acme.example/" in urls) == ("https://app.acme.example/plans" in urls)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace("prompts/acme.md", "prompts/missing.md"),
            (
                "competitors[0] \"Acme Analytics\": prompt: 'prompts/missing.md' does not resolve:"
                " no such file"
            ),
        ),
        (
            lambda t: t.replace("prompts/acme.md", "pricing"),
            (
                "\"Acme Analytics\": prompt: 'pricing' does not resolve: a prompt NAME needs the "
                "pages bucket"
            ),
        ),
        (
            lambda t: t + "  - name: Other\n    urls: [https://ACME.example]\n",
            'competitors[2] "Other": urls: https://acme.example/ is already listed under "Acme',
        ),
        (
            lambda t: t.replace("[https://hanami.example/]", "[]"),
            'watchlist {path}: competitors[1] "花見クラウド": urls: must not be empty',
        ),
    ],
)
def test_a_bad_watch_list_is_refused_before_the_crawl(
    watchlist: Path, edit: Any, message: str
) -> None:
    watchlist.write_text(edit(WATCHLIST), encoding="utf-8")
    with pytest.raises(BadArgumentError) as raised:
        CompetitorsSpider.validate_arguments({"watchlist": str(watchlist)})
    assert message.format(path=watchlist) in str(raised.value)


def test_an_unreadable_watch_list_names_the_argument(tmp_path: Path) -> None:
    with pytest.raises(BadArgumentError, match="cannot read watchlist"):
        CompetitorsSpider.validate_arguments({"watchlist": str(tmp_path / "none.yaml")})
