"""S3 failing during a crawl: nothing is lost, and what cannot be stored is kept and reported."""

from __future__ import annotations

import gzip
import json
import time
from typing import TYPE_CHECKING

import pytest

from tests.integration.crawler.conftest import CHUNK_KEY, stored_chunks

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.integration.crawler.conftest import Crawl
    from tests.servers.site import SiteServer
    from tests.servers.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

PAGES = ["/", "/a.html", "/b.html", "/a1.html"]


def test_s3_down_for_a_few_seconds_loses_nothing(
    crawl: Crawl, crawl_site: SiteServer, s3_proxy: TcpProxy, s3: S3Client, bucket: str
) -> None:
    s3_proxy.down()
    process = crawl.start(
        "urls=" + " ".join(crawl_site.url(p) for p in PAGES),
        endpoint=s3_proxy.endpoint,
        S3PIPELINE_MAX_CHUNK_SIZE=2,
        S3PIPELINE_UPLOAD_RETRIES=6,
        S3PIPELINE_RETRY_BACKOFF=0.5,
    )
    deadline = time.monotonic() + 120
    while s3_proxy.refused == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert s3_proxy.refused > 0, "the crawl never tried to upload while S3 was down"
    time.sleep(2.0)
    s3_proxy.up()
    log, _ = process.communicate(timeout=180)

    assert process.returncode == 0, log
    assert "failed (attempt 1 of 7)" in log
    chunks = stored_chunks(s3, bucket)
    assert sorted(int(CHUNK_KEY.match(k)[1]) for k in chunks) == [0, 2]  # type: ignore[index]
    urls = sorted(r["url"] for records in chunks.values() for r in records)
    assert urls == sorted(crawl_site.url(p) for p in PAGES)
    assert not crawl.spill_dir.exists()


def test_s3_down_for_good_spills_the_chunk_and_exits_non_zero(
    crawl: Crawl, crawl_site: SiteServer, s3_proxy: TcpProxy, s3: S3Client, bucket: str
) -> None:
    s3_proxy.down()
    result = crawl.run(
        "urls=" + " ".join(crawl_site.url(p) for p in PAGES[:3]),
        endpoint=s3_proxy.endpoint,
        S3PIPELINE_UPLOAD_RETRIES=1,
        S3PIPELINE_RETRY_BACKOFF=0.1,
    )
    assert result.returncode == 1, result.log
    assert "no page stored" in result.log
    assert stored_chunks(s3, bucket) == {}
    (spilled,) = crawl.spill_dir.iterdir()
    key = spilled.name.split("__", 1)[1].replace("__", "/")
    assert CHUNK_KEY.match(key), spilled.name  # the intended key is in the file name
    assert spilled.name.startswith(f"{bucket}__")
    assert str(spilled) in result.log
    records = [json.loads(line) for line in gzip.decompress(spilled.read_bytes()).splitlines()]
    assert sorted(r["url"] for r in records) == sorted(crawl_site.url(p) for p in PAGES[:3])


def test_an_upload_whose_answer_was_lost_is_stored_once(
    crawl: Crawl, crawl_site: SiteServer, s3_proxy: TcpProxy, s3: S3Client, bucket: str
) -> None:
    # S3 stored the chunk but the answer never came: the retry finds the same bytes under the
    # key (read back from the chunk's file for their MD5) and counts the chunk as stored.
    s3_proxy.lose_answers = 1
    result = crawl.run(
        "urls=" + " ".join(crawl_site.url(p) for p in PAGES),
        endpoint=s3_proxy.endpoint,
        S3PIPELINE_RETRY_BACKOFF=0.1,
    )
    assert result.returncode == 0, result.log
    assert s3_proxy.answers_lost == 1
    assert "failed (attempt 1 of" in result.log
    assert "Not overwriting" not in result.log
    chunks = stored_chunks(s3, bucket)
    assert len(chunks) == 1
    urls = sorted(r["url"] for records in chunks.values() for r in records)
    assert urls == sorted(crawl_site.url(p) for p in PAGES)
    assert not crawl.spill_dir.exists()


def test_a_chunk_key_holding_other_data_is_kept_and_the_chunk_spilled(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    run = "2026-01-02T03-04-05"
    key = f"raw/competitors/{run}/items.0000000.jl.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=b"another task's chunk")
    result = crawl.run("urls=" + " ".join(crawl_site.url(p) for p in PAGES[:2]), f"run={run}")
    assert result.returncode == 1, result.log
    assert f"Not overwriting s3://{bucket}/{key}" in result.log
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"another task's chunk"
    (spilled,) = crawl.spill_dir.iterdir()
    assert spilled.name == f"{bucket}__{key.replace('/', '__')}"
    records = [json.loads(line) for line in gzip.decompress(spilled.read_bytes()).splitlines()]
    assert sorted(r["url"] for r in records) == sorted(crawl_site.url(p) for p in PAGES[:2])


def test_a_slow_s3_does_not_hold_up_the_crawl(
    crawl: Crawl, crawl_site: SiteServer, s3_proxy: TcpProxy, s3: S3Client, bucket: str
) -> None:
    # s3pipeline uploaded on the reactor thread: every upload stalled every download.
    s3_proxy.latency = 1.5
    pages = ["/", "/a.html", "/b.html", "/a1.html"]
    result = crawl.run(
        "urls=" + " ".join(crawl_site.url(p) for p in pages),
        endpoint=s3_proxy.endpoint,
        S3PIPELINE_MAX_CHUNK_SIZE=1,
        DOWNLOAD_DELAY=0.2,
    )
    assert result.returncode == 0, result.log
    times = [r.at for r in crawl_site.requests() if r.path != "/robots.txt"]
    # four uploads of at least 1.5 s each; the pages were fetched meanwhile, not after each
    assert times[-1] - times[0] < 3 * 1.5, times
    assert len(stored_chunks(s3, bucket)) == len(pages)
