"""The pipeline's time-based flush: a partial chunk goes to S3 during a slow crawl, not only at
the end, and the flush never loses or repeats a record (the race of s3pipeline's Timer)."""

from __future__ import annotations

import io
import json
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

from analyzer_lambda.chunks import read_pages
from rivalscope_core.records import PageRecord
from tests.integration.crawler.conftest import CHUNK_KEY, stored_chunks

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.integration.crawler.conftest import Crawl
    from tests.servers.site import SiteServer, _Handler

pytestmark = pytest.mark.integration


def _slowish(handler: _Handler) -> tuple[int, dict[str, str], bytes]:
    time.sleep(0.6)
    return 200, {}, f"<title>{handler.path}</title>".encode()


def test_partial_chunks_are_flushed_on_time_without_loss_or_repeat(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    crawl_site.route("/slowish", _slowish)
    urls = [crawl_site.url(f"/slowish?n={n}") for n in range(6)]
    result = crawl.run(
        "urls=" + " ".join(urls),
        S3PIPELINE_MAX_CHUNK_SIZE=100,
        S3PIPELINE_MAX_WAIT_UPLOAD_TIME=1.0,
    )
    assert result.returncode == 0, result.log
    before_close = result.log.split("Closing spider", 1)[0]
    assert "Stored" in before_close  # a timed flush happened during the crawl
    chunks = stored_chunks(s3, bucket)
    assert len(chunks) >= 2
    offsets = sorted(int(CHUNK_KEY.match(k)[1]) for k in chunks)  # type: ignore[index]
    sizes = [len(chunks[k]) for k in sorted(chunks)]
    # each chunk's key is the offset of its first record: contiguous, no gap, no overlap
    assert offsets == [sum(sizes[:i]) for i in range(len(sizes))]
    stored = sorted(r["url"] for records in chunks.values() for r in records)
    assert stored == sorted(urls)


def test_chunks_read_back_whole_with_the_analyser_reader_and_zcat(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    """Each page is compressed as it arrives, one gzip member per page: every reader the
    archive meets (the analyser's, zcat) must see the whole chunk, line by line."""
    crawl_site.route("/page", lambda handler: (200, {}, f"<p>{handler.path}</p>".encode()))
    urls = [crawl_site.url(f"/page?n={n}") for n in range(5)]
    result = crawl.run("urls=" + " ".join(urls), S3PIPELINE_MAX_CHUNK_SIZE=3)
    assert result.returncode == 0, result.log
    seen = []
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix="raw/")["Contents"]:
        if "/_done/" in obj["Key"]:
            continue  # the shard marker
        body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        pages = list(read_pages(io.BytesIO(body), key=obj["Key"]))
        assert [line for line, _ in pages] == list(range(1, len(pages) + 1))
        assert all(isinstance(page, PageRecord) for _, page in pages)
        seen += [page.url for _, page in pages if isinstance(page, PageRecord)]
        unzipped = subprocess.run(["zcat"], input=body, capture_output=True, check=True).stdout
        assert [json.loads(line)["url"] for line in unzipped.splitlines()] == seen[-len(pages) :]
    assert sorted(seen) == sorted(urls)
