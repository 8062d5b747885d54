"""The spider and the pipeline end to end: what a user finds in S3 after ``scrapy crawl``."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest

from rivalscope_core.records import PageRecord
from tests.integration.crawler.conftest import CHUNK_KEY, stored_chunks, stored_records

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.integration.crawler.conftest import Crawl
    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration

SPEC_FIELDS = {
    "url",
    "final_url",
    "status",
    "crawled_at",
    "body",
    "title",
    "screenshot",
    "prompt",
    "competitor",
    "change_rules",
    "error",
    "ignored_boxes",
}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_pages_and_failures_become_records_in_chunks(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    refused = f"127.0.0.1:{_closed_port()}"
    crawl_site.route("/moved", lambda _: (301, {"Location": "/b.html"}, b""))
    urls = [
        crawl_site.url("/moved"),  # a plain (render=false) redirect is followed
        crawl_site.url("/"),
        crawl_site.url("/a.html"),
        crawl_site.url("/missing.html"),
        crawl_site.url("/private/secret.html"),
        f"http://{refused}/",
        crawl_site.url("/a.html"),  # a duplicate is crawled once
    ]
    result = crawl.run(
        f"urls={','.join(urls)}",
        "prompt=pricing",
        S3PIPELINE_MAX_CHUNK_SIZE=2,
        ALLOW_PRIVATE_ADDRESSES=f"{crawl_site.netloc},{refused}",
    )
    assert result.returncode == 1, result.log  # some pages failed
    assert "DeprecationWarning" not in result.log

    chunks = stored_chunks(s3, bucket)
    offsets = sorted(int(CHUNK_KEY.match(key)[1]) for key in chunks)  # type: ignore[index]
    assert offsets == [0, 2, 4]  # {chunk} is the offset of the chunk's first record
    records = {r["url"]: r for r in stored_records(s3, bucket)}
    assert len(records) == 6
    assert all(set(r) == SPEC_FIELDS for r in records.values())
    assert all(
        r["prompt"] == "pricing" and r["crawled_at"].endswith("Z") for r in records.values()
    )
    for record in records.values():
        PageRecord.from_dict(record)  # reads back as the shared record type

    home = records[crawl_site.url("/")]
    assert (home["status"], home["title"], home["error"]) == (200, "Crawl home", None)
    assert "Crawl test site" in home["body"]
    assert records[crawl_site.url("/missing.html")]["error"]["type"] == "http_status"
    assert records[crawl_site.url("/missing.html")]["status"] == 404
    assert records[crawl_site.url("/private/secret.html")]["error"]["type"] == "robots_disallowed"
    refused_page = records[f"http://{refused}/"]
    # Plain downloads go through the private-address guard's proxy, which marks its own 502
    # for a refused connection (X-Rivalscope-Netguard: connect): not the site's status.
    assert (refused_page["error"]["type"], refused_page["status"]) == ("connection_refused", None)
    moved = records[crawl_site.url("/moved")]
    assert (moved["final_url"], moved["status"], moved["error"]) == (
        crawl_site.url("/b.html"),
        200,
        None,
    )
    assert "/private/secret.html" not in crawl_site.paths()
    assert crawl_site.paths().count("/a.html") == 1


def test_max_pages_follows_same_site_links_breadth_first_from_an_s3_url_list(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    s3.put_object(
        Bucket=bucket,
        Key="lists/competitors.txt",
        Body=f"# ours\n{crawl_site.url('/')}  # home\n".encode(),
    )
    result = crawl.run(f"urls_file=s3://{bucket}/lists/competitors.txt", "max_pages=3")
    assert result.returncode == 0, result.log
    titles = sorted(r["title"] for r in stored_records(s3, bucket))
    # depth 1 (A, B) before depth 2 (A1); /private/ is disallowed and costs no budget
    assert titles == ["Crawl home", "Page A", "Page B"]
    assert "/a1.html" not in crawl_site.paths()
    assert "/private/secret.html" not in crawl_site.paths()


def test_bad_input_exits_2_before_crawling(crawl: Crawl, crawl_site: SiteServer) -> None:
    # every other bad argument is covered by tests/unit/crawler/spiders/test_arguments.py
    result = crawl.run("urls_file=/nonexistent/urls.txt")
    assert result.returncode == 2, result.log
    assert "cannot read urls_file '/nonexistent/urls.txt'" in result.log
    assert "Spider opened" not in result.log
    assert crawl_site.paths() == []


def test_shards_crawl_every_url_once_without_sharing_chunk_keys(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    pages = ["/", "/a.html", "/b.html", "/a1.html", "/missing.html", "/index.html"]
    # two sites (by name and by IP): each shard owns whole sites, so no site is fetched by
    # two tasks at once
    sites = [crawl_site.url(""), f"http://localhost:{crawl_site.port}"]
    crawl.settings["ALLOW_PRIVATE_ADDRESSES"] = f"{crawl_site.netloc},localhost:{crawl_site.port}"
    listed = [site + p for site in sites for p in pages]
    urls = "urls=" + " ".join(listed)
    # both tasks start in the same second: same {time}, same chunk offsets
    tasks = [crawl.start(urls, f"shard={i}/2") for i in range(2)]
    logs = [task.communicate(timeout=180)[0] for task in tasks]
    assert all(task.returncode in (0, 1) for task in tasks), logs
    assert "Not overwriting" not in "".join(logs)
    chunks = stored_chunks(s3, bucket)
    assert all(".shard0of2." in key or ".shard1of2." in key for key in chunks)
    urls_stored = sorted(r["url"] for records in chunks.values() for r in records)
    assert urls_stored == sorted(listed)
    for site in sites:
        shards = {
            key.split(".shard")[1]
            for key, records in chunks.items()
            for r in records
            if r["url"].startswith(site + "/")
        }
        assert len(shards) == 1, (site, shards)
