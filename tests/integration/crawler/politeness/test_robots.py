"""robots.txt for concurrent start URLs of one site, and its Crawl-delay."""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING

import pytest

from tests.integration.crawler.conftest import stored_records

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.integration.crawler.conftest import Crawl
    from tests.servers.site import Route, SiteServer, _Handler

pytestmark = pytest.mark.integration


def _robots(text: str, wait: float = 0.0) -> Route:
    def answer(_handler: _Handler) -> tuple[int, dict[str, str], bytes]:
        time.sleep(wait)
        return 200, {"Content-Type": "text/plain"}, text.encode()

    return answer


def test_concurrent_start_urls_of_one_site_all_obey_robots_txt(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    # robots.txt answers slowly, so all eight start requests wait for it together: Scrapy's
    # own middleware let all but the first of them through unchecked
    # (crawler/politeness/robots.py).
    crawl_site.route("/robots.txt", _robots("User-agent: *\nDisallow: /private/\n", wait=1.0))
    allowed = ["/", "/a.html", "/b.html", "/a1.html"]
    disallowed = ["/private/1.html", "/private/2.html", "/private/3.html", "/private/4.html"]
    order = [allowed[0], *disallowed[:2], *allowed[1:], *disallowed[2:]]
    result = crawl.run(
        "urls=" + " ".join(crawl_site.url(p) for p in order),
        CONCURRENT_REQUESTS=16,
        DOWNLOAD_DELAY=0,
    )
    assert result.returncode == 1, result.log  # the disallowed start URLs are failures
    fetched = crawl_site.paths()
    assert not [p for p in fetched if p.startswith("/private/")]
    assert sorted(p for p in fetched if p != "/robots.txt") == sorted(allowed)
    errors = {r["url"]: r["error"] for r in stored_records(s3, bucket)}
    assert {url for url, e in errors.items() if e and e["type"] == "robots_disallowed"} == {
        crawl_site.url(p) for p in disallowed
    }


@pytest.mark.parametrize(
    ("crawl_delay", "cap", "expected_gap"),
    [(1.5, 60.0, 1.5), (30.0, 1.0, 1.0)],
    ids=["crawl-delay-applied", "crawl-delay-capped"],
)
def test_crawl_delay_of_robots_txt_spaces_the_site_requests(
    crawl: Crawl,
    crawl_site: SiteServer,
    crawl_delay: float,
    cap: float,
    expected_gap: float,
) -> None:
    crawl_site.route("/robots.txt", _robots(f"User-agent: *\nCrawl-delay: {crawl_delay}\n"))
    pages = ["/", "/a.html", "/b.html"]
    result = crawl.run(
        "urls=" + " ".join(crawl_site.url(p) for p in pages),
        DOWNLOAD_DELAY=0.2,
        ROBOTSTXT_CRAWL_DELAY_MAX=cap,
        # AutoThrottle adjusts slot delays after every response: Crawl-delay must survive it
        AUTOTHROTTLE_ENABLED=True,
        AUTOTHROTTLE_START_DELAY=0.2,
    )
    assert result.returncode == 0, result.log
    requests = crawl_site.requests()
    assert requests[0].path == "/robots.txt"
    assert len(requests) == len(pages) + 1
    # Crawl-delay governs the pages once robots.txt is known. The gap from the robots.txt fetch
    # itself is not comparable: Scrapy's slot counts from when it dispatched that request, and a
    # plain download first connects through the guard proxy, so the site sees it later.
    times = [r.at for r in requests[1:]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # The pacing is kept between dispatches; the site sees arrivals, and a browser's navigation
    # reaches it a few tens of ms later or sooner on a loaded machine. A tenth of the gap is that
    # jitter, far short of the 0.2 s DOWNLOAD_DELAY the site would see without Crawl-delay.
    assert min(gaps) >= expected_gap * 0.9, gaps
    assert max(gaps) < expected_gap + 5.0, gaps  # the cap holds: no 30 s wait
