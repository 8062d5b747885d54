"""``make run``'s watch list (``WATCHLIST=file``, default ``demo/watchlist.yaml``): a bad file
is exit 2 before the endpoint, the demo sites or any browser start; the demo's ``*.demo`` hosts
become the served demo sites, in a copy the crawl itself accepts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crawler.spiders.arguments import CrawlArguments
from crawler.spiders.targets import load_targets
from rivalscope_local.demo import DEMO_WATCHLIST, DemoSites
from rivalscope_local.watchlist import load_watchlist, localize, uses_demo

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]

GOOD = "  - name: Acme Analytics\n    urls: [http://acme.demo/]\n"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("  - name: Northwind\n    urls: []\n", 'competitors[1] "Northwind": urls: must not be'),
        (
            "  - name: Northwind\n    urls: [https://n.example/]\n    prompt: nope/pricing.md\n",
            "competitors[1] \"Northwind\": prompt: 'nope/pricing.md' does not resolve",
        ),
        (
            "  - name: 花見クラウド\n    urls: [http://acme.demo/]\n",
            'competitors[1] "花見クラウド": urls: http://acme.demo/ is already listed under "Acme',
        ),
        (
            "  - name: Northwind\n    url: [https://n.example/]\n",
            'competitors[1] "Northwind": url: unknown field',
        ),
    ],
)
def test_make_run_refuses_a_bad_watch_list_before_starting_anything(
    tmp_path: Path, entry: str, message: str
) -> None:
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text(f"competitors:\n{GOOD}{entry}", encoding="utf-8")
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "rivalscope_local.run", "--watchlist", str(watchlist),
         "--data-dir", str(data), "--out", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"rivalscope: watchlist {watchlist}: {message}" in result.stderr
    assert not data.exists()  # no endpoint, no crawl, no browser: nothing was started
    assert "crawl |" not in result.stdout


def test_the_demo_watch_list_points_at_the_served_demo_sites(tmp_path: Path) -> None:
    watchlist = load_watchlist(DEMO_WATCHLIST)
    assert [c.name for c in watchlist.competitors] == [
        "Acme Analytics",
        "Northwind Metrics",
        "花見クラウド",
    ]
    assert uses_demo(watchlist)
    with DemoSites() as sites:
        served = localize(watchlist, sites)
        acme, northwind, hanami = served.competitors
        assert acme.urls == (f"{sites.base_url('acme')}/", f"{sites.base_url('acme-app')}/")
        assert northwind.urls == (f"{sites.base_url('northwind')}/",)
    assert hanami.prompt == str((DEMO_WATCHLIST.parent / "prompts/pricing-ja.md").resolve())
    # the copy make run hands the crawl passes the crawl's own check, wherever it is written
    copy = tmp_path / "elsewhere" / "watchlist.yaml"
    copy.parent.mkdir()
    copy.write_text(served.to_yaml(), encoding="utf-8")
    assert ".demo" not in copy.read_text("utf-8")
    targets = load_targets(CrawlArguments.parse({"watchlist": str(copy)}), bucket=None)
    assert targets.competitors == served.competitors


def test_an_unknown_demo_site_names_the_entry(tmp_path: Path) -> None:
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text("competitors:\n  - name: Zed\n    urls: [http://zed.demo/]\n")
    with DemoSites() as sites, pytest.raises(ValueError, match=r'"Zed": urls: http://zed\.demo/'):
        localize(load_watchlist(watchlist), sites)
