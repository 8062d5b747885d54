"""Which ``ignore_selectors`` each page request carries to the render (its boxes are measured
before the screenshot): CHANGE_RULES for its site merged with its competitor's, and what a bad
CHANGE_RULES does (exit 2 before any browser)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler.browser.page import ignored_boxes
from crawler.spiders.arguments import BadArgumentError, CrawlArguments
from crawler.spiders.competitors import CompetitorsSpider
from crawler.spiders.ignored import load_ignore_rules
from crawler.spiders.targets import load_targets

if TYPE_CHECKING:
    from pathlib import Path

WATCHLIST = """
competitors:
  - name: Acme Analytics
    urls: [https://acme.example/, https://app.acme.example/plans]
    change_rules: {ignore_selectors: ["#cookie-banner", ".ad"]}
  - name: Hanami
    urls: [https://hanami.example/]
"""
RULES = """
"*": {ignore_selectors: [".ad"]}
app.acme.example: {ignore_selectors: [".ticker"]}
"""


def test_each_request_carries_its_sites_and_its_competitors_selectors(tmp_path: Path) -> None:
    (tmp_path / "watchlist.yaml").write_text(WATCHLIST, encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    kwargs = {"watchlist": str(tmp_path / "watchlist.yaml"), "urls": "https://loose.example/"}
    crawler = get_crawler(CompetitorsSpider, {"CHANGE_RULES": str(tmp_path / "rules.yaml")})
    spider = CompetitorsSpider.from_crawler(crawler, **kwargs)
    crawler.spider = spider
    spider._ignore = load_ignore_rules(str(tmp_path / "rules.yaml"), None)  # as start() does
    requests = spider.requests_for(load_targets(CrawlArguments.parse(kwargs), bucket=None))
    selectors = {r.url: r.meta["selenium_ignore_selectors"] for r in requests}
    assert selectors == {
        "https://acme.example/": (".ad", "#cookie-banner"),
        "https://app.acme.example/plans": (".ad", ".ticker", "#cookie-banner"),
        "https://hanami.example/": (".ad",),
        "https://loose.example/": (".ad",),
    }


def test_without_change_rules_only_the_competitors_selectors_apply(tmp_path: Path) -> None:
    (tmp_path / "watchlist.yaml").write_text(WATCHLIST, encoding="utf-8")
    kwargs = {"watchlist": str(tmp_path / "watchlist.yaml")}
    crawler = get_crawler(CompetitorsSpider, {})
    spider = CompetitorsSpider.from_crawler(crawler, **kwargs)
    crawler.spider = spider
    requests = spider.requests_for(load_targets(CrawlArguments.parse(kwargs), bucket=None))
    assert [r.meta["selenium_ignore_selectors"] for r in requests] == [
        ("#cookie-banner", ".ad"), ("#cookie-banner", ".ad"), (),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a.example: {ignore_selectors: ['div[']}", "site 'a.example', ignore_selectors: bad"),
        ("a.example: {ignore_txt: [x]}", "unknown field ignore_txt"),
    ],
)
def test_a_bad_change_rules_file_stops_the_crawl_before_it_starts(
    tmp_path: Path, text: str, message: str
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(text, encoding="utf-8")
    settings = Settings({"CHANGE_RULES": str(rules)})
    with pytest.raises(BadArgumentError, match=message):
        CompetitorsSpider.validate_arguments({"urls": "https://a.example/"}, settings)
    with pytest.raises(BadArgumentError, match=r"CHANGE_RULES: file nowhere\.yaml not found"):
        load_ignore_rules("nowhere.yaml", None)


def test_boxes_come_in_screenshot_pixels() -> None:
    found = {"boxes": [[0, 120, 728, 90], [10.0, 5, 3, 4], "junk", [1, 2, 3]], "width": 1280}
    assert ignored_boxes(found, 1280) == ((0, 120, 728, 90), (10, 5, 3, 4))
    assert ignored_boxes({"boxes": [[0, 120, 728, 90]], "width": 640}, 1280) == (
        (0, 240, 1456, 180),
    )
    assert ignored_boxes(None, 1280) == ()
