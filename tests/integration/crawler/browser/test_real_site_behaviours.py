"""What real sites do, rendered by real Chromium through the real download handler (issue #11,
"What the crawl stores"): dialogs, pop-ups, navigation by script and meta refresh, redirect
loops, answers that are no page (PDF, images, CSV downloads, 204), legacy Japanese encodings,
shadow DOM and a several-megabyte page.

Each test checks what the crawl stores (``record``: the page record the spider builds from the
handler's answer): every URL gets a record of its own, never another page's body, and
``final_url``, body and screenshot belong to one document. Pages that need headers, statuses
or generated bodies are routes of the loopback site; the others are files under
``tests/data/site/render/``."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image, ImageChops, ImageStat

from analyzer_lambda.analyzers.gemini.text import main_text
from tests.integration.crawler.browser.conftest import (
    RenderHarness,
    decode_screenshot,
    harness_settings,
)
from tests.integration.crawler.browser.real_pages import big_page, pdf
from tests.servers.site import SITE_ROOT

if TYPE_CHECKING:
    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration

FULL_CHROMIUM = "/usr/bin/chromium"
# A unique name, so a test can tell that no browser wrote this file anywhere.
DOWNLOAD_NAME = f"rivalscope-test-{uuid.uuid4().hex[:8]}"


PNG = (SITE_ROOT / "render" / "lazy-target.png").read_bytes()
CSV = b"plan,price\nStarter,9\nPro,49\n"
ATTACHMENT = {"Content-Disposition": f'attachment; filename="{DOWNLOAD_NAME}.csv"'}

# path → (status, headers, body, what the record's error message names)
NOT_PAGES: dict[str, tuple[int, dict[str, str], bytes, str]] = {
    "/real/price-list.pdf": (200, {"Content-Type": "application/pdf"}, pdf(), "application/pdf"),
    "/real/prices.csv": (200, {"Content-Type": "text/csv", **ATTACHMENT}, CSV, "attachment"),
    "/real/inline.csv": (200, {"Content-Type": "text/csv"}, CSV, "text/csv"),
    "/real/export.html": (200, ATTACHMENT, b"<h1>An HTML download</h1>", "attachment"),
    "/real/logo.png": (200, {"Content-Type": "image/png"}, PNG, "image/png"),
    "/real/api.json": (200, {"Content-Type": "application/json"}, b'{"a": 1}', "json"),
    "/real/no-content": (204, {}, b"", "204"),
}

JAPANESE = (
    "<html><head>{meta}<title>料金プランのご案内</title></head><body>"
    "<h1>料金プランのご案内</h1><p>スタータープランは月額九百八十円（税込）です。"
    "チームでのご利用には、プロプランをお選びください。お問い合わせは営業部まで。</p>"
    "<p>全角の記号も正しく表示されます：「」『』・ー{extra}</p></body></html>"
)
# Sites that say Shift_JIS send Windows-31J (cp932), as browsers read that label (WHATWG
# Encoding): its NEC and IBM extensions (circled numbers, the full-width tilde) must survive.
EXTRA = {"shift_jis": "①②③～", "euc_jp": ""}
CODEC = {"shift_jis": "cp932", "euc_jp": "euc_jp"}
JAPANESE_TEXT = "スタータープランは月額九百八十円（税込）です。"


def _fixed(status: int, headers: dict[str, str], body: bytes) -> Any:
    return lambda _handler: (status, headers, body)


def _html(body: str, status: int = 200) -> Any:
    return _fixed(status, {}, body.encode())


def _navigating(script: str, title: str = "First page") -> Any:
    return _html(
        f"<html><head><title>{title}</title>{script}</head>"
        "<body><h1>The first page</h1></body></html>"
    )


BIG_PAGE = big_page()


@pytest.fixture(scope="module")
def real_site(site_server: SiteServer) -> SiteServer:
    site = site_server
    for path, (status, headers, body, _) in NOT_PAGES.items():
        site.route(path, _fixed(status, headers, body))
    landed = "<html><head><title>Landed</title></head><body><h1>Where it ends</h1></body></html>"
    site.route("/real/landed", _html(landed, status=203))
    for delay in (0, 50, 300, 800):
        site.route(
            f"/real/timer-{delay}",
            _navigating(
                "<script>addEventListener('load', () => setTimeout(() => "
                f"{{ location.href = '/real/landed'; }}, {delay}));</script>"
            ),
        )
    site.route(
        "/real/timer-late",
        _navigating(
            "<script>addEventListener('load', () => setTimeout(() => "
            "{ location.href = '/real/landed'; }, 10000));</script>"
        ),
    )
    for seconds in ("0", "1"):
        site.route(
            f"/real/refresh-{seconds}",
            _navigating(f'<meta http-equiv="refresh" content="{seconds}; url=/real/landed">'),
        )
    refresh_header = {"Refresh": "1; url=/real/landed"}
    site.route("/real/refresh-header", _fixed(200, refresh_header, b"<title>First page</title>"))
    site.route(
        "/real/refresh-late",
        _navigating('<meta http-equiv="refresh" content="10; url=/real/landed">'),
    )
    site.route(
        "/real/refresh-forever",
        _navigating('<meta http-equiv="refresh" content="0; url=/real/refresh-forever">'),
    )
    site.route("/real/loop", _fixed(302, {"Location": "/real/loop"}, b""))
    site.route("/real/loop-a", _fixed(302, {"Location": "/real/loop-b"}, b""))
    site.route("/real/loop-b", _fixed(301, {"Location": "/real/loop-a"}, b""))
    framed = (
        "<html><head><title>Framed dialogs</title></head><body><h1>Outer page</h1>"
        f'<iframe src="http://localhost:{site.port}/render/dialogs.html"></iframe></body></html>'
    )
    site.route("/real/framed-dialogs", _html(framed))
    for encoding in ("shift_jis", "euc_jp"):
        label = encoding.replace("_", "-")
        extra, codec = EXTRA[encoding], CODEC[encoding]
        undeclared = JAPANESE.format(meta="", extra=extra).encode(codec)
        declared = JAPANESE.format(meta=f'<meta charset="{label}">', extra=extra).encode(codec)
        header = {"Content-Type": f"text/html; charset={label}"}
        bare = {"Content-Type": "text/html"}
        site.route(f"/real/{encoding}/header", _fixed(200, header, undeclared))
        site.route(f"/real/{encoding}/meta", _fixed(200, bare, declared))
        site.route(f"/real/{encoding}/undeclared", _fixed(200, bare, undeclared))
    for encoding, extra in EXTRA.items():
        utf8 = JAPANESE.format(meta='<meta charset="utf-8">', extra=extra)
        site.route(f"/real/{encoding}/utf-8", _html(utf8))
    site.route("/real/big", _fixed(200, {}, BIG_PAGE))
    return site


@pytest.fixture(scope="module")
def renderer(harness_factory: Any, real_site: SiteServer) -> RenderHarness:
    harness: RenderHarness = harness_factory(harness_settings(real_site))
    return harness


@pytest.fixture(scope="module")
def full_renderer(harness_factory: Any, real_site: SiteServer) -> RenderHarness:
    """The full Chromium (``SELENIUM_BROWSER_PATH=/usr/bin/chromium``): a PDF viewer and a
    pop-up blocker of its own, where the headless shell has neither."""
    if not Path(FULL_CHROMIUM).is_file():
        pytest.skip("needs Debian's chromium")
    settings = harness_settings(real_site, SELENIUM_BROWSER_PATH=FULL_CHROMIUM)
    harness: RenderHarness = harness_factory(settings)
    return harness


@pytest.fixture(params=["headless-shell", "chromium"])
def any_renderer(request: pytest.FixtureRequest) -> RenderHarness:
    name = "renderer" if request.param == "headless-shell" else "full_renderer"
    harness: RenderHarness = request.getfixturevalue(name)
    return harness


@pytest.fixture
def site(real_site: SiteServer) -> SiteServer:
    real_site.clear_log()
    return real_site


def _stored(reply: dict[str, Any]) -> dict[str, Any]:
    """The record of a page that rendered (``ok``), as the crawl stores it."""
    assert reply["ok"], reply
    record: dict[str, Any] = reply["record"]
    return record


def _page(harness: RenderHarness, site: SiteServer, path: str) -> dict[str, Any]:
    record = _stored(harness.render(site.url(path)))
    assert record["error"] is None, record
    assert record["final_url"] == site.url(path)
    return record


def _restarts(harness: RenderHarness) -> int:
    return int(harness.stats().get("selenium/browser_restarts", 0))


# --- Answers that are no page -----------------------------------------------------------------


@pytest.mark.parametrize("path", list(NOT_PAGES))
def test_an_answer_that_is_no_page_gets_a_record_of_its_own(
    any_renderer: RenderHarness, site: SiteServer, path: str
):
    """Right after another page, as a user's URL list has it: the PDF or download must not be
    stored with the previous page's body and final_url, and the next page must be right."""
    restarts = _restarts(any_renderer)
    before = _page(any_renderer, site, "/render/plain.html")
    assert before["title"] == "Plain page"
    record = _stored(any_renderer.render(site.url(path)))
    status, _, _, named = NOT_PAGES[path]
    assert record["url"] == record["final_url"] == site.url(path)
    assert record["status"] == status
    assert (record["body"], record["title"], record["screenshot"]) == ("", None, None)
    assert record["error"]["type"] == "not_a_page"
    assert named in record["error"]["message"]
    after = _page(any_renderer, site, "/render/late.html")
    assert after["title"] == "Late content"
    assert "inserted by a timer after load" in after["body"]
    assert _restarts(any_renderer) == restarts  # no browser was left stuck and replaced


