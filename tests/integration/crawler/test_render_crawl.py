"""A crawl with rendering on (the project's default): the Selenium download handler renders the
pages in headless Chromium and the records carry the rendered page and its screenshot."""

from __future__ import annotations

import base64
import re
import shutil
from typing import TYPE_CHECKING

import pytest

from crawler.browser.pool import MAX_START_FAILURES
from tests.integration.crawler.conftest import stored_records

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.integration.crawler.conftest import Crawl
    from tests.servers.site import SiteServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("chromedriver") is None, reason="needs chromium-driver"),
]


def test_rendered_pages_are_stored_with_screenshots(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    pages = ["/", "/missing.html"]
    result = crawl.run(
        "urls=" + " ".join(crawl_site.url(p) for p in pages),
        "prompt=pricing",
        DOWNLOAD_HANDLERS=None,
        SELENIUM_RENDER_BY_DEFAULT=True,
        SELENIUM_POOL_SIZE=1,
    )
    assert result.returncode == 1, result.log  # the 404 page is a failure
    records = {r["url"]: r for r in stored_records(s3, bucket)}
    home = records[crawl_site.url("/")]
    assert (home["status"], home["title"], home["error"]) == (200, "Crawl home", None)
    assert "Crawl test site" in home["body"]
    shot = home["screenshot"]
    assert shot["width"] > 0
    assert shot["height"] > 0
    assert len(base64.b64decode(shot["data"])) > 1000
    missing = records[crawl_site.url("/missing.html")]
    assert (missing["status"], missing["error"]["type"]) == (404, "http_status")


def test_a_browser_that_cannot_start_fails_the_pages_at_once_naming_the_setting(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    """Not one doomed browser start per page: after a few failures in a row the pool stops
    trying for a while, and every page is recorded with an error saying what to check."""
    pages = ["/", "/a.html", "/b.html", "/a1.html", "/index.html", "/missing.html"]
    result = crawl.run(
        "urls=" + " ".join(crawl_site.url(p) for p in pages),
        DOWNLOAD_HANDLERS=None,
        SELENIUM_RENDER_BY_DEFAULT=True,
        SELENIUM_POOL_SIZE=1,
        SELENIUM_BROWSER_PATH="/bin/false",  # an executable that is no browser
    )
    assert result.returncode == 1, result.log
    records = stored_records(s3, bucket)
    assert sorted(r["url"] for r in records) == sorted(crawl_site.url(p) for p in pages)
    assert {r["error"]["type"] for r in records} == {"browser_crash"}
    assert any("check SELENIUM_BROWSER_PATH=/bin/false" in r["error"]["message"] for r in records)
    starts = re.search(r"'selenium/browser_start_failures': (\d+)", result.log)
    assert starts is not None, result.log
    assert int(starts[1]) == MAX_START_FAILURES
