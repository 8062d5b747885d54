"""A new user's crawl of real-looking URLs, rendered, stored in S3 and read back with the
analyser's reader (issue #11, "What the crawl stores"): a PDF and a CSV download right after
pages, a page that moves on by script, a page built in shadow DOM and a 6.5 MB page. Every URL
has exactly one record of its own; none carries another page's body or final_url."""

from __future__ import annotations

import io
import shutil
from typing import TYPE_CHECKING

import pytest

from analyzer_lambda.analyzers.gemini.text import main_text
from analyzer_lambda.chunks import read_pages
from rivalscope_core.keys import is_raw_chunk_key
from rivalscope_core.records import PageRecord
from tests.integration.crawler.browser.real_pages import big_page, pdf
from tests.servers.site import SITE_ROOT

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.integration.crawler.conftest import Crawl
    from tests.servers.site import SiteServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("chromedriver") is None, reason="needs chromium-driver"),
]


def _read_back(s3: S3Client, bucket: str) -> list[PageRecord]:
    """Every page of the stored chunks (the run's shard marker under ``_done/`` is no chunk)."""
    records = []
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix="raw/")["Contents"]:
        if not is_raw_chunk_key(obj["Key"]):
            continue
        body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        for _, page in read_pages(io.BytesIO(body), key=obj["Key"]):
            assert isinstance(page, PageRecord), page
            records.append(page)
    return records


def test_every_url_of_a_real_looking_list_is_stored_as_its_own_page(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    site = crawl_site
    big = big_page()
    shadow = (SITE_ROOT / "render" / "shadow.html").read_bytes()
    site.route("/prices.pdf", lambda _h: (200, {"Content-Type": "application/pdf"}, pdf()))
    attachment = {"Content-Type": "text/csv", "Content-Disposition": "attachment; filename=p.csv"}
    site.route("/prices.csv", lambda _h: (200, attachment, b"plan,price\nPro,49\n"))
    site.route("/shadow", lambda _h: (200, {}, shadow))
    site.route("/catalogue", lambda _h: (200, {}, big))
    moving = "<script>setTimeout(() => { location.href = '/a.html'; }, 300);</script>moving"
    site.route("/moving", lambda _h: (200, {}, moving.encode()))
    paths = ["/", "/prices.pdf", "/b.html", "/prices.csv", "/moving", "/shadow", "/catalogue"]
    result = crawl.run(
        "urls=" + " ".join(site.url(p) for p in paths),
        DOWNLOAD_HANDLERS=None,
        SELENIUM_RENDER_BY_DEFAULT=True,
        SELENIUM_POOL_SIZE=1,
    )
    assert result.returncode == 1, result.log  # the PDF and the CSV are no pages to analyse
    records = _read_back(s3, bucket)
    assert sorted(r.url for r in records) == sorted(site.url(p) for p in paths)
    by_path = {"/" + r.url.split("/", 3)[3]: r for r in records}
    for path in ("/prices.pdf", "/prices.csv"):
        record = by_path[path]
        assert record.final_url == site.url(path)
        assert (record.status, record.body, record.screenshot) == (200, "", None)
        assert record.error is not None
        assert record.error.type == "not_a_page"
    for path in ("/", "/b.html", "/shadow", "/catalogue"):
        record = by_path[path]
        assert record.error is None, record.error
        assert record.final_url == site.url(path)
        assert record.screenshot is not None
    assert by_path["/moving"].final_url == site.url("/a.html")
    assert by_path["/moving"].title == "Page A"
    assert "Closed offer: Enterprise on request" in main_text(by_path["/shadow"].body)
    catalogue = by_path["/catalogue"].body
    assert len(catalogue) >= len(big)
    assert "End of catalogue" in catalogue
