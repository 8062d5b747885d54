"""The local product loop end to end, as ``make run`` and ``make reanalyze`` run it: the demo
sites crawled in real Chromium, chunks stored in the embedded endpoint, analysed by the Lambda
handler through the queue with the fake Gemini server, the report written; then re-analyses on
the archive in ``data/`` with the endpoint stopped and started again in between."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from rivalscope_local.demo import DemoSites

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.servers.gemini import GeminiServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
BUCKET = "rivalscope-local"
SECOND_PROMPT = "---\nname: pricing-watch\n---\nList every plan and price on this page.\n"


@dataclass
class Pipeline:
    sites: DemoSites
    gemini: GeminiServer
    data: Path
    out: Path
    run: subprocess.CompletedProcess[str]
    run_uri: str
    tmp: Path

    def env(self) -> dict[str, str]:
        environ = {
            **os.environ,
            "GEMINI_API_KEY": "test-key",
            "GOOGLE_GEMINI_BASE_URL": self.gemini.base_url,
            "SE_OFFLINE": "true",
        }
        for name in ("ANALYZER", "AWS_ENDPOINT_URL", "PAGES_BUCKET"):
            environ.pop(name, None)  # the local stack sets its own
        return environ

    def archive(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "rivalscope_local.archive", "--data-dir", str(self.data),
             *args],
            env=self.env(), cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip


def stored_pages(data: Path) -> list[tuple[str, int, str]]:
    """(chunk key, line, url) of every page on disk in data/."""
    pages = []
    for path in sorted((data / "s3" / BUCKET / "raw").rglob("*.jl.gz")):
        key = path.relative_to(data / "s3" / BUCKET).as_posix()
        for line, raw in enumerate(gzip.decompress(path.read_bytes()).splitlines(), 1):
            pages.append((key, line, json.loads(raw)["url"]))
    return pages


def stored_results(data: Path, prompt_name: str) -> list[dict[str, object]]:
    base = data / "s3" / BUCKET / "analysis"
    return [
        json.loads(p.read_text("utf-8"))
        for p in sorted(base.rglob("*.json"))
        if f"/{prompt_name}-" in p.as_posix()
    ]


def _watchlist(sites: DemoSites) -> str:
    """The demo's watch list with the addresses of the sites this test serves (and counts)."""
    prompt = ROOT / "demo" / "prompts" / "pricing-ja.md"
    return (
        "competitors:\n"
        f"  - name: Acme Analytics\n    max_pages: 3\n"
        f"    urls: [{sites.base_url('acme')}/, {sites.base_url('acme-app')}/]\n"
        f"  - name: Northwind Metrics\n    max_pages: 3\n"
        f"    urls: [{sites.base_url('northwind')}/]\n"
        f"  - name: 花見クラウド\n    max_pages: 3\n    prompt: {prompt}\n"
        f"    urls: [{sites.base_url('hanami')}/]\n"
    )


