"""Issue 2's browser test: real headless Chromium, all its traffic through the GuardProxy,
loads a page of the exempted site that embeds an iframe, an image and a fetch() from a
loopback port that is not exempted (the "internal service", solid red, with a secret text).
That port receives no request; its text is in neither the HTML nor the screenshot, and its
red is nowhere in the screenshot. The same embeds from the exempted site (solid green)
render, which shows the test would see a leak."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, cast

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.netguard.conftest import CONTROL_TEXT, GUARD_ROOT, SECRET_TEXT

if TYPE_CHECKING:
    from selenium import webdriver

    from crawler.guard_proxy import GuardProxy
    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration

SECRET_RED = (255, 0, 0)
CONTROL_GREEN = (0, 192, 0)


def pixels_near(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels of ``image`` are within ``tolerance`` of ``colour`` on every channel."""
    rgb = image.convert("RGB")
    # an RGB image's colours are (count, (r, g, b)) pairs
    histogram = cast(
        "list[tuple[int, tuple[int, int, int]]]",
        rgb.getcolors(maxcolors=rgb.width * rgb.height) or [],
    )
    return sum(
        count
        for count, pixel in histogram
        if all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))
    )


def fetches_done(driver: webdriver.Chrome) -> bool:
    shown = [driver.find_element(By.ID, i).text for i in ("control-fetch", "secret-fetch")]
    return all(text != "pending" for text in shown)


@pytest.fixture
def guarded_page(exempt_site: SiteServer, secret: SiteServer) -> str:
    """The embedding page, served by the exempted site, pointing at the secret server."""
    html = (GUARD_ROOT / "page.html").read_text().replace("SECRET_ORIGIN", secret.url(""))
    exempt_site.route("/guarded.html", lambda _h: (200, {}, html.encode()))
    return exempt_site.url("/guarded.html")


def test_subresources_on_a_non_exempted_loopback_port_never_load(
    browser: webdriver.Chrome,
    browser_proxy: GuardProxy,
    guarded_page: str,
    exempt_site: SiteServer,
    secret: SiteServer,
) -> None:
    exempt_site.clear_log()
    browser.get(guarded_page)
    WebDriverWait(browser, 15).until(
        lambda d: (
            "pending"
            not in (
                d.find_element(By.ID, "control-fetch").text
                + d.find_element(By.ID, "secret-fetch").text
            )
        )
    )
    html = browser.page_source
    screenshot = Image.open(io.BytesIO(browser.get_screenshot_as_png()))

    # The exempted site was reached through the guard, embeds and fetch included ...
    assert {"/guarded.html", "/control.html", "/control.svg", "/control.txt"} <= set(
        exempt_site.paths()
    )
    assert CONTROL_TEXT in html
    assert pixels_near(screenshot, CONTROL_GREEN) > 2 * 300 * 200 * 0.9
    # ... the other loopback port never was, and nothing of it shows.
    assert secret.requests() == []
    assert SECRET_TEXT not in html
    assert browser.find_element(By.ID, "secret-fetch").text.startswith("failed:")
    assert pixels_near(screenshot, SECRET_RED) == 0
    blocked_ports = {(b.host, b.port) for b in browser_proxy.blocked}
    assert ("127.0.0.1", secret.port) in blocked_ports

    # The frame shows the guard's refusal, not the service.
    browser.switch_to.frame(browser.find_element(By.ID, "secret-frame"))
    try:
        frame_text = browser.find_element(By.TAG_NAME, "body").text
    finally:
        browser.switch_to.default_content()
    assert SECRET_TEXT not in frame_text
    assert "private-address guard" in frame_text


def test_a_navigation_to_a_non_exempted_port_is_refused(
    browser: webdriver.Chrome, secret: SiteServer
) -> None:
    """What the browser sees when a redirect or a link leads to the internal service."""
    browser.get(secret.url("/secret.html"))
    assert SECRET_TEXT not in browser.page_source
    assert "ALLOW_PRIVATE_ADDRESSES" in browser.find_element(By.TAG_NAME, "body").text
    assert secret.requests() == []
