"""``make run SHARDS=2``: two crawl processes of one run side by side on the demo sites (real
Chromium, the embedded endpoint), every URL crawled once, both shard markers written, and the
run-complete step at the end writing one report and ``run.json``."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rivalscope_local.demo import DemoSites

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
BUCKET = "rivalscope-local"


def test_two_shards_of_one_run_crawl_every_url_once_and_complete_the_run_once(
    tmp_path: Path,
) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    env = {**os.environ, "SE_OFFLINE": "true"}
    for name in ("ANALYZER", "AWS_ENDPOINT_URL", "PAGES_BUCKET", "GEMINI_API_KEY"):
        env.pop(name, None)  # the local stack sets its own; no key: the offline analyser
    with DemoSites() as sites:
        run = subprocess.run(
            [sys.executable, "-m", "rivalscope_local.run", "--urls", " ".join(sites.urls),
             "--allow-private", sites.allow_private, "--max-pages", "3", "--shards", "2",
             "--data-dir", str(data), "--out", str(out)],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "crawl 0/2 |" in run.stdout or "crawl 1/2 |" in run.stdout  # both ran, labelled

    raw = data / "s3" / BUCKET / "raw" / "competitors"
    [run_dir] = [p for p in raw.iterdir() if p.is_dir()]  # one run for both shards
    urls = [
        json.loads(line)["url"]
        for path in sorted(run_dir.glob("*.jl.gz"))
        for line in gzip.decompress(path.read_bytes()).splitlines()
    ]
    assert set(urls) >= set(sites.urls)  # every start URL, and the same-site pages found
    assert len(set(urls)) == len(urls)  # every URL once
    # sites go to shards by a hash of the site (here with its random port): which shard gets
    # which site varies, that each site is in one shard does not
    shards_of_site: dict[str, set[str]] = {}
    for path in run_dir.glob("*.jl.gz"):
        for line in gzip.decompress(path.read_bytes()).splitlines():
            site = json.loads(line)["url"].split("/")[2]
            shards_of_site.setdefault(site, set()).add(path.name.split(".")[2])
    assert all(len(shards) == 1 for shards in shards_of_site.values()), shards_of_site
    assert set().union(*shards_of_site.values()) <= {"shard0of2", "shard1of2"}
    markers = sorted(p.name for p in (run_dir / "_done").iterdir())
    assert markers == ["1of2.json", "2of2.json"]

    assert "run-complete step: done" in run.stdout
    [status_path] = (data / "s3" / BUCKET / "reports").rglob("run.json")
    status = json.loads(status_path.read_text("utf-8"))
    assert (status["status"], status["shards"], status["pages"]) == ("done", 2, len(urls))
    assert status["pages_with_result"] == len(urls)
    assert (status_path.parent / "report.html").is_file()
    report = Path(re.findall(r"report: (\S+report\.html)", run.stdout)[-1])
    assert report.read_text("utf-8").count('<article class="card') == len(urls)  # one report
