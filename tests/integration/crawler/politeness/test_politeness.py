"""Rendering stays polite: a real crawl with rendering on keeps DOWNLOAD_DELAY between pages of
one site and one page at a time per site, while different sites render in parallel. This is
why the browser sits in a download handler, behind Scrapy's downloader slots."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.crawler.politeness.crawl_run import run_polite_crawl
from tests.servers.site import SiteServer

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration


# Long enough that two browsers starting at once on a loaded machine still overlap.
SLOW_IMAGE_SECONDS = 4.0
PNG = (Path(__file__).resolve().parents[3] / "data/site/render/lazy-target.png").read_bytes()


def _page(name: str, slow: bool) -> Any:
    image = '<img src="/render/polite/slow.png" width="20" height="20">' if slow else ""
    body = f"<html><head><title>{name}</title></head><body><h1>{name}</h1>{image}</body></html>"
    return lambda _handler: (200, {}, body.encode())


def _slow_image(_handler: Any) -> tuple[int, dict[str, str], bytes]:
    import time

    time.sleep(SLOW_IMAGE_SECONDS)
    return 200, {"Content-Type": "image/png"}, PNG


@pytest.fixture(scope="module")
def two_sites() -> Iterator[tuple[SiteServer, SiteServer]]:
    """Two sites on two hosts (Scrapy keys its slots by host), each with a first page whose
    image answers 4 s late and two fast pages."""
    servers = (SiteServer(host="127.0.0.1").start(), SiteServer(host="127.0.0.2").start())
    for server, prefix in zip(servers, "ab", strict=True):
        for number in (1, 2, 3):
            server.route(
                f"/render/polite/{prefix}{number}", _page(f"{prefix}{number}", number == 1)
            )
        server.route("/render/polite/slow.png", _slow_image)
    yield servers
    for server in servers:
        server.stop()


def test_rendering_keeps_per_site_delay_and_parallelism_across_sites(
    two_sites: tuple[SiteServer, SiteServer], tmp_path: Path
):
    site_a, site_b = two_sites
    out = tmp_path / "pages.jsonl"
    settings = {
        "ALLOW_PRIVATE_ADDRESSES": [site_a.netloc, site_b.netloc],
        "DOWNLOAD_DELAY": 1.0,
        "RANDOMIZE_DOWNLOAD_DELAY": True,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "SELENIUM_POOL_SIZE": 2,
        "LOG_LEVEL": "INFO",
    }
    urls = [
        s.url(f"/render/polite/{p}{n}")
        for n in (1, 2, 3)
        for s, p in zip(two_sites, "ab", strict=False)
    ]
    pages = run_polite_crawl(settings, out, urls, timeout=180)
    assert sorted(p.get("title", "") for p in pages) == ["a1", "a2", "a3", "b1", "b2", "b3"], pages
    assert all(p["flags"] == ["rendered"] for p in pages)

    def times(site: SiteServer, prefix: str) -> list[float]:
        return [r.at for r in site.requests() if r.path.startswith(f"/render/polite/{prefix}")]

    a_times, b_times = times(site_a, "a"), times(site_b, "b")
    assert len(a_times) == len(b_times) == 3
    # Same site: one page at a time, at least 0.5 x DOWNLOAD_DELAY apart.
    for earlier, later in (*pairwise(a_times), *pairwise(b_times)):
        assert later - earlier >= 0.5, (a_times, b_times)
    # Different sites: the first pages render at the same time. A first page is being rendered
    # from its request until its image has answered, 4 s after it was asked for; serialised,
    # the other site's first page could only start after that.
    a_busy = (a_times[0], _image_requested(site_a) + SLOW_IMAGE_SECONDS)
    b_busy = (b_times[0], _image_requested(site_b) + SLOW_IMAGE_SECONDS)
    assert b_busy[0] < a_busy[1], (a_busy, b_busy)
    assert a_busy[0] < b_busy[1], (a_busy, b_busy)
    # Plain requests (robots.txt) went through Scrapy's HTTP handler, not the browser.
    assert "/robots.txt" in site_a.paths()
    assert "/robots.txt" in site_b.paths()


def _image_requested(site: SiteServer) -> float:
    (at,) = [r.at for r in site.requests() if r.path == "/render/polite/slow.png"]
    return at
