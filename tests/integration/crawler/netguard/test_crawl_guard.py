"""The guard in a real ``scrapy crawl competitors`` (a subprocess, as users run it), storing
into moto: a start URL, or a redirect, that leads to a non-exempted loopback port becomes an
error record of type ``blocked_address`` with a message saying how to allow it; that port
receives no request; the exempted site is crawled as usual.

Scrapy's own HTTP handler downloads here (``render=false``), so these tests hold the
downloader middleware to account on its own; the browser path is test_crawl_rendered.py."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[4]
PLAIN_HTTP = json.dumps(
    {
        "http": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler",
        "https": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler",
    }
)


def crawl(
    urls: list[str], *options: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl competitors`` in the repository, fast (no politeness delay)."""
    command = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "competitors",
        "-a",
        f"urls={','.join(urls)}",
        "-s",
        "DOWNLOAD_DELAY=0",
        "-s",
        "AUTOTHROTTLE_ENABLED=false",
        "-s",
        "LOG_LEVEL=INFO",
        *options,
    ]
    return subprocess.run(
        command,
        check=False,
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stored_records(s3: S3Client, bucket: str) -> dict[str, dict[str, Any]]:
    """Every stored page record, by requested URL."""
    records: dict[str, dict[str, Any]] = {}
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="raw/competitors/")
    for obj in listing.get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        for line in gzip.decompress(body).decode().splitlines():
            record = json.loads(line)
            records[record["url"]] = record
    return records


def test_refused_start_urls_become_error_records(
    s3: S3Client, bucket: str, exempt_site: SiteServer, secret: SiteServer
) -> None:
    exempt_site.clear_log()
    allowed = exempt_site.url("/control.html")
    direct = secret.url("/secret.html")
    by_name = f"http://localhost:{secret.port}/secret.txt"
    unresolvable = "http://nowhere.invalid/"  # RFC 6761: never resolves

    result = crawl(
        [allowed, direct, by_name, unresolvable],
        "-a",
        "render=false",
        "-s",
        f"DOWNLOAD_HANDLERS={PLAIN_HTTP}",
        "-s",
        f"ALLOW_PRIVATE_ADDRESSES={exempt_site.netloc}",
    )

    assert result.returncode == 1, result.stderr[-3000:]  # some pages failed (SPEC.md)
    records = stored_records(s3, bucket)
    assert set(records) == {allowed, direct, by_name, unresolvable}
    assert records[allowed]["error"] is None
    assert records[allowed]["status"] == 200
    for url in (direct, by_name):
        assert records[url]["error"]["type"] == "blocked_address", records[url]
        assert "ALLOW_PRIVATE_ADDRESSES=" in records[url]["error"]["message"]
        assert "SECRET" not in json.dumps(records[url])
    assert (
        f"ALLOW_PRIVATE_ADDRESSES=localhost:{secret.port}"
        in (records[by_name]["error"]["message"])
    )
    assert records[unresolvable]["error"]["type"] == "dns"
    assert "cannot resolve 'nowhere.invalid'" in records[unresolvable]["error"]["message"]
    assert secret.requests() == []
    assert exempt_site.paths() == ["/robots.txt", "/control.html"]
    assert "'netguard/blocked': 2" in result.stderr
    assert "'netguard/proxy_blocked': 0" in result.stderr  # no rebinding here


def test_a_redirect_to_a_refused_address_reaches_the_errback(
    tmp_path: Path, exempt_site: SiteServer, secret: SiteServer, tls_site: SiteServer
) -> None:
    """Scrapy's RedirectMiddleware sends the new request back through the chain. (An https
    page rides along: plain downloads go through the guard proxy, https by CONNECT.)"""
    exempt_site.route(
        "/to-secret", lambda _h: (302, {"Location": secret.url("/secret.html")}, b"")
    )
    exempt_site.route("/to-control", lambda _h: (301, {"Location": "/control.html"}, b""))
    out = tmp_path / "items.jsonl"
    urls = [
        exempt_site.url("/to-secret"),
        exempt_site.url("/to-control"),
        f"https://{tls_site.netloc}/control.txt",
    ]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "runspider",
            str(Path(__file__).with_name("redirect_probe.py")),
            "-a",
            f"urls={','.join(urls)}",
            "-o",
            str(out),
            "-s",
            "ITEM_PIPELINES={}",
            "-s",
            f"DOWNLOAD_HANDLERS={PLAIN_HTTP}",
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            f"ALLOW_PRIVATE_ADDRESSES={exempt_site.netloc},{tls_site.netloc}",
        ],
        check=False,
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    items = {item["asked"]: item for item in map(json.loads, out.read_text().splitlines())}
    refused = items[exempt_site.url("/to-secret")]
    assert (refused["url"], refused["error"]) == (secret.url("/secret.html"), "blocked_address")
    assert f"ALLOW_PRIVATE_ADDRESSES={secret.netloc}" in refused["message"]
    followed = items[exempt_site.url("/to-control")]
    assert (followed["url"], followed["status"]) == (exempt_site.url("/control.html"), 200)
    # Scrapy's own downloads connect through a guard proxy too (a DNS rebinding defence).
    assert followed["proxy"].startswith("http://127.0.0.1:")
    secure = items[f"https://{tls_site.netloc}/control.txt"]
    assert (secure["status"], secure["proxy"]) == (200, followed["proxy"])
    assert "/control.txt" in tls_site.paths()
    assert secret.requests() == []


def test_without_exemptions_even_the_test_site_is_refused(
    s3: S3Client, bucket: str, exempt_site: SiteServer
) -> None:
    """The default (ALLOW_PRIVATE_ADDRESSES empty) lets no loopback address through."""
    exempt_site.clear_log()
    url = exempt_site.url("/control.html")
    result = crawl([url], "-a", "render=false", "-s", f"DOWNLOAD_HANDLERS={PLAIN_HTTP}")
    assert result.returncode == 1
    record = stored_records(s3, bucket)[url]
    assert record["error"]["type"] == "blocked_address"
    assert exempt_site.requests() == []  # not even robots.txt


def test_a_bad_exemption_stops_the_crawl_with_a_message_naming_the_setting(
    exempt_site: SiteServer,
) -> None:
    result = crawl(
        [exempt_site.url("/control.html")],
        "-a",
        "render=false",
        "-s",
        "ALLOW_PRIVATE_ADDRESSES=http://127.0.0.1:8000/",
        timeout=60,
    )
    assert result.returncode != 0
    assert "ALLOW_PRIVATE_ADDRESSES: bad entry 'http://127.0.0.1:8000/'" in result.stderr