def test_downloads_are_refused_not_written_anywhere(any_renderer: RenderHarness, site: SiteServer):
    for path in ("/real/prices.csv", "/real/export.html"):
        assert _stored(any_renderer.render(site.url(path)))["error"]["type"] == "not_a_page"
    (browser,) = any_renderer.browsers()
    places = [Path.home() / "Downloads", Path(browser["profile"])]  # Chromium's default, ours
    written = [p for place in places if place.is_dir() for p in place.rglob(f"{DOWNLOAD_NAME}*")]
    assert written == []


def test_plain_text_is_a_page(renderer: RenderHarness, site: SiteServer):
    site.route("/real/terms.txt", _fixed(200, {"Content-Type": "text/plain"}, b"Terms: 30 days"))
    record = _page(renderer, site, "/real/terms.txt")
    assert "Terms: 30 days" in record["body"]
    assert record["screenshot"] is not None


# --- Dialogs and pop-ups ----------------------------------------------------------------------


def test_dialogs_on_load_and_on_leaving_neither_hang_nor_break_the_browser(
    renderer: RenderHarness, site: SiteServer
):
    restarts = _restarts(renderer)
    record = _page(renderer, site, "/render/dialogs.html")
    # The page went on past every dialog, answered as a person clicking it away would.
    assert "parsed; confirm=false; prompt=null; late alert passed;" in record["body"]
    assert record["screenshot"] is not None
    # Leaving it ("leave this page?", alerts on pagehide/unload) does not hold the next page.
    assert _page(renderer, site, "/render/plain.html")["title"] == "Plain page"
    # A cross-site frame's dialogs, where the page's own script does not reach.
    framed = _page(renderer, site, "/real/framed-dialogs")
    assert framed["title"] == "Framed dialogs"
    assert _page(renderer, site, "/render/late.html")["title"] == "Late content"
    assert _restarts(renderer) == restarts


