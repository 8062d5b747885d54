"""SIGTERM (a Fargate stop) during a crawl: scheduling stops, stored means stored, quick exit."""

from __future__ import annotations

import gzip
import re
import signal
import time
from typing import TYPE_CHECKING

import pytest

from tests.integration.crawler.conftest import stored_records

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.integration.crawler.conftest import Crawl
    from tests.servers.site import SiteServer, _Handler
    from tests.servers.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

PAGES = 20
IN_FLIGHT_MAX = 2  # CONCURRENT_REQUESTS_PER_DOMAIN below
SCRAPED = re.compile(r"Scraped from <\d+ (\S+)>")


def _slow_page(handler: _Handler) -> tuple[int, dict[str, str], bytes]:
    time.sleep(1.0)
    return 200, {}, f"<title>slow {handler.path}</title><p>slow page</p>".encode()


def test_sigterm_stops_scheduling_and_stores_every_scraped_page(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    crawl_site.route("/slow", _slow_page)
    urls = [crawl_site.url(f"/slow?n={n}") for n in range(PAGES)]
    process = crawl.start(
        "urls=" + " ".join(urls),
        CONCURRENT_REQUESTS_PER_DOMAIN=IN_FLIGHT_MAX,
        DOWNLOAD_DELAY=0.1,
        S3PIPELINE_MAX_CHUNK_SIZE=3,
        RIVALSCOPE_STOP_GRACE=15,
        LOG_LEVEL="DEBUG",
    )

    def slow_requests() -> list[float]:
        return [r.at for r in crawl_site.requests() if r.path.startswith("/slow")]

    deadline = time.monotonic() + 120
    while len(slow_requests()) < 5 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the crawl ended before it could be stopped"
    requested_before = len(slow_requests())
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    log, _ = process.communicate(timeout=150)
    stopped_after = time.monotonic() - signalled

    assert stopped_after < 60, f"took {stopped_after:.1f} s to stop"
    assert "Stopping (SIGTERM)" in log
    # no more pages were asked for after the signal than could have been in flight
    assert len(slow_requests()) <= requested_before + IN_FLIGHT_MAX
    assert len(slow_requests()) < PAGES

    scraped = SCRAPED.findall(log)
    stored = [r["url"] for r in stored_records(s3, bucket)]
    assert len(scraped) >= 3
    assert sorted(stored) == sorted(scraped)  # every record yielded is in S3, once
    assert all(r["error"] is None for r in stored_records(s3, bucket))
    assert process.returncode == 1  # interrupted: not every page was crawled


def _hanging_page(_handler: _Handler) -> tuple[int, dict[str, str], bytes]:
    time.sleep(25.0)
    return 200, {}, b"<title>too late</title>"


def test_a_page_hanging_past_the_grace_period_does_not_hold_the_stop(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    crawl_site.route("/hang", _hanging_page)
    process = crawl.start(
        "urls=" + " ".join(crawl_site.url(p) for p in ("/", "/a.html", "/hang")),
        RIVALSCOPE_STOP_GRACE=2,
        DOWNLOAD_TIMEOUT=60,
    )
    deadline = time.monotonic() + 120
    while "/hang" not in crawl_site.paths() and time.monotonic() < deadline:
        time.sleep(0.05)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    log, _ = process.communicate(timeout=60)
    assert time.monotonic() - signalled < 15, log
    assert "Stop grace of 2 s expired" in log
    # the pages fetched before the hanging one are stored; one queued behind it was dropped
    paths = crawl_site.paths()
    before = [p for p in paths[: paths.index("/hang")] if p != "/robots.txt"]
    assert len(paths) == len(before) + 2  # robots.txt and /hang: nothing after the signal
    stored = sorted(r["url"] for r in stored_records(s3, bucket))
    assert stored == sorted(crawl_site.url(p) for p in before)


def test_a_stop_while_s3_is_down_spills_within_the_upload_budget(
    crawl: Crawl, crawl_site: SiteServer, s3_proxy: TcpProxy
) -> None:
    crawl_site.route("/slow", _slow_page)
    s3_proxy.down()
    process = crawl.start(
        "urls=" + " ".join(crawl_site.url(f"/slow?n={n}") for n in range(10)),
        endpoint=s3_proxy.endpoint,
        S3PIPELINE_MAX_CHUNK_SIZE=2,
        S3PIPELINE_UPLOAD_RETRIES=20,  # alone, these retries would take hours
        S3PIPELINE_RETRY_BACKOFF=1.0,
        RIVALSCOPE_STOP_GRACE=2,
        RIVALSCOPE_STOP_UPLOAD_BUDGET=3,
        LOG_LEVEL="DEBUG",
    )
    deadline = time.monotonic() + 120
    while s3_proxy.refused == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    log, _ = process.communicate(timeout=120)
    assert time.monotonic() - signalled < 2 + 3 + 15, log
    assert process.returncode == 1, log
    spilled = list(crawl.spill_dir.iterdir())
    assert spilled, log
    assert len(SCRAPED.findall(log)) == sum(
        len(gzip.decompress(path.read_bytes()).splitlines()) for path in spilled
    )
