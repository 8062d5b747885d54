"""Real Chromium, through the real download handler, rendering pages of the loopback test site.

One harness (one browser) serves the whole module; tests that break the browser on purpose come
last and check it was replaced."""

from __future__ import annotations

import base64
import io
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image, ImageChops, ImageStat

from crawler.settings import SELENIUM_BROWSER_PATH
from tests.integration.crawler.browser.conftest import (
    RenderHarness,
    decode_screenshot,
    harness_settings,
)
from tests.servers.site import SITE_ROOT

if TYPE_CHECKING:
    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration

MAX_HEIGHT = 18000


def _sleeping(seconds: float, body: bytes, status: int = 200) -> Any:
    def route(_handler: Any) -> tuple[int, dict[str, str], bytes]:
        time.sleep(seconds)
        return status, {}, body

    return route


def _typed(seconds: float, body: bytes, content_type: str) -> Any:
    def route(_handler: Any) -> tuple[int, dict[str, str], bytes]:
        time.sleep(seconds)
        return 200, {"Content-Type": content_type}, body

    return route


def _slow_body(handler: Any) -> tuple[int, dict[str, str], bytes]:
    """The headers at once, the body 0.4 s later: ``fetch`` resolves at the headers, the page
    gets the body only then. The route writes its answer itself and then drops the connection
    (the server's quiet way to say it answered, rivalscope_local.static_site)."""
    body = b"the body came later"
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.flush()
    time.sleep(0.4)
    handler.wfile.write(body)
    handler.wfile.flush()
    raise ConnectionAbortedError("answered by the route")


@pytest.fixture(scope="module")
def pages_site(site_server: SiteServer) -> SiteServer:
    site_server.route("/render/slow-data", _sleeping(0.6, b"loaded by fetch", 200))
    site_server.route("/render/slow-body", _slow_body)
    site_server.route("/render/late-json", _sleeping(0.2, b'{"offers": 3}', 200))
    png = (SITE_ROOT / "render" / "lazy-target.png").read_bytes()
    site_server.route("/render/slow-image.png", _typed(0.3, png, "image/png"))
    site_server.route(
        "/render/redirect",
        lambda _h: (302, {"Location": "/render/moved"}, b""),
    )
    site_server.route(
        "/render/moved",
        lambda _h: (
            203,
            {},
            b"<html><head><title>Moved here</title></head><body>ok</body></html>",
        ),
    )
    site_server.route("/render/hang", _sleeping(10, b"<html><body>too late</body></html>"))
    return site_server


@pytest.fixture(scope="module")
def renderer(harness_factory: Any, pages_site: SiteServer) -> RenderHarness:
    settings = harness_settings(pages_site, SELENIUM_MAX_SCREENSHOT_HEIGHT=MAX_HEIGHT)
    # Exempt a port nobody listens on, for the refused-connection test.
    settings["ALLOW_PRIVATE_ADDRESSES"].append(f"127.0.0.1:{CLOSED_PORT}")
    harness: RenderHarness = harness_factory(settings)
    return harness


@pytest.fixture
def site(pages_site: SiteServer) -> SiteServer:
    pages_site.clear_log()
    return pages_site