def test_pop_ups_neither_become_the_record_nor_pile_up_windows(
    any_renderer: RenderHarness, site: SiteServer
):
    record = _page(any_renderer, site, "/render/popups.html")
    assert record["title"] == "The page asked for"
    assert "open during parse gave null; open on load gave null; link clicked;" in record["body"]
    assert _page(any_renderer, site, "/render/plain.html")["title"] == "Plain page"
    assert [browser["windows"] for browser in any_renderer.browsers()] == [1]
    # No pop-up loaded anything from the site behind the crawl's back.
    assert not [path for path in site.paths() if "popup=" in path]


def test_a_window_that_got_past_the_blockers_is_closed_before_the_next_page(
    any_renderer: RenderHarness, site: SiteServer
):
    _page(any_renderer, site, "/render/plain.html")
    assert any_renderer.open_window(site.url("/render/late.html")) == 1
    assert [browser["windows"] for browser in any_renderer.browsers()] == [2]
    record = _page(any_renderer, site, "/render/popups.html")
    assert record["title"] == "The page asked for"
    assert [browser["windows"] for browser in any_renderer.browsers()] == [1]


# --- Navigation by script and by meta refresh -------------------------------------------------


SOON = ["/real/timer-0", "/real/timer-50", "/real/timer-300", "/real/timer-800"]


