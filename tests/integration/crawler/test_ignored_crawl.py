"""``scrapy crawl`` as a user runs it, rendering on: ``CHANGE_RULES`` from the environment and
the watch list's ``change_rules`` decide which elements' boxes each stored page carries as
``ignored_boxes``, and a bad ``CHANGE_RULES`` stops the crawl (exit 2) before any browser."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from rivalscope_local.static_site import answer
from tests.integration.crawler.conftest import stored_records

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from tests.integration.crawler.conftest import Crawl
    from tests.servers.site import SiteServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("chromedriver") is None, reason="needs chromium-driver"),
]

PAGE = b"""<!doctype html><html><body style="margin: 0">
<h1 style="margin: 0; height: 100px">Pricing</h1>
<div class="ad" style="width: 300px; height: 250px">An ad</div>
<p id="visitors" style="margin: 0; height: 20px">41 visitors online</p>
</body></html>"""


def test_stored_pages_carry_the_boxes_of_their_rules_elements(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    crawl_site.route("/ad.html", answer(PAGE))
    (tmp_path / "rules.yaml").write_text('"*": {ignore_selectors: [".ad"]}\n', encoding="utf-8")
    monkeypatch.setenv("CHANGE_RULES", str(tmp_path / "rules.yaml"))
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text(
        "competitors:\n  - name: Acme\n"
        f"    urls: [{crawl_site.url('/ad.html')}]\n"
        "    change_rules: {ignore_selectors: ['#visitors']}\n",
        encoding="utf-8",
    )
    result = crawl.run(
        f"watchlist={watchlist}", f"urls={crawl_site.url('/')}",
        DOWNLOAD_HANDLERS=None, SELENIUM_RENDER_BY_DEFAULT=True, SELENIUM_POOL_SIZE=1,
    )  # fmt: skip
    assert result.returncode == 0, result.log
    records = {r["url"]: r for r in stored_records(s3, bucket)}
    # CHANGE_RULES' .ad, then the competitor's #visitors, in screenshot pixels
    assert records[crawl_site.url("/ad.html")]["ignored_boxes"] == [
        [0, 100, 300, 250], [0, 350, 1280, 20],
    ]  # fmt: skip
    assert records[crawl_site.url("/")]["ignored_boxes"] == []  # no .ad on that page


def test_a_bad_change_rules_file_exits_2_naming_it(
    crawl: Crawl, crawl_site: SiteServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rules.yaml").write_text("acme.example: {ignore_selectors: ['div[']}\n")
    monkeypatch.setenv("CHANGE_RULES", str(tmp_path / "rules.yaml"))
    result = crawl.run(f"urls={crawl_site.url('/')}")
    assert result.returncode == 2, result.log
    assert "CHANGE_RULES" in result.log
    assert "ignore_selectors: bad CSS selector 'div['" in result.log
