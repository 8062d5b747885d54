"""Runs ``scrapy crawl competitors`` as a user does — a subprocess in the project directory —
against a fresh loopback site and the session's moto server, and reads the stored chunks back.

Rendering is off in these tests (Scrapy's HTTP/1.1 handler) unless a test turns it on: they are
about the spider, the pipeline, robots.txt and stopping, not about Chromium.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from rivalscope_core.keys import CHUNK_SUFFIX
from rivalscope_core.markers import ShardMarker
from tests.servers.site import SITE_ROOT, SiteServer
from tests.servers.tcp_proxy import TcpProxy

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_s3 import S3Client

    from tests.servers.moto import MotoServer

ROOT = Path(__file__).resolve().parents[3]
SCRAPY = str(ROOT / ".venv" / "bin" / "scrapy")
CRAWL_SITE = SITE_ROOT / "crawl"
PLAIN_HTTP = json.dumps(
    {
        "http": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler",
        "https": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler",
    }
)
CHUNK_KEY = re.compile(r"^raw/competitors/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d/items\.(\d{7})\.jl\.gz$")


@dataclass
class CrawlResult:
    returncode: int
    log: str
    seconds: float


@dataclass
class Crawl:
    """Builds the command line of one crawl; ``run`` waits, ``start`` returns the process."""

    site: SiteServer
    endpoint: str
    bucket: str
    spill_dir: Path
    settings: dict[str, Any] = field(default_factory=dict)

    def command(self, *args: str, **settings: Any) -> list[str]:
        merged = {
            "DOWNLOAD_HANDLERS": PLAIN_HTTP,
            "SELENIUM_RENDER_BY_DEFAULT": False,
            "ALLOW_PRIVATE_ADDRESSES": self.site.netloc,
            "DOWNLOAD_DELAY": 0.2,
            "AUTOTHROTTLE_ENABLED": False,
            "RETRY_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
            "REMOTE_CONTROL_ENABLED": False,
            "S3PIPELINE_SPILL_DIR": str(self.spill_dir),
            **self.settings,
            **settings,
        }
        command = [SCRAPY, "crawl", "competitors"]
        for arg in args:
            command += ["-a", arg]
        for name, value in merged.items():
            if value is not None:  # None: keep the project's setting
                command += ["-s", f"{name}={value}"]
        return command

    def env(self, endpoint: str | None = None) -> dict[str, str]:
        return {
            **os.environ,
            "AWS_ENDPOINT_URL": endpoint or self.endpoint,
            "PAGES_BUCKET": self.bucket,
            "PYTHONUNBUFFERED": "1",
        }

    def start(
        self, *args: str, endpoint: str | None = None, **settings: Any
    ) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args, **settings),
            cwd=ROOT,
            env=self.env(endpoint),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def run(self, *args: str, endpoint: str | None = None, **settings: Any) -> CrawlResult:
        started = time.monotonic()
        proc = subprocess.run(
            self.command(*args, **settings),
            cwd=ROOT,
            env=self.env(endpoint),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        output = proc.stdout + proc.stderr
        return CrawlResult(proc.returncode, output, time.monotonic() - started)


@pytest.fixture
def crawl_site() -> Iterator[SiteServer]:
    """A fresh site per test (its own routes and request log), serving tests/data/site/crawl."""
    server = SiteServer(root=CRAWL_SITE).start()
    yield server
    server.stop()


@pytest.fixture
def crawl(crawl_site: SiteServer, moto_server: MotoServer, bucket: str, tmp_path: Path) -> Crawl:
    return Crawl(crawl_site, moto_server.endpoint, bucket, tmp_path / "spill")


@pytest.fixture
def s3_proxy(moto_server: MotoServer) -> Iterator[TcpProxy]:
    """A switchable forwarder in front of moto: S3 that can go down or turn slow."""
    target = urlsplit(moto_server.endpoint)
    proxy = TcpProxy(str(target.hostname), int(target.port or 80)).start()
    yield proxy
    proxy.stop()


def stored_chunks(s3: S3Client, bucket: str) -> dict[str, list[dict[str, Any]]]:
    """Every raw chunk in the bucket: key → its records, in order."""
    chunks: dict[str, list[dict[str, Any]]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="raw/"):
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith(CHUNK_SUFFIX):
                continue  # a shard marker (raw/{spider}/{run}/_done/...)
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            lines = gzip.decompress(body).decode("utf-8").splitlines()
            chunks[obj["Key"]] = [json.loads(line) for line in lines]
    return chunks


def stored_records(s3: S3Client, bucket: str) -> list[dict[str, Any]]:
    return [record for records in stored_chunks(s3, bucket).values() for record in records]


def stored_markers(s3: S3Client, bucket: str) -> dict[str, ShardMarker]:
    """Every shard marker in the bucket: key → the marker, read back as the analyser does."""
    markers: dict[str, ShardMarker] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="raw/"):
        for obj in page.get("Contents", []):
            if "/_done/" in obj["Key"]:
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                markers[obj["Key"]] = ShardMarker.from_json(body)
    return markers
