"""A browser goes from its page straight to the next page that waits for one (issue #16), and
still leaves no page running once it is idle: real Chromium, the real download handler, one
browser and several pages at once, so that every page but the first waits for it.

What a user checks: each page's record is its own, a page that polls its site stops when the
next page comes and is heard no more once the crawl is idle, and a page that asks "leave this
page?" does not hold up the one after it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from rivalscope_local.static_site import answer
from tests.integration.crawler.browser.conftest import RenderHarness, harness_settings

if TYPE_CHECKING:
    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration


def _poller(name: str) -> bytes:
    """A page that fetches from its site every 300 ms (quiet long enough in between to count as
    settled) for as long as it runs, and would move on by itself (a meta refresh) in 4 s."""
    return (
        f"<html><head><title>Poller {name}</title>"
        '<meta http-equiv="refresh" content="4; url=/hand-over/moved">'
        f"</head><body><h1>Poller {name}</h1><script>"
        f"setInterval(() => fetch('/hand-over/poll?from={name}'), 300);"
        "</script></body></html>"
    ).encode()


@pytest.fixture(scope="module")
def site(site_server: SiteServer) -> SiteServer:
    for name in ("a", "b", "c"):
        site_server.route(f"/hand-over/poller-{name}", answer(_poller(name)))
    site_server.route("/hand-over/poll", answer(b"{}", "application/json"))
    site_server.route("/hand-over/moved", answer(b"<title>Moved</title>"))
    return site_server


@pytest.fixture(scope="module")
def renderer(harness_factory: Any, site: SiteServer) -> RenderHarness:
    harness: RenderHarness = harness_factory(harness_settings(site, SELENIUM_POOL_SIZE=1))
    return harness


def _polls_after(paths: list[str], name: str, start: str) -> int:
    """Polls of poller ``name`` the site had after the request for ``start``."""
    return sum(path == f"/hand-over/poll?from={name}" for path in paths[paths.index(start) + 1 :])


def test_waiting_pages_get_the_browser_straight_from_the_last_page_and_nothing_runs_idle(
    renderer: RenderHarness, site: SiteServer
):
    before = int(renderer.stats().get("selenium/pages_followed_directly", 0))
    site.clear_log()
    names = ["a", "b", "c"]
    replies = renderer.render_many([site.url(f"/hand-over/poller-{name}") for name in names])
    # Every page is stored as itself, never as the page before it, nor where it would move.
    for name, reply in zip(names, replies, strict=True):
        assert reply["ok"], reply
        record = reply["record"]
        assert record["error"] is None, record
        assert record["title"] == f"Poller {name}"
        assert record["final_url"] == site.url(f"/hand-over/poller-{name}")
        assert f"Poller {name}" in record["body"]
    # Two of the three pages waited for the one browser and got it straight from a page.
    assert int(renderer.stats()["selenium/pages_followed_directly"]) - before == 2
    # A page handed on stops polling when the next page comes: a poll already on its way
    # may still arrive, no more.
    paths = site.paths()
    pages = [path for path in paths if path.startswith("/hand-over/poller-")]
    assert len(pages) == 3
    first, second, third = pages
    assert _polls_after(paths, first[-1], second) <= 1
    assert _polls_after(paths, second[-1], third) <= 1
    # Once no page waits, the last one is left too: the idle browser polls nothing, and the
    # refresh it had set never fires.
    time.sleep(0.5)
    site.clear_log()
    time.sleep(4.5)
    assert site.paths() == []


def test_a_page_that_asks_to_stay_does_not_hold_the_page_after_it(
    renderer: RenderHarness, site: SiteServer
):
    restarts = int(renderer.stats().get("selenium/browser_restarts", 0))
    before = int(renderer.stats().get("selenium/pages_followed_directly", 0))
    # dialogs.html: "leave this page?" on beforeunload, alerts on pagehide and unload.
    urls = [site.url("/render/dialogs.html"), site.url("/render/plain.html")]
    dialogs, plain = renderer.render_many(urls)
    assert dialogs["ok"], dialogs
    assert "parsed; confirm=false; prompt=null; late alert passed;" in dialogs["record"]["body"]
    assert plain["ok"], plain
    assert plain["record"]["title"] == "Plain page"
    assert plain["record"]["final_url"] == urls[1]
    assert int(renderer.stats()["selenium/pages_followed_directly"]) - before == 1
    assert int(renderer.stats().get("selenium/browser_restarts", 0)) == restarts
