"""``ignore_selectors`` end to end in real Chromium: the render records the boxes of the
matching elements right before the screenshot, and with them an ad that rotates between two
captures is no change — no region in the visual diff, no line in the text diff — while the
same captures compared without the rules do differ (so these tests can fail)."""

from __future__ import annotations

import base64
import io
import itertools
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image, ImageColor

from analyzer_lambda.analyzers.gemini.text import reduce_html
from analyzer_lambda.changes.ignored import without_selectors
from analyzer_lambda.changes.text_diff import diff_text
from analyzer_lambda.changes.visual_diff import diff_screenshots
from tests.integration.crawler.browser.conftest import harness_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.crawler.browser.conftest import RenderHarness
    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration

ADS = [("Buy shoes at Zappo, 20% off", "#c0392b"), ("Fly to Lisbon from 39 euros", "#2471a3")]
TICKERS = ["3 people are looking at this plan", "17 people are looking at this plan"]
SELECTORS = [".ad", "#ticker"]


def _page(number: int) -> bytes:
    ad, colour = ADS[number % 2]
    plans = [
        f'<section style="height: 400px; border: 1px solid #999; margin: 20px">'
        f"<h2>Plan {i}</h2><p>${19 * i} a month</p></section>"
        for i in range(1, 5)
    ]
    return (
        "<!doctype html><html><body style='margin: 0; font: 20px sans-serif'>"
        "<h1 style='margin: 0; height: 100px'>Acme pricing</h1>"
        f"{''.join(plans[:2])}"
        f'<div class="ad" style="width: 728px; height: 90px; margin-left: 40px; '
        f'background: {colour}; color: #fff">{ad}</div>'
        f"{''.join(plans[2:])}"
        f'<div id="ticker" style="position: fixed; bottom: 0; left: 0; width: 400px; '
        f'height: 30px; background: #333; color: #fff">{TICKERS[number % 2]}</div>'
        "</body></html>"
    ).encode()


def _near(pixel: Any, colour: str, tolerance: int = 40) -> bool:
    wanted = ImageColor.getrgb(colour)
    return all(abs(int(a) - int(b)) <= tolerance for a, b in zip(pixel, wanted, strict=False))


def _rotating() -> Callable[[Any], tuple[int, dict[str, str], bytes]]:
    counter = itertools.count()

    def route(_handler: Any) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "text/html; charset=utf-8"}, _page(next(counter))

    return route


@pytest.fixture(scope="module")
def renderer(harness_factory: Any, site_server: SiteServer) -> RenderHarness:
    harness: RenderHarness = harness_factory(harness_settings(site_server))
    return harness


def _capture(renderer: RenderHarness, url: str) -> dict[str, Any]:
    reply = renderer.render(url, selenium_ignore_selectors=SELECTORS)
    assert reply["ok"], reply
    page: dict[str, Any] = reply["page"]
    assert reply["record"]["ignored_boxes"] == [list(box) for box in page["ignored_boxes"]]
    return page


def test_a_rotating_ad_and_a_fixed_ticker_are_masked_out_of_both_diffs(
    renderer: RenderHarness, site_server: SiteServer
) -> None:
    site_server.route("/ignored/rotating", _rotating())
    url = site_server.url("/ignored/rotating")
    before, after = _capture(renderer, url), _capture(renderer, url)
    assert before["html"] != after["html"]  # the ad did rotate

    boxes = [tuple(box) for box in after["ignored_boxes"]]
    old = base64.b64decode(before["screenshot"]["data"])
    new = base64.b64decode(after["screenshot"]["data"])
    shot = Image.open(io.BytesIO(new)).convert("RGB")
    # the ad's box is where the screenshot shows the ad (its corner, clear of its text)
    (ad,) = [box for box in boxes if box[2:] == (728, 90)]
    assert ad[0] == 40
    assert ad[1] > 900
    assert _near(shot.getpixel((ad[0] + 720, ad[1] + 85)), ADS[1][1])
    # the fixed ticker: one of its two boxes is where the full-page capture painted it
    tickers = [box for box in boxes if box[2:] == (400, 30)]
    assert any(_near(shot.getpixel((x + 395, y + 27)), "#333333") for x, y, _w, _h in tickers)

    unmasked = diff_screenshots(old, new)
    assert unmasked.regions  # without the boxes the ad and the ticker are changes
    masked = diff_screenshots(old, new, tuple(map(tuple, before["ignored_boxes"])), boxes)
    assert masked.regions == ()
    assert masked.changed_fraction == 0.0

    def text(page: dict[str, Any], selectors: list[str]) -> str:
        return reduce_html(without_selectors(page["html"], selectors), 8000).text

    assert diff_text(text(before, []), text(after, [])).changed
    masked_text = diff_text(text(before, SELECTORS), text(after, SELECTORS))
    assert masked_text.added == masked_text.removed == ()


def test_no_rule_no_measure_and_a_selector_without_match_no_box(
    renderer: RenderHarness, site_server: SiteServer
) -> None:
    site_server.route("/ignored/plain", _rotating())
    url = site_server.url("/ignored/plain")
    plain = renderer.render(url)
    assert plain["ok"]
    assert plain["page"]["ignored_boxes"] == []
    unmatched = renderer.render(url, selenium_ignore_selectors=["#no-such-element", "p:bad("])
    assert unmatched["ok"]
    assert unmatched["page"]["ignored_boxes"] == []
