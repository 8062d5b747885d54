"""``scrapy crawl competitors -a watchlist=...`` as a user runs it: the records it stores, and a
bad watch list refused with exit 2 before any browser starts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.integration.crawler.conftest import stored_chunks, stored_markers, stored_records

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from tests.integration.crawler.conftest import Crawl
    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration


def _watchlist(tmp_path: Path, site: SiteServer, prompt: str) -> Path:
    path = tmp_path / "watchlist.yaml"
    path.write_text(
        "competitors:\n"
        "  - name: Acme Analytics\n"
        f"    urls: [{site.url('/')}, {site.url('/a.html')}]\n"
        "    change_rules: {ignore_text: ['^Trusted by']}\n"
        "  - name: 花見クラウド\n"
        f"    urls: [{site.url('/b.html')}]\n"
        f"    prompt: {prompt}\n",
        encoding="utf-8",
    )
    return path


def test_records_carry_the_competitor_and_its_prompt_from_s3(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="prompts/pricing-ja.md", Body="料金は？\n".encode())
    watchlist = _watchlist(tmp_path, crawl_site, "pricing-ja")
    s3.upload_file(str(watchlist), bucket, "config/watchlist.yaml")
    result = crawl.run(
        f"watchlist=s3://{bucket}/config/watchlist.yaml",
        f"urls={crawl_site.url('/a1.html')}",
        "prompt=overview",
    )
    assert result.returncode == 0, result.log
    records = {r["url"]: r for r in stored_records(s3, bucket)}
    assert {url: (r["competitor"], r["prompt"]) for url, r in records.items()} == {
        crawl_site.url("/"): ("Acme Analytics", "overview"),
        crawl_site.url("/a.html"): ("Acme Analytics", "overview"),
        crawl_site.url("/b.html"): ("花見クラウド", "pricing-ja"),
        crawl_site.url("/a1.html"): (None, "overview"),
    }
    assert records[crawl_site.url("/")]["change_rules"] == {
        "ignore_text": ["^Trusted by"],
        "ignore_selectors": [],
    }
    # the marker says which pages carry a prompt other than the run's, so that the
    # run-complete step looks for each page's result under its own prompt
    [marker] = stored_markers(s3, bucket).values()
    assert marker.prompt == "overview"
    own = {
        key: [n for n, r in enumerate(lines, start=1) if r["prompt"] == "pricing-ja"]
        for key, lines in stored_chunks(s3, bucket).items()
    }
    assert marker.page_prompts == {"pricing-ja": {k: v for k, v in own.items() if v}}


@pytest.fixture
def browser_marker(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in browser binary that leaves a file behind if anything ever starts it."""
    marker = tmp_path / "browser-started"
    browser = tmp_path / "browser"
    browser.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    browser.chmod(0o755)
    return browser, marker


@pytest.mark.parametrize(
    ("prompt", "edit", "message"),
    [
        (
            "missing-prompt",
            None,
            (
                "competitors[1] \"花見クラウド\": prompt: 'missing-prompt' does not resolve: "
                "cannot read s3://{bucket}/prompts/missing-prompt.md"
            ),
        ),
        (
            "prompts/none.md",
            None,
            "competitors[1] \"花見クラウド\": prompt: 'prompts/none.md' does not resolve: no such",
        ),
        (
            "pricing-ja",
            ("    prompt:", "    max_page: 3\n    prompt:"),
            'competitors[1] "花見クラウド": max_page: unknown field',
        ),
        (
            "pricing-ja",
            ("  - name: 花見クラウド", "  - name: Acme Analytics"),
            'competitors[1] "Acme Analytics": name: duplicate of competitors[0]',
        ),
    ],
)
def test_a_bad_watch_list_exits_2_before_any_browser_starts(
    crawl: Crawl,
    crawl_site: SiteServer,
    s3: S3Client,
    bucket: str,
    tmp_path: Path,
    browser_marker: tuple[Path, Path],
    prompt: str,
    edit: tuple[str, str] | None,
    message: str,
) -> None:
    s3.put_object(Bucket=bucket, Key="prompts/pricing-ja.md", Body=b"Prices?\n")
    watchlist = _watchlist(tmp_path, crawl_site, prompt)
    if edit is not None:
        watchlist.write_text(watchlist.read_text("utf-8").replace(*edit), encoding="utf-8")
    browser, marker = browser_marker
    result = crawl.run(
        f"watchlist={watchlist}",
        SELENIUM_RENDER_BY_DEFAULT=True,
        DOWNLOAD_HANDLERS=None,
        SELENIUM_BROWSER_PATH=str(browser),
    )
    assert result.returncode == 2, result.log
    assert f"watchlist {watchlist}: " + message.format(bucket=bucket) in result.log
    assert not marker.exists()
    assert "Spider opened" not in result.log
    assert s3.list_objects_v2(Bucket=bucket, Prefix="raw/").get("KeyCount") == 0