@pytest.mark.parametrize(
    "path", [*SOON, "/real/refresh-0", "/real/refresh-1", "/real/refresh-header"]
)
def test_a_page_that_moves_on_within_a_second_is_stored_where_it_lands(
    renderer: RenderHarness, site: SiteServer, path: str
):
    """Twice each: the 300 ms case timed out in one of two runs before."""
    for _ in range(2):
        record = _stored(renderer.render(site.url(path)))
        assert record["error"] is None, record
        assert record["url"] == site.url(path)
        assert record["final_url"] == site.url("/real/landed")
        assert (record["status"], record["title"]) == (203, "Landed")
        assert "Where it ends" in record["body"]
        assert "The first page" not in record["body"]
        assert record["screenshot"] is not None


@pytest.mark.parametrize("path", ["/real/timer-late", "/real/refresh-late"])
def test_a_page_that_moves_on_after_the_settle_is_stored_as_it_first_was(
    renderer: RenderHarness, site: SiteServer, path: str
):
    record = _page(renderer, site, path)
    assert (record["status"], record["title"]) == (200, "First page")
    assert "The first page" in record["body"]
    # The browser is not left on a page that will move away under the next one.
    assert _page(renderer, site, "/render/plain.html")["title"] == "Plain page"


def test_a_page_that_never_stops_refreshing_is_a_redirect_loop(
    renderer: RenderHarness, site: SiteServer
):
    reply = renderer.render(site.url("/real/refresh-forever"))
    assert not reply["ok"]
    assert reply["record"]["error"]["type"] == "redirect_loop", reply
    # The loop is stopped, not left refreshing (0 s apart) in the idle browser: after the last
    # request in flight has arrived, the site hears nothing more from it.
    time.sleep(1)
    site.clear_log()
    time.sleep(1)
    assert site.paths() == []
    assert _page(renderer, site, "/render/plain.html")["title"] == "Plain page"


@pytest.mark.parametrize("path", ["/real/loop", "/real/loop-a"])
def test_a_redirect_loop_is_an_error_record_at_once(
    renderer: RenderHarness, site: SiteServer, path: str
):
    reply = renderer.render(site.url(path))
    assert not reply["ok"]
    record = reply["record"]
    assert record["error"]["type"] == "redirect_loop"
    assert (record["final_url"], record["body"]) == (None, "")
    # Chromium gives up after 20 redirects; no timeout was waited for.
    assert len([p for p in site.paths() if p.startswith("/real/loop")]) <= 21
    assert renderer.stats().get("selenium/render_errors/timeout", 0) == 0
    assert _page(renderer, site, "/render/plain.html")["title"] == "Plain page"


# --- Legacy encodings, shadow DOM, big pages --------------------------------------------------


@pytest.fixture(scope="module")
def utf8_references(renderer: RenderHarness, real_site: SiteServer) -> dict[str, Image.Image]:
    """Screenshots of the same Japanese pages served in UTF-8."""
    references = {}
    for encoding in EXTRA:
        reply = renderer.render(real_site.url(f"/real/{encoding}/utf-8"))
        assert reply["ok"], reply
        references[encoding] = decode_screenshot(reply["page"])
    return references