def _ok(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["ok"], reply
    return reply


def test_rendered_response_is_html_with_the_page_record(renderer: RenderHarness, site: SiteServer):
    reply = _ok(renderer.render(site.url("/render/plain.html")))
    assert reply["response_class"] == "HtmlResponse"
    assert reply["flags"] == ["rendered"]
    assert reply["status"] == 200
    page = reply["page"]
    assert page["requested_url"] == page["final_url"] == site.url("/render/plain.html")
    assert page["title"] == "Plain page"
    assert "<h1>Plain page</h1>" in page["html"]
    shot = page["screenshot"]
    # the project default, auto: a text page rendered alone is re-encoded to a palette PNG
    assert shot["format"] == "png"
    assert decode_screenshot(page).size == (shot["width"], shot["height"])
    assert Image.open(io.BytesIO(base64.b64decode(shot["data"]))).mode == "P"
    # what drew it, so that a browser upgrade's pixels are not taken for the site's change
    version = subprocess.run(
        [SELENIUM_BROWSER_PATH, "--version"], capture_output=True, text=True, check=True
    ).stdout
    drawn_by = re.fullmatch(r"\S+ (\S+), flags [0-9a-f]{8}", shot["renderer"])
    assert drawn_by is not None, shot["renderer"]
    assert drawn_by.group(1) in version, (shot["renderer"], version)


def test_content_inserted_after_load_is_in_the_html(renderer: RenderHarness, site: SiteServer):
    reply = _ok(renderer.render(site.url("/render/late.html")))
    assert 'id="from-fetch">loaded by fetch</p>' in reply["text"]
    assert "inserted by a timer after load" in reply["text"]


def test_content_that_keeps_changing_within_the_quiet_window_is_all_there(
    renderer: RenderHarness, site: SiteServer
):
    # The settle check set for the end of the quiet window looks again (issue #16).
    reply = _ok(renderer.render(site.url("/render/trickle.html")))
    assert "<li>row 7</li><li>the last row</li></ol>" in reply["text"]


@pytest.mark.parametrize(
    "kind", ["slow-body", "json-timer", "json-frame", "xhr-timer", "image-onload"]
)
def test_content_a_late_callback_inserts_is_in_the_html_and_the_screenshot(
    renderer: RenderHarness, site: SiteServer, kind: str
):
    """The settle waits for the work an answer starts (its body, the timer or frame its
    callback asks for), not only for the answer's headers (issue #16)."""
    reply = _ok(renderer.render(site.url(f"/render/late-kinds.html?kind={kind}")))
    assert f"<div>arrived {kind}</div>" in reply["text"]
    assert _near(decode_screenshot(reply["page"]).getpixel((100, 150)), (220, 120, 30))


def test_lazy_image_far_below_the_fold_is_loaded(renderer: RenderHarness, site: SiteServer):
    reply = _ok(renderer.render(site.url("/render/lazy.html")))
    assert "/render/lazy-target.png" in site.paths()
    image = decode_screenshot(reply["page"])
    # The image is painted (naturalWidth > 0): its blue appears 9,000+ px down.
    column = [image.getpixel((100, y)) for y in range(9000, image.height)]
    assert any(_near(pixel, (30, 120, 200)) for pixel in column)


def test_sections_revealed_by_an_intersection_observer_are_all_revealed(
    renderer: RenderHarness, site: SiteServer
):
    """Every part of the page must come into view once, or an observer without a root margin
    never fires for an element between two scroll positions."""
    reply = _ok(renderer.render(site.url("/render/observed.html")))
    for name in ("one", "two", "three"):
        assert f"revealed {name}" in reply["page"]["html"], name
    image = decode_screenshot(reply["page"])
    for top in (1100, 2900, 4700):
        assert _near(image.getpixel((300, top + 150)), (200, 60, 140)), top


def test_scroll_listeners_see_every_screen_and_an_infinite_feed_is_followed(
    renderer: RenderHarness, site: SiteServer
):
    reply = _ok(renderer.render(site.url("/render/scrolled.html")))
    html = reply["page"]["html"]
    assert "revealed d1" in html
    assert "revealed d2" in html
    # The feed grew three times while the scroll went down; the screenshot holds all of it.
    assert [f"feed page {n}" in html for n in (1, 2, 3)] == [True, True, True]
    shot = reply["page"]["screenshot"]
    assert shot["height"] == shot["page_height"] > 6400 + 3 * 404
    # Without a pause, a loader that looks only every 250 ms, or once scrolling has
    # stopped, misses sections (SELENIUM_SCROLL_PAUSE is for those).
    assert "revealed t2" not in html
    assert "revealed b1" not in html


def test_a_scroll_pause_lets_throttled_and_debounced_loaders_see_every_screen(
    harness_factory: Any, site: SiteServer
):
    harness = harness_factory(harness_settings(site, SELENIUM_SCROLL_PAUSE=0.3))
    html = _ok(harness.render(site.url("/render/scrolled.html")))["page"]["html"]
    for name in ("d1", "d2", "t1", "t2", "b1"):
        assert f"revealed {name}" in html, name


def test_tall_page_screenshot_has_the_document_height(renderer: RenderHarness, site: SiteServer):
    shot = _ok(renderer.render(site.url("/render/bands.html?height=6000")))["page"]["screenshot"]
    image = decode_screenshot({"screenshot": shot})
    assert (shot["height"], shot["page_height"], shot["truncated"]) == (6000, 6000, False)
    assert image.size == (shot["width"], 6000)
    assert _near(image.getpixel((640, 5990)), (0, 0, 0))  # the black bottom band


def test_page_taller_than_one_capture_is_tiled_completely(
    renderer: RenderHarness, site: SiteServer
):
    shot = _ok(renderer.render(site.url("/render/bands.html?height=17000")))["page"]["screenshot"]
    image = decode_screenshot({"screenshot": shot})
    assert image.height == 17000
    assert not shot["truncated"]
    palette = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255)]
    palette.append((128, 128, 128))
    for band in range(16):
        assert _near(image.getpixel((640, band * 1000 + 500)), palette[band % 7]), band
    assert _near(image.getpixel((640, 16500)), (0, 0, 0))  # bottom marker, past 16,384 px


