"""The crawler image's command, run here as the Fargate task runs it: docker/crawl with the
image's environment (SCRAPY_SETTINGS_MODULE, PYTHONPATH, no scrapy.cfg in an empty working
directory), as the image's unprivileged user where the machine allows (uid 10001), the task
definition's PAGES_BUCKET and WATCHLIST (the watch list in S3), and only the settings a command
override would add. Real Chromium renders a loopback site; the chunk lands in the moto S3
bucket, where the analyser's S3 notification would pick it up."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
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
IMAGE_UID = 10001  # USER in Dockerfile.crawler

_PAGE = """<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="height:2400px"><h1>{title}</h1><p>料金プラン: 月額 1,000 円</p></body></html>"""


def _page(title: str) -> Any:
    body = _PAGE.format(title=title).encode("utf-8")
    return lambda _handler: (200, {}, body)


def _reachable_by_others(path: Path) -> bool:
    """Every directory above ``path`` can be traversed by another user (o+x)."""
    return all(parent.stat().st_mode & 0o001 for parent in path.resolve().parents)


def _as_image_user() -> list[str]:
    """Run as the image's unprivileged user, uid 10001, when we are root and that user can reach
    the interpreter and the code (a pyenv under /root cannot be); otherwise as ourselves."""
    python = Path(sys.executable)
    if (
        os.geteuid() == 0
        and shutil.which("setpriv")
        and _reachable_by_others(python)
        and _reachable_by_others(ENTRY)
    ):
        return ["setpriv", f"--reuid={IMAGE_UID}", f"--regid={IMAGE_UID}", "--clear-groups", "--"]
    return []


def _image_env(bucket: str, endpoint: str, watchlist: str, home: Path) -> dict[str, str]:
    """What Dockerfile.crawler and the task definition put in the container's environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SCRAPY_", "URLS_")) and k != "WATCHLIST"
    }
    env.update(
        {
            "HOME": str(home),
            "TMPDIR": str(home),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
            "PYTHONPATH": str(ROOT),
            "SCRAPY_SETTINGS_MODULE": "crawler.settings",
            "SE_OFFLINE": "true",
            "SE_AVOID_STATS": "true",
            "PYTHONUNBUFFERED": "1",
            "PAGES_BUCKET": bucket,
            "WATCHLIST": watchlist,
            "AWS_ENDPOINT_URL": endpoint,
        }
    )
    return env


@pytest.mark.parametrize("kind", ["watch list", "plain URL list"])
def test_the_task_command_crawls_the_watch_list_from_s3(
    site: SiteServer, moto_server: MotoServer, s3: S3Client, bucket: str, kind: str
) -> None:
    site.route("/infra/pricing", _page("Pricing"))
    site.route("/infra/about", _page("About"))
    urls = [site.url("/infra/pricing"), site.url("/infra/about")]
    if kind == "watch list":
        text = f"competitors:\n  - name: 花見クラウド\n    urls: [{', '.join(urls)}]\n"
    else:  # what the scheduled list was before watch lists: it keeps working in their place
        text = "# competitors\n" + "\n".join(urls) + "\n"
    s3.put_object(Bucket=bucket, Key="config/watchlist.yaml", Body=text.encode())
    # The image's WORKDIR and HOME: writable by its user, no scrapy.cfg. (pytest's tmp_path is
    # private to the user running the tests.)
    workdir = Path(tempfile.mkdtemp(prefix="rivalscope-image-"))
    workdir.chmod(0o777)

    # The command override of a one-off run adds only settings; the URLs come from WATCHLIST.
    override = ["-s", f"ALLOW_PRIVATE_ADDRESSES={site.netloc}", "-s", "DOWNLOAD_DELAY=0.2"]
    override += ["-s", "TELNETCONSOLE_ENABLED=False"]
    watchlist = f"s3://{bucket}/config/watchlist.yaml"
    try:
        result = subprocess.run(
            [*_as_image_user(), str(ENTRY), *override],
            cwd=workdir,
            env=_image_env(bucket, moto_server.endpoint, watchlist, workdir),
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
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
        assert record["competitor"] == ("花見クラウド" if kind == "watch list" else None)
        assert "料金プラン" in record["body"]
        screenshot = record["screenshot"]
        assert screenshot["data"]
        assert screenshot["height"] >= 2400  # full page, rendered by Chromium
    assert {"/infra/pricing", "/infra/about"} <= set(site.paths())