@pytest.mark.parametrize("encoding", list(EXTRA))
@pytest.mark.parametrize("declared", ["header", "meta", "undeclared"])
def test_japanese_legacy_encodings_are_stored_as_unicode_and_drawn_without_mojibake(
    renderer: RenderHarness,
    site: SiteServer,
    utf8_references: dict[str, Image.Image],
    encoding: str,
    declared: str,
):
    reply = renderer.render(site.url(f"/real/{encoding}/{declared}"))
    record = _stored(reply)
    assert record["title"] == "料金プランのご案内"
    assert JAPANESE_TEXT in record["body"]
    assert f"全角の記号も正しく表示されます：「」『』・ー{EXTRA[encoding]}</p>" in record["body"]
    assert JAPANESE_TEXT in main_text(record["body"])
    # Drawn exactly as the same text served in UTF-8: mojibake or tofu would differ.
    shot = decode_screenshot(reply["page"])
    reference = utf8_references[encoding]
    assert shot.size == reference.size
    difference = ImageChops.difference(shot, reference).convert("L")
    assert ImageStat.Stat(difference).mean[0] < 1


SHADOW_TEXTS = (
    "Declared plan: Starter 9 EUR",
    "Serializable plan: Team 29 EUR",
    "Pro plan: 49 EUR per month",
    "light DOM note: billed yearly",
    "Nested feature: unlimited seats",
    "Closed offer: Enterprise on request",
)


def test_text_in_shadow_roots_is_stored_and_reaches_the_analyser(
    renderer: RenderHarness, site: SiteServer
):
    record = _page(renderer, site, "/render/shadow.html")
    text = main_text(record["body"])
    for expected in SHADOW_TEXTS:
        assert expected in record["body"], expected
        assert expected in text, expected
    # Serialised as declarative shadow DOM, which a browser reading the body rebuilds.
    assert '<template shadowrootmode="open"' in record["body"]
    assert '<template shadowrootmode="closed"' in record["body"]


@pytest.fixture(scope="module")
def production_renderer(harness_factory: Any, real_site: SiteServer) -> RenderHarness:
    """The project's own timeouts (SELENIUM_PAGE_LOAD_TIMEOUT 30 s, DOWNLOAD_TIMEOUT 60 s),
    not the short ones the other tests use: a big page is allowed what it is allowed in a
    crawl, and no more."""
    settings = harness_settings(real_site)
    for name in ("SELENIUM_PAGE_LOAD_TIMEOUT", "SELENIUM_SETTLE_TIMEOUT"):
        del settings[name]
    harness: RenderHarness = harness_factory(settings)
    return harness


def test_a_page_of_several_megabytes_is_stored_whole(
    production_renderer: RenderHarness, site: SiteServer
):
    assert len(BIG_PAGE) > 6_000_000
    reply = production_renderer.render(site.url("/real/big"))
    record = _stored(reply)
    assert record["error"] is None
    assert record["title"] == "Big catalogue"
    body = record["body"]
    assert len(body) >= len(BIG_PAGE)
    assert "<h3>Product 2999</h3>" in body
    assert "End of catalogue" in body
    assert '"name": "Product 2999"' in body  # the inline state, whole
    assert "Product 2999" in main_text(body)
    shot = record["screenshot"]
    assert shot["truncated"] is True  # cut at SELENIUM_MAX_SCREENSHOT_HEIGHT
    assert shot["height"] == 30000
    assert _page(production_renderer, site, "/render/plain.html")["title"] == "Plain page"


def test_a_page_cut_at_the_limit_has_every_tile_in_its_place(
    renderer: RenderHarness, site: SiteServer
):
    """Past the limit the tiles are captured in a tile-high viewport (screenshot.py): the
    bands must still be where the page has them."""
    reply = renderer.render(site.url("/render/bands.html?height=40000"))
    assert _stored(reply)["screenshot"]["truncated"] is True
    image = decode_screenshot(reply["page"])
    assert image.height == 30000
    palette = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255)]
    palette.append((128, 128, 128))
    for band in range(30):
        pixel: Any = image.getpixel((640, band * 1000 + 500))
        colour = palette[band % 7]
        assert all(abs(int(a) - b) <= 24 for a, b in zip(pixel, colour, strict=True)), band
