"""The scrapy-playwright comparison: 4 pages at a time in one browser, full-page PNGs.

Run by ``bench.crawl`` in its own process (``python -m bench.playwright_crawl URLS_FILE OUT_DIR
TIMING_FILE``) so the PSS of its tree (python, Playwright's node driver, chromium) is measured
alone. Playwright's own browser download is impossible offline, hence ``executable_path``: the
binary rivalscope renders with (``SELENIUM_BROWSER_PATH``, Debian's chromium-headless-shell), as
issue #16's goal compares the two on the same browser. Until 2026-12-03 this was
``/usr/bin/chromium``, the full browser, whose new headless mode costs more per page.
Settings mirror the rivalscope run: no download delay, one request at a time per site,
AutoThrottle off, robots.txt obeyed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import Request, Spider
from scrapy.crawler import CrawlerProcess
from scrapy_playwright.page import PageMethod

from bench.baseline import CHROMIUM_ARGS, file_stem, png_height
from crawler.settings import SELENIUM_BROWSER_PATH

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy.http import Response
    from twisted.python.failure import Failure

CONCURRENCY = 4
_HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"


class PlaywrightBenchSpider(Spider):
    name = "playwright_bench"

    def __init__(self, urls_file: str, out_dir: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = Path(urls_file).read_text().split()
        self.out_dir = Path(out_dir)

    async def start(self) -> AsyncIterator[Request]:
        for url in self.urls:
            yield Request(
                url,
                meta={
                    "playwright": True,
                    "playwright_page_methods": [
                        PageMethod("screenshot", full_page=True, type="png"),
                    ],
                },
                errback=self.failed,
                dont_filter=True,
            )

    def parse(self, response: Response, **kwargs: Any) -> Iterator[dict[str, Any]]:
        shot: bytes = response.meta["playwright_page_methods"][0].result
        html = response.body
        stem = file_stem(response.url)
        (self.out_dir / f"{stem}.png").write_bytes(shot)
        (self.out_dir / f"{stem}.html").write_bytes(html)
        yield {
            "url": response.url,
            "bench_bytes": len(shot) + len(html),
            "bench_shot_height": png_height(shot),
        }

    def failed(self, failure: Failure) -> Iterator[dict[str, Any]]:
        request = getattr(failure, "request", None)
        yield {
            "url": request.url if request is not None else "",
            "bench_error": f"{failure.type.__name__ if failure.type else 'error'}: "
            f"{failure.getErrorMessage()}",
        }


def settings(timing_file: str) -> dict[str, Any]:
    return {
        "DOWNLOAD_HANDLERS": {"http": "bench.timing.TimedHandler"},
        "BENCH_INNER_HANDLER": _HANDLER,
        "BENCH_TIMING_FILE": timing_file,
        "EXTENSIONS": {"bench.timing.BenchTimer": 500},
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": SELENIUM_BROWSER_PATH,
            "headless": True,
            "args": CHROMIUM_ARGS,
        },
        "PLAYWRIGHT_CONTEXTS": {"default": {"viewport": {"width": 1280, "height": 900}}},
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": CONCURRENCY,
        "CONCURRENT_REQUESTS": CONCURRENCY,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "ROBOTSTXT_OBEY": True,
        "RETRY_TIMES": 0,
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
    }


def main(argv: list[str]) -> None:
    urls_file, out_dir, timing_file = argv
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    process = CrawlerProcess(settings(timing_file))
    process.crawl(PlaywrightBenchSpider, urls_file=urls_file, out_dir=out_dir)
    process.start()


if __name__ == "__main__":
    main(sys.argv[1:])
