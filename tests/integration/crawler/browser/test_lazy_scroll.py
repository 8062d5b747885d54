"""SELENIUM_SCROLL_LAZY=auto in real Chromium: a page is scrolled through exactly when something
on it could load on scroll, and what such a loader loads is in the HTML and the screenshot; a
page with nothing of the kind is not scrolled and is still captured whole (issue #16).

The loaders of tests/data/site/render/lazy-kinds.html reveal a block 7,000 px down (green,
"revealed KIND") only once it is in view. The existing kinds (loading=lazy, IntersectionObserver,
scroll listeners, throttled and debounced loaders) are in test_render_pages.py, which runs with
the same project default."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.crawler.browser.conftest import (
    RenderHarness,
    decode_screenshot,
    harness_settings,
)

if TYPE_CHECKING:
    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration

GREEN = (40, 160, 90)
BLUE = (30, 120, 200)  # lazy-target.png
# The target's top is 7,000 px of spacer plus the heading and the scrollable box above it.
TARGET_TOP, TARGET_SPAN = 7000, 600


def _slow(_handler: Any) -> tuple[int, dict[str, str], bytes]:
    time.sleep(0.3)
    return 200, {}, b"later"


@pytest.fixture(scope="module")
def lazy_site(site_server: SiteServer) -> SiteServer:
    site_server.route("/render/slow-data", _slow)
    return site_server


@pytest.fixture(scope="module")
def renderer(harness_factory: Any, lazy_site: SiteServer) -> RenderHarness:
    """The project default (auto), stated so the tests keep meaning it if the default moves."""
    harness: RenderHarness = harness_factory(
        harness_settings(lazy_site, SELENIUM_SCROLL_LAZY="auto")
    )
    return harness


@pytest.fixture
def site(lazy_site: SiteServer) -> SiteServer:
    lazy_site.clear_log()
    return lazy_site


def _page(renderer: RenderHarness, url: str) -> dict[str, Any]:
    reply = renderer.render(url)
    assert reply["ok"], reply
    page: dict[str, Any] = reply["page"]
    return page


def _near(pixel: Any, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=False))


def _shows(page: dict[str, Any], x: int, colour: tuple[int, int, int]) -> bool:
    """The colour somewhere in column ``x`` where the target is in the screenshot."""
    image = decode_screenshot(page)
    rows = range(TARGET_TOP, min(TARGET_TOP + TARGET_SPAN, image.height))
    return any(_near(image.getpixel((x, y)), colour) for y in rows)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("document-listener", "scroll-listener"),
        ("onscroll-property", "scroll-listener"),
        ("onscroll-attribute", "scroll-listener"),
        ("polled", "lazy-marker"),
        ("content-visibility", "content-visibility"),
    ],
)
def test_a_loader_that_needs_the_scroll_gets_it(
    renderer: RenderHarness, site: SiteServer, kind: str, reason: str
):
    page = _page(renderer, site.url(f"/render/lazy-kinds.html?kind={kind}"))
    assert page["scrolled"] is True
    assert reason in page["lazy_reasons"]
    assert f"revealed {kind}" in page["html"]
    assert _shows(page, 300, GREEN)


@pytest.mark.parametrize("kind", ["element-listener", "element-property"])
def test_an_elements_scroll_listener_counts_too(
    renderer: RenderHarness, site: SiteServer, kind: str
):
    page = _page(renderer, site.url(f"/render/lazy-kinds.html?kind={kind}"))
    assert (page["scrolled"], page["lazy_reasons"]) == (True, ["scroll-listener"])


def test_a_page_that_breaks_the_check_is_scrolled_not_failed(
    renderer: RenderHarness, site: SiteServer
):
    page = _page(renderer, site.url("/render/lazy-kinds.html?kind=broken"))
    assert (page["scrolled"], page["lazy_reasons"]) == (True, ["error"])
    assert "bottom" in page["html"]


def test_lazy_content_inserted_after_load_is_found_once_settled(
    renderer: RenderHarness, site: SiteServer
):
    """Nothing lazy at load; a fetch answered 0.3 s later inserts a loading=lazy image 7,000 px
    down. The check after settling finds it, the page is scrolled, the image loads."""
    page = _page(renderer, site.url("/render/lazy-kinds.html?kind=late"))
    assert (page["scrolled"], page["lazy_reasons"]) == (True, ["loading-lazy"])
    assert "/render/lazy-target.png?late=1" in site.paths()
    assert _shows(page, 100, BLUE)


def test_native_lazy_images_and_observers_are_named(renderer: RenderHarness, site: SiteServer):
    lazy = _page(renderer, site.url("/render/lazy.html"))
    observed = _page(renderer, site.url("/render/observed.html"))
    assert (lazy["scrolled"], lazy["lazy_reasons"]) == (True, ["loading-lazy"])
    assert (observed["scrolled"], observed["lazy_reasons"]) == (True, ["intersection-observer"])


def test_a_page_with_nothing_lazy_is_not_scrolled_and_is_captured_whole(
    renderer: RenderHarness, site: SiteServer
):
    """Eager images down to 8,000 px, resize and wheel listeners, an observer on a sentinel at
    the top, a short timer: no reason to scroll. Every image was fetched and is painted where
    the page has it, the timer's text is in, and the screenshot has the page's full height."""
    before = renderer.stats().get("selenium/scroll/skipped", 0)
    page = _page(renderer, site.url("/render/nolazy.html"))
    assert (page["scrolled"], page["lazy_reasons"]) == (False, [])
    assert renderer.stats()["selenium/scroll/skipped"] == before + 1
    requested = [path for path in site.paths() if "lazy-target.png?eager=" in path]
    assert sorted(requested) == [f"/render/lazy-target.png?eager={i}" for i in range(6)]
    assert "added by a timer" in page["html"]
    shot = page["screenshot"]
    height = 60 + 6 * 1500 + 200
    assert (shot["height"], shot["page_height"]) == (height, height)
    image = decode_screenshot(page)
    for band in range(6):
        assert _near(image.getpixel((100, 60 + band * 1500 + 250)), BLUE), band
    assert _near(image.getpixel((640, height - 10)), (0, 0, 0))  # the footer


def test_always_scrolls_a_page_with_nothing_lazy(harness_factory: Any, site: SiteServer):
    harness = harness_factory(harness_settings(site, SELENIUM_SCROLL_LAZY=True))
    page = _page(harness, site.url("/render/nolazy.html"))
    assert (page["scrolled"], page["lazy_reasons"]) == (True, [])
    assert harness.stats()["selenium/scroll/scrolled"] == 1
