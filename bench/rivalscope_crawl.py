"""The rivalscope side of the crawl benchmark: ``scrapy crawl competitors`` into a moto bucket.

The crawl runs as a user would start it, with the project's defaults except the throughput
settings every approach shares (no download delay, one request per site, AutoThrottle off) and
the private-address exemption for exactly the workload's ``host:port`` pairs. Two benchmark
components ride along: ``bench.timing.TimedHandler`` around the project's download handler (it
times each render) and the ``bench.timing.BenchTimer`` extension. Stored bytes are what the
pipeline really wrote: the chunks are read back from the moto server.
"""

from __future__ import annotations

import gzip
import importlib
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from rivalscope_core.s3 import make_s3_client
from tests.servers.moto import MotoServer

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = (
    "crawler/spiders/competitors.py",
    "crawler/handlers/selenium.py",
    "crawler/pipelines.py",
)
_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}

# url -> (stored bytes attributed to the page, screenshot height in CSS px, error)
Stored = dict[str, tuple[int, int | None, str | None]]


class RivalscopeRun:
    def __init__(
        self, netlocs: list[str], work: Path, extra: tuple[str, ...] = (), root: Path = ROOT
    ) -> None:
        self._netlocs = netlocs
        self._work = work
        work.mkdir(parents=True, exist_ok=True)
        self._root = root  # the source tree the crawl runs from
        self._extra = extra  # NAME=VALUE settings on top, to try a rendering option
        self._moto: MotoServer | None = None
        self._bucket = f"bench-{uuid.uuid4().hex[:10]}"

    def missing(self) -> str:
        """What the crawler still lacks for an end-to-end run (empty when complete)."""
        absent = [path for path in REQUIRED if not (self._root / path).exists()]
        return f"missing {', '.join(absent)}" if absent else ""

    def start(self) -> dict[str, str]:
        """Starts moto, creates the bucket and returns the crawl's environment additions."""
        self._moto = MotoServer().start()
        self._client().create_bucket(Bucket=self._bucket)
        return {
            **_CREDENTIALS,
            "PAGES_BUCKET": self._bucket,
            "AWS_ENDPOINT_URL": self._moto.endpoint,
        }

    def stop(self) -> None:
        if self._moto is not None:
            self._moto.stop()
            self._moto = None

    def command(self, urls_file: Path, timing_file: Path) -> list[str]:
        project = importlib.import_module("crawler.settings")
        handlers = dict(getattr(project, "DOWNLOAD_HANDLERS", {}))
        inner = handlers.get("http", "crawler.handlers.selenium.SeleniumDownloadHandler")
        handlers["http"] = "bench.timing.TimedHandler"
        extensions = {**getattr(project, "EXTENSIONS", {}), "bench.timing.BenchTimer": 900}
        if any(setting.startswith("BENCH_TIMELINE_FILE=") for setting in self._extra):
            # bench/page_timeline.py: where each browser's time per page goes (issue #16);
            # listed only when asked for: the command also runs an --against tree without it
            extensions["bench.page_timeline.PageTimeline"] = 901
        overrides = {
            "DOWNLOAD_DELAY": "0",
            "CONCURRENT_REQUESTS_PER_DOMAIN": "1",
            "AUTOTHROTTLE_ENABLED": "False",
            "ALLOW_PRIVATE_ADDRESSES": ",".join(self._netlocs),
            "DOWNLOAD_HANDLERS": json.dumps(handlers),
            "BENCH_INNER_HANDLER": inner,
            "EXTENSIONS": json.dumps(extensions),
            "BENCH_TIMING_FILE": str(timing_file),
            "S3PIPELINE_SPILL_DIR": str(self._work / "spill"),
        }
        command = [sys.executable, "-m", "scrapy", "crawl", "competitors"]
        command += ["-a", f"urls_file={urls_file}"]
        for name, value in overrides.items():
            command += ["-s", f"{name}={value}"]
        for setting in self._extra:
            command += ["-s", setting]
        return command

    def read_back(self) -> Stored:
        """Every stored page, with its share of its gzipped chunk's size (by line length).
        The chunks are kept under ``<work>/chunks/`` for a look at the screenshots."""
        client = self._client()
        stored: Stored = {}
        keep = self._work / "chunks"
        keep.mkdir(exist_ok=True)
        paginator = client.get_paginator("list_objects_v2")
        for listing in paginator.paginate(Bucket=self._bucket, Prefix="raw/"):
            for entry in listing.get("Contents", []):
                if not entry["Key"].endswith(".jl.gz"):
                    continue  # the run's _done/ markers
                body = client.get_object(Bucket=self._bucket, Key=entry["Key"])["Body"].read()
                (keep / entry["Key"].rsplit("/", 1)[-1]).write_bytes(body)
                lines = gzip.decompress(body).splitlines()
                total = sum(len(line) for line in lines) or 1
                for line in lines:
                    record: dict[str, Any] = json.loads(line)
                    share = round(len(body) * len(line) / total)
                    stored[record["url"]] = (share, _css_height(record), _error(record))
        return stored

    def _client(self) -> Any:
        assert self._moto is not None
        return make_s3_client(
            endpoint_url=self._moto.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
        )


def _css_height(record: dict[str, Any]) -> int | None:
    shot = record.get("screenshot")
    if not shot or not shot.get("width"):
        return None
    # A device-scale or downscaled capture is compared in CSS px of a 1280 px wide window.
    return round(int(shot["height"]) * 1280 / int(shot["width"]))


def _error(record: dict[str, Any]) -> str | None:
    error = record.get("error")
    if error:
        return f"{error.get('type')}: {error.get('message')}"
    return None if record.get("screenshot") else "no screenshot"
