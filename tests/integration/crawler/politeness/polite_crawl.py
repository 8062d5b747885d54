"""A real Scrapy crawl of given URLs with rendering on, for the politeness test.

Run: ``python -m tests.integration.crawler.politeness.polite_crawl SETTINGS_JSON OUT.jsonl URL``
(one or more URLs).
Uses the project's settings (middlewares, handler, politeness) without the S3 pipeline; every
page, rendered or failed, becomes one JSON line in OUT.jsonl.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy.crawler import CrawlerProcess

from tests.project_settings import project_settings_dict

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scrapy.http import Response
    from twisted.python.failure import Failure


class RenderSpider(scrapy.Spider):
    name = "render-politeness"

    def __init__(self, urls: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls

    async def start(self) -> Any:
        for url in self.urls:
            yield scrapy.Request(url, meta={"selenium": True}, errback=self.failed)

    def parse(self, response: Response) -> Iterator[dict[str, Any]]:
        page = response.meta["selenium_page"]
        yield {
            "url": response.url,
            "status": response.status,
            "flags": response.flags,
            "title": page.title,
        }

    def failed(self, failure: Failure) -> Iterator[dict[str, Any]]:
        yield {"url": failure.request.url, "error": repr(failure.value)}  # type: ignore[attr-defined]


def main() -> None:
    overrides = json.loads(sys.argv[1])
    out = Path(sys.argv[2])
    base = project_settings_dict()
    settings = {
        **base,
        "ITEM_PIPELINES": {},
        "FEEDS": {str(out): {"format": "jsonlines"}},
        **overrides,
    }
    process = CrawlerProcess(settings, install_root_handler=True)
    process.crawl(RenderSpider, urls=sys.argv[3:])
    process.start()


if __name__ == "__main__":
    main()
