"""The crawler image's command, run here as the Fargate task runs it: docker/crawl with the
image's environment (SCRAPY_SETTINGS_MODULE, PYTHONPATH, no scrapy.cfg in an empty working
directory), the task definition's PAGES_BUCKET and URLS_FILE (the URL list in S3), and only
the settings a command override would add. Real Chromium renders a loopback site; the chunk
lands in the moto S3 bucket, where the analyser's S3 notification would pick it up."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.servers.moto import MotoServer
    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
ENTRY = ROOT / "docker" / "crawl"
CHUNK_KEY = re.compile(r"^raw/competitors/[^/]+/items\.\d{7}\.jl\.gz$")

_PAGE = """<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="height:2400px"><h1>{title}</h1><p>料金プラン: 月額 1,000 円</p></body></html>"""


def _page(title: str) -> Any:
    body = _PAGE.format(title=title).encode("utf-8")
    return lambda _handler: (200, {}, body)


def _image_env(bucket: str, endpoint: str, urls_file: str) -> dict[str, str]:
    """What Dockerfile.crawler and the task definition put in the container's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCRAPY_", "URLS_"))}
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
            "PYTHONPATH": str(ROOT),
            "SCRAPY_SETTINGS_MODULE": "crawler.settings",
            "SE_OFFLINE": "true",
            "SE_AVOID_STATS": "true",
            "PYTHONUNBUFFERED": "1",
            "PAGES_BUCKET": bucket,
            "URLS_FILE": urls_file,
            "AWS_ENDPOINT_URL": endpoint,
        }
    )
    return env


def test_the_task_command_crawls_the_url_list_from_s3(
    site: SiteServer, moto_server: MotoServer, s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    site.route("/infra/pricing", _page("Pricing"))
    site.route("/infra/about", _page("About"))
    urls = [site.url("/infra/pricing"), site.url("/infra/about")]
    s3.put_object(
        Bucket=bucket,
        Key="config/urls.txt",
        Body=("# competitors\n" + "\n".join(urls) + "\n").encode(),
    )
    workdir = tmp_path / "work"  # the image's WORKDIR: writable, no scrapy.cfg
    workdir.mkdir()

    # The command override of a one-off run adds only settings; the URLs come from URLS_FILE.
    override = ["-s", f"ALLOW_PRIVATE_ADDRESSES={site.netloc}", "-s", "DOWNLOAD_DELAY=0.2"]
    override += ["-s", "TELNETCONSOLE_ENABLED=False"]
    result = subprocess.run(
        [str(ENTRY), *override],
        cwd=workdir,
        env=_image_env(bucket, moto_server.endpoint, f"s3://{bucket}/config/urls.txt"),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="raw/").get("Contents", [])]
    assert keys
    assert all(CHUNK_KEY.match(key) for key in keys), keys  # what the S3 notification matches
    records = []
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        records += [json.loads(line) for line in gzip.decompress(body).splitlines()]
    by_url = {r["url"]: r for r in records}
    assert sorted(by_url) == sorted(urls)
    for url, title in zip(urls, ("Pricing", "About"), strict=True):
        record = by_url[url]
        assert (record["status"], record["title"], record["error"]) == (200, title, None)
        assert "料金プラン" in record["body"]
        screenshot = record["screenshot"]
        assert screenshot["data"]
        assert screenshot["height"] >= 2400  # full page, rendered by Chromium
    assert {"/infra/pricing", "/infra/about"} <= set(site.paths())