@pytest.fixture(scope="module")
def pipeline(
    tmp_path_factory: pytest.TempPathFactory, gemini_server: GeminiServer
) -> Iterator[Pipeline]:
    tmp = tmp_path_factory.mktemp("e2e")
    gemini_server.reset()
    with DemoSites() as sites:
        partial = Pipeline(sites, gemini_server, tmp / "data", tmp / "out", None, "", tmp)  # type: ignore[arg-type]
        watchlist = tmp / "watchlist.yaml"
        watchlist.write_text(_watchlist(sites), encoding="utf-8")
        partial.run = subprocess.run(
            [sys.executable, "-m", "rivalscope_local.run", "--watchlist", str(watchlist),
             "--allow-private", sites.allow_private,
             "--data-dir", str(partial.data), "--out", str(partial.out)],
            env=partial.env(), cwd=ROOT, capture_output=True, text=True, timeout=600,
            check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        found = re.search(r"run (s3://\S+/)", partial.run.stdout)
        partial.run_uri = found.group(1) if found else ""
        yield partial


def test_make_run_crawls_analyses_every_page_once_and_writes_the_report(
    pipeline: Pipeline,
) -> None:
    run = pipeline.run
    assert run.returncode == 0, run.stdout + run.stderr
    assert "[" in run.stdout  # progress lines while crawling and analysing
    assert "GEMINI_API_KEY is not set" not in run.stdout
    pages = stored_pages(pipeline.data)
    # four sites, max_pages=3 each: acme has three pages, acme-app one, the other two have two
    assert len(pages) == 8
    assert {url for _, _, url in pages} >= set(pipeline.sites.urls)
    # the run's prompt for Acme and Northwind, 花見クラウド's own for its two pages
    results = stored_results(pipeline.data, "competitor-overview")
    results += stored_results(pipeline.data, "pricing-ja")
    assert sorted((str(r["chunk"]).split(f"{BUCKET}/")[1], r["line"]) for r in results) == sorted(
        (key, line) for key, line, _ in pages
    )  # exactly one result per crawled page
    assert all(r["analysis"] is not None and r["analyzer"] == "gemini" for r in results)
    assert sorted(
        (str(r["competitor"]), str(r["prompt_id"]).rsplit("-", 1)[0]) for r in results
    ) == [
        *[("Acme Analytics", "competitor-overview")] * 4,
        *[("Northwind Metrics", "competitor-overview")] * 2,
        *[("花見クラウド", "pricing-ja")] * 2,
    ]
    assert pipeline.gemini.calls == len(pages)

    report = Path(re.findall(r"report: (\S+report\.html)", run.stdout)[-1])
    assert report.is_file()
    assert report.is_relative_to(pipeline.out)
    html = report.read_text("utf-8")
    assert html.count('<article class="card') == len(pages)  # each with its own prompt's result
    assert html.count('<article class="card done"') == len(pages)
    # one summary row per competitor; Acme's two hosts inside its one row
    assert re.findall(r'<tr data-site="([^"]+)">', html) == [
        "Acme Analytics", "Northwind Metrics", "花見クラウド",
    ]  # fmt: skip
    acme_hosts = {
        str(urlsplit(f"{pipeline.sites.base_url(n)}/").hostname) for n in ("acme", "acme-app")
    }
    assert f'<span class="hosts">{" · ".join(sorted(acme_hosts))}</span>' in html
    jsonl = (report.parent / "results.jsonl").read_text("utf-8").splitlines()
    assert len(jsonl) == len(pages)
    # the run's digest on screen, as in its file: a first capture, one line, no model call
    digest = (report.parent / "digest.md").read_text("utf-8")
    assert digest == (
        "First capture: 8 pages of 3 competitors recorded; changes are reported from the next"
        " run.\n"
    )
    assert f"digest ({report.parent / 'digest.md'}):\n\n{digest}" in run.stdout


def test_reanalysis_on_the_archive_calls_the_model_once_per_page_and_never_the_sites(
    pipeline: Pipeline,
) -> None:
    assert pipeline.run_uri, pipeline.run.stdout
    pages = len(stored_pages(pipeline.data))
    prompt = pipeline.tmp / "pricing-watch.md"
    prompt.write_text(SECOND_PROMPT, encoding="utf-8")
    site_requests = pipeline.sites.request_count()
    calls = pipeline.gemini.calls

    # a new endpoint process each time: only data/ carries the archive across
    first = pipeline.archive("reanalyze", pipeline.run_uri, "--prompt", str(prompt), "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    assert pipeline.gemini.calls - calls == pages
    assert len(stored_results(pipeline.data, "pricing-watch")) == pages  # synced back to disk

    again = pipeline.archive("reanalyze", "--prompt", str(prompt), "--yes")  # latest run
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing to do" in again.stderr
    assert pipeline.gemini.calls - calls == pages  # no model call the second time
    assert pipeline.sites.request_count() == site_requests  # and no site fetched, ever

    report = pipeline.archive("report", "--prompt", str(prompt), "--out", str(pipeline.tmp / "r2"))
    assert report.returncode == 0, report.stdout + report.stderr
    html = (pipeline.tmp / "r2" / "report.html").read_text("utf-8")
    assert html.count('<article class="card') == pages
