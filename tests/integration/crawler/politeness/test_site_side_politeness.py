"""The politeness promise, measured where the site sees it: consecutive page requests of one
site reach its server at least ``DOWNLOAD_DELAY × (1 − jitter)`` apart (issue #11, part 4).

Scrapy spaces requests when they *leave* the downloader slot; a rendered page reaches the site
only after a browser is checked out (or started) and navigates. A page whose browser was slow
to start is seen late by the site, the next page's navigation is seen at once, and the gap the
site measures shrinks. The crawl here makes that happen often: the browser is recycled every
third page (a new Chromium each time), the CPU is kept busy by two spinning processes, and the
server's own log of page requests (not subresources, not robots.txt) is what is checked."""

from __future__ import annotations

import subprocess
import sys
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.crawler.politeness.crawl_run import run_polite_crawl
from tests.servers.site import SiteServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.integration

PAGES = 12
DOWNLOAD_DELAY = 1.0
JITTER = 0.5  # Scrapy's DOWNLOAD_DELAY_JITTER: each delay is drawn from 0.5-1.5 x the delay
FLOOR = DOWNLOAD_DELAY * (1 - JITTER)
SPINNERS = 2


def _page(number: int) -> Any:
    body = (
        f"<html><head><title>p{number}</title></head>"
        f"<body><h1>Page {number}</h1><img src='/site/dot.png?{number}'></body></html>"
    )
    return lambda _handler: (200, {}, body.encode())


def _dot(_handler: Any) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "image/gif"}, b"GIF89a"


@pytest.fixture
def site() -> Iterator[SiteServer]:
    server = SiteServer(host="127.0.0.1").start()
    for number in range(1, PAGES + 1):
        server.route(f"/site/p{number}", _page(number))
    server.route("/site/dot.png", _dot)
    yield server
    server.stop()


@pytest.fixture
def loaded_cpu() -> Iterator[None]:
    """Busy-loop processes for the test's duration, stopped by their own pids."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(SPINNERS)
    ]
    yield
    for spinner in spinners:
        spinner.kill()
        spinner.wait()


def test_page_requests_reach_the_site_at_least_the_delay_floor_apart(
    site: SiteServer, loaded_cpu: None, tmp_path: Path
) -> None:
    out = tmp_path / "pages.jsonl"
    settings = {
        "ALLOW_PRIVATE_ADDRESSES": [site.netloc],
        "DOWNLOAD_DELAY": DOWNLOAD_DELAY,
        "DOWNLOAD_DELAY_JITTER": JITTER,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "SELENIUM_POOL_SIZE": 2,
        "SELENIUM_RECYCLE_AFTER": 3,
        "LOG_LEVEL": "INFO",
    }
    urls = [site.url(f"/site/p{n}") for n in range(1, PAGES + 1)]
    pages = run_polite_crawl(settings, out, urls, timeout=400)
    assert sorted(p.get("title", "") for p in pages) == sorted(f"p{n}" for n in range(1, 13))

    arrivals = sorted(
        r.at for r in site.requests() if r.path.startswith("/site/p") and "?" not in r.path
    )
    assert len(arrivals) == PAGES
    gaps = [round(later - earlier, 3) for earlier, later in pairwise(arrivals)]
    assert min(gaps) >= FLOOR, gaps