def test_tiles_join_without_a_gap_or_an_overlap_at_their_seams(
    harness_factory: Any, site: SiteServer
):
    """Lossless PNG of a 17,000 px page, stitched from tiles of 5,667, 5,667 and 5,666 px one
    at a time: every row is its band's colour, so the bands change exactly every 1,000 px and
    nowhere else, the tiles' seams (5,667 and 11,334, inside bands) included."""
    harness = harness_factory(harness_settings(site, SELENIUM_SCREENSHOT_FORMAT="png"))
    shot = _ok(harness.render(site.url("/render/bands.html?height=17000")))["page"]["screenshot"]
    assert (shot["format"], shot["height"], shot["truncated"]) == ("png", 17000, False)
    image = decode_screenshot({"screenshot": shot})
    palette = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255)]
    palette.append((128, 128, 128))
    expected = [palette[y // 1000 % 7] if y < 16000 else (0, 0, 0) for y in range(17000)]
    for x in (0, 640, shot["width"] - 1):
        wrong = [y for y in range(17000) if not _near(image.getpixel((x, y)), expected[y], 2)]
        assert not wrong, (x, wrong[:5])


@pytest.mark.parametrize("bands", [8000, 17000])
def test_tall_page_is_captured_whole_as_a_visitor_at_its_top_sees_it(
    renderer: RenderHarness, site: SiteServer, bands: int
):
    """/render/tall.html: a sticky header, a hero of 100vh, a fixed badge and a lazy image in
    every third band. 8,960 px is one capture (up to 9,000 px); 17,960 px is stitched from
    three tiles of 5,987 px. Either way the whole page is there, the header and badge show once
    at the top, the hero keeps the window's height, and every lazy image is loaded and painted."""
    reply = _ok(renderer.render(site.url(f"/render/tall.html?height={bands}")))
    shot = reply["page"]["screenshot"]
    image = decode_screenshot(reply["page"])
    height = 60 + 900 + bands
    assert (shot["height"], shot["page_height"], shot["truncated"]) == (height, height, False)
    assert image.size == (shot["width"], height)
    column = [image.getpixel((400, y)) for y in range(height)]
    edge = [image.getpixel((shot["width"] - 10, y)) for y in range(height)]
    # Where each colour shows down the page (JPEG blurs an edge by a pixel or two).
    assert _span(column, (0, 0, 255)) == pytest.approx((0, 59), abs=2)  # the header, once
    assert _span(column, (255, 0, 0)) == pytest.approx((60, 959), abs=2)  # 100vh = the window
    assert _span(edge, (0, 255, 0)) == pytest.approx((850, 899), abs=2)  # fixed: first screen
    lazy = [band for band in range(bands // 1000) if band % 3 == 2]
    loaded = {path.rpartition("=")[2] for path in site.paths() if "lazy-target.png?band=" in path}
    assert loaded == {str(band) for band in lazy}
    for band in lazy:  # painted where the page has it (the target is blue)
        assert _near(image.getpixel((100, 960 + band * 1000 + 250)), (30, 120, 200)), band
    assert _near(image.getpixel((640, height - 10)), (0, 0, 0))  # the black bottom band


def test_page_taller_than_the_limit_is_cut_and_marked_truncated(
    renderer: RenderHarness, site: SiteServer
):
    shot = _ok(renderer.render(site.url("/render/bands.html?height=25000")))["page"]["screenshot"]
    assert shot["truncated"] is True
    assert shot["page_height"] == 25000
    assert shot["height"] == MAX_HEIGHT
    assert renderer.stats().get("selenium/screenshot_truncated", 0) >= 1


def test_japanese_text_renders_with_real_glyphs(
    renderer: RenderHarness, site: SiteServer, tmp_path: Path
):
    reply = _ok(renderer.render(site.url("/render/japanese.html")))
    assert reply["page"]["title"] == "日本語のページ"
    image = decode_screenshot(reply["page"])
    first = image.crop((0, 0, 900, 120)).convert("L")
    second = image.crop((0, 200, 900, 320)).convert("L")
    # Ink on both lines, and different ink: without a CJK font both would be the same row of
    # identical "tofu" boxes.
    assert ImageStat.Stat(first).extrema[0][0] < 80
    assert ImageStat.Stat(second).extrema[0][0] < 80
    difference = ImageStat.Stat(ImageChops.difference(first, second)).mean[0]
    assert difference > 5, difference
    image.save(tmp_path / "japanese.png")


def test_redirect_records_final_url_and_final_status(renderer: RenderHarness, site: SiteServer):
    reply = _ok(renderer.render(site.url("/render/redirect")))
    assert reply["url"] == site.url("/render/moved")
    assert reply["status"] == 203
    page = reply["page"]
    assert page["requested_url"] == site.url("/render/redirect")
    assert page["final_url"] == site.url("/render/moved")
    assert (page["status"], page["title"]) == (203, "Moved here")


def test_missing_page_has_status_404(renderer: RenderHarness, site: SiteServer):
    reply = _ok(renderer.render(site.url("/render/does-not-exist.html")))
    assert reply["status"] == 404
    assert reply["page"]["status"] == 404


def test_consent_banner_is_hidden_in_the_screenshot(renderer: RenderHarness, site: SiteServer):
    reply = _ok(renderer.render(site.url("/render/consent.html")))
    assert 'id="onetrust-banner-sdk"' in reply["page"]["html"]  # it was on the page
    image = decode_screenshot(reply["page"])
    width, height = image.size
    samples = [image.getpixel((x, y)) for x in range(0, width, 40) for y in range(0, height, 20)]
    assert not [p for p in samples if _near(p, (255, 0, 255)) or _near(p, (0, 255, 0))]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_address_the_settings_do_not_exempt_is_blocked(renderer: RenderHarness, scheme: str):
    # http: the guard proxy's 403 carries its verdict header; https: Chromium only reports a
    # failed tunnel, and the proxy's list of refusals names the target.
    restarts = renderer.stats().get("selenium/browser_restarts", 0)
    reply = renderer.render(f"{scheme}://127.0.0.1:{_closed_port()}/")
    assert not reply["ok"]
    assert (reply["exception"], reply["error_type"]) == ("BlockedAddressError", "blocked_address")
    # A refused page is not a broken browser: it is kept.
    assert renderer.stats().get("selenium/browser_restarts", 0) == restarts


def test_refused_connection_raises_connection_refused(renderer: RenderHarness):
    reply = renderer.render(f"http://127.0.0.1:{CLOSED_PORT}/")
    assert not reply["ok"], reply["status"]
    assert reply["error_type"] == "connection_refused"


def test_hanging_page_times_out_and_later_pages_render(renderer: RenderHarness, site: SiteServer):
    started = time.monotonic()
    reply = renderer.render(site.url("/render/hang"))
    assert not reply["ok"]
    assert (reply["exception"], reply["error_type"]) == ("PageTimeoutError", "timeout")
    assert time.monotonic() - started < 9  # SELENIUM_PAGE_LOAD_TIMEOUT=4, not the 10 s hang
    _ok(renderer.render(site.url("/render/plain.html")))
    stats = renderer.stats()
    assert stats["selenium/render_errors/timeout"] >= 1
    assert stats["selenium/browser_restarts"] >= 1


def test_killed_browser_is_replaced(renderer: RenderHarness, site: SiteServer):
    _ok(renderer.render(site.url("/render/plain.html")))
    (browser,) = renderer.browsers()
    restarts = renderer.stats().get("selenium/browser_restarts", 0)
    chromium = _chromium_main_process(browser)

    def kill_while_loading(_handler: Any) -> tuple[int, dict[str, str], bytes]:
        # The request has reached the site: Chromium is mid-navigation when it dies.
        os.kill(chromium, signal.SIGKILL)
        time.sleep(1)
        return 200, {}, b"<html><body>never shown</body></html>"

    # Chromium dies while rendering a page: that page fails, the next ones render.
    site.route("/render/crash-me", kill_while_loading)
    reply = renderer.render(site.url("/render/crash-me"))
    assert not reply["ok"]
    assert reply["error_type"] == "browser_crash"
    for path in ("/render/plain.html", "/render/late.html"):
        _ok(renderer.render(site.url(path)))
    (replacement,) = renderer.browsers()
    assert replacement["pgid"] != browser["pgid"]
    assert renderer.stats()["selenium/browser_restarts"] == restarts + 1


def _span(pixels: list[Any], colour: tuple[int, int, int]) -> tuple[int, int]:
    """First and last row of ``colour`` in a column of pixels; it must show in one run."""
    rows = [y for y, pixel in enumerate(pixels) if _near(pixel, colour)]
    assert rows, colour
    assert rows[-1] - rows[0] + 1 - len(rows) <= 4, (colour, rows[0], rows[-1], len(rows))
    return rows[0], rows[-1]


def _near(pixel: Any, colour: tuple[int, int, int], tolerance: int = 24) -> bool:
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel, colour, strict=False))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CLOSED_PORT = _closed_port()


def _chromium_main_process(browser: dict[str, Any]) -> int:
    """The browser process: chromedriver's (the group leader's) child named chromium."""
    for pid in browser["pids"]:
        stat = Path(f"/proc/{pid}/stat").read_text()
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == browser["pgid"] and name.startswith("chrom") and pid != browser["pgid"]:
            return int(pid)
    raise AssertionError(f"no chromium under chromedriver in {browser}")
