"""A run (SPEC.md "Runs"): shards passed one ``-a run=`` write under one prefix, and each task
ends by writing its ``_done/{I}of{N}.json`` marker, also when it fails or is stopped, never when
it is killed."""

from __future__ import annotations

import shutil
import signal
import time
from datetime import datetime
from typing import TYPE_CHECKING

import pytest

from tests.integration.crawler.conftest import stored_chunks, stored_markers

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.integration.crawler.conftest import Crawl
    from tests.servers.site import SiteServer, _Handler

pytestmark = pytest.mark.integration

RUN = "2026-11-23T22-19-03"
PREFIX = f"raw/competitors/{RUN}/"
PAGES = ["/", "/a.html", "/b.html", "/a1.html", "/missing.html"]
needs_chromium = pytest.mark.skipif(
    shutil.which("chromedriver") is None, reason="needs chromium-driver"
)


def _slow_page(handler: _Handler) -> tuple[int, dict[str, str], bytes]:
    time.sleep(1.0)
    return 200, {}, f"<title>slow {handler.path}</title><p>slow page</p>".encode()


@needs_chromium
def test_rendering_shards_of_one_run_share_its_prefix_and_each_writes_its_marker(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    sites = [crawl_site.url(""), f"http://localhost:{crawl_site.port}"]
    crawl.settings["ALLOW_PRIVATE_ADDRESSES"] = f"{crawl_site.netloc},localhost:{crawl_site.port}"
    listed = [site + page for site in sites for page in PAGES]
    tasks = [
        crawl.start(
            "urls=" + " ".join(listed),
            f"run={RUN}",
            f"shard={index}/2",
            "prompt=pricing",
            DOWNLOAD_HANDLERS=None,
            SELENIUM_RENDER_BY_DEFAULT=True,
            SELENIUM_POOL_SIZE=1,
            S3PIPELINE_MAX_CHUNK_SIZE=2,
            RIVALSCOPE_RESOURCE_SAMPLE_INTERVAL=0.2,
        )
        for index in range(2)
    ]
    logs = [task.communicate(timeout=300)[0] for task in tasks]
    # /missing.html fails on each site; a shard may get both sites or none (a hash of the site,
    # here with its random port): an empty shard has nothing to do, exit 0
    assert sorted(task.returncode for task in tasks) in ([0, 1], [1, 1]), logs

    chunks = stored_chunks(s3, bucket)
    assert chunks
    assert all(key.startswith(PREFIX) for key in chunks)  # one run, one prefix
    stored = sorted(record["url"] for records in chunks.values() for record in records)
    assert stored == sorted(listed)  # every URL once

    markers = stored_markers(s3, bucket)
    assert sorted(markers) == [f"{PREFIX}_done/1of2.json", f"{PREFIX}_done/2of2.json"]
    assert sorted(key for marker in markers.values() for key in marker.chunks) == sorted(chunks)
    for marker in markers.values():
        records = [r for key in marker.chunks for r in chunks[key]]
        assert (marker.run, marker.spider, marker.shard_count) == (RUN, "competitors", 2)
        assert marker.prompt == "pricing"
        assert marker.pages == len(records)
        assert marker.errors == sum(r["error"] is not None for r in records)
        assert marker.exit_code == tasks[marker.shard_index].returncode
        assert marker.finish_reason == "finished"
        started = datetime.fromisoformat(marker.started_at)
        assert datetime.fromisoformat(marker.ended_at) >= started
        assert marker.cpu_seconds > 0
    assert sum(marker.pages for marker in markers.values()) == len(listed)
    # the browsers are in the figures: a crawl without them, measured the same way, is smaller
    plain = crawl.run(f"urls={crawl_site.url('/')}", "run=2026-11-23T22-30-00")
    assert plain.returncode == 0, plain.log
    [plain_marker] = [
        m for k, m in stored_markers(s3, bucket).items() if "2026-11-23T22-30-00" in k
    ]
    assert plain_marker.chunks
    assert plain_marker.pages == 1
    for marker in markers.values():
        if marker.pages:  # a shard that rendered pages, its browsers included
            assert marker.peak_memory_bytes > plain_marker.peak_memory_bytes + 50_000_000
            assert marker.cpu_seconds > plain_marker.cpu_seconds


def test_a_stopped_crawl_writes_its_marker_and_a_killed_one_none(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    crawl_site.route("/slow", _slow_page)
    urls = "urls=" + " ".join(crawl_site.url(f"/slow?n={n}") for n in range(20))

    def started(process_run: str) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if sum(r.path.startswith("/slow") for r in crawl_site.requests()) >= 4:
                return
            time.sleep(0.05)
        pytest.fail(f"the crawl of run {process_run} did not start")

    stopped = crawl.start(urls, f"run={RUN}", S3PIPELINE_MAX_CHUNK_SIZE=2, RIVALSCOPE_STOP_GRACE=5)
    started(RUN)
    stopped.send_signal(signal.SIGTERM)
    log, _ = stopped.communicate(timeout=150)
    assert stopped.returncode == 1, log  # interrupted: not every page was crawled

    [(key, marker)] = stored_markers(s3, bucket).items()
    assert key == f"{PREFIX}_done/1of1.json"  # unsharded: shard 0/1, the marker 1of1
    assert marker.exit_code == 1
    assert marker.finish_reason == "shutdown"
    chunks = stored_chunks(s3, bucket)
    assert sorted(marker.chunks) == sorted(chunks)  # nothing stored is missing from it
    assert marker.pages == sum(len(records) for records in chunks.values()) >= 2

    killed_run = "2026-11-23T23-00-00"
    before = len(crawl_site.requests())
    killed = crawl.start(urls, f"run={killed_run}", S3PIPELINE_MAX_CHUNK_SIZE=2)
    deadline = time.monotonic() + 120
    while len(crawl_site.requests()) < before + 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    assert not [key for key in stored_markers(s3, bucket) if killed_run in key]


def test_a_shard_refused_with_a_usage_error_still_writes_its_marker_with_exit_2(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    """Its run-complete step then reports the shard's exit code at once instead of waiting
    RUN_COMPLETE_TIMEOUT for a marker that would never come."""
    refused = crawl.run(f"urls={crawl_site.url('/')}", f"run={RUN}", "shard=1/2",
                        "max_pages=many", "prompt=pricing")  # fmt: skip
    assert refused.returncode == 2, refused.log
    assert "max_pages" in refused.log
    [(key, marker)] = stored_markers(s3, bucket).items()
    assert key == f"{PREFIX}_done/2of2.json"
    assert (marker.exit_code, marker.pages, marker.chunks) == (2, 0, [])
    assert (marker.shard_index, marker.shard_count, marker.prompt) == (1, 2, "pricing")
    assert marker.finish_reason.startswith("usage error: ")
    assert "max_pages" in marker.finish_reason
    assert stored_chunks(s3, bucket) == {}

    # a crawl that is no shard of a run has no run to complete: no marker
    alone = crawl.run(f"urls={crawl_site.url('/')}", "max_pages=many")
    assert alone.returncode == 2, alone.log
    assert list(stored_markers(s3, bucket)) == [key]
