"""Issue 2's browser test: real headless Chromium, all its traffic through the GuardProxy,
loads a page of the exempted site that embeds an iframe, an image and a fetch() from a
loopback port that is not exempted (the "internal service", solid red, with a secret text).
That port receives no request; its text is in neither the HTML nor the screenshot, and its
red is nowhere in the screenshot. The same embeds from the exempted site (solid green)
render, which shows the test would see a leak."""

from __future__ import annotations

import io
import time
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.crawler.netguard.conftest import (
    CONTROL_GREEN,
    CONTROL_TEXT,
    SECRET_RED,
    SECRET_TEXT,
    UdpListener,
    pixels_near,
    webrtc_page,
)

if TYPE_CHECKING:
    from selenium import webdriver

    from crawler.netguard.proxy import GuardProxy
    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration


def fetches_done(driver: webdriver.Chrome) -> bool:
    shown = [driver.find_element(By.ID, i).text for i in ("control-fetch", "secret-fetch")]
    return all(text != "pending" for text in shown)


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


def test_webrtc_sends_nothing_around_the_proxy(
    browser: webdriver.Chrome, exempt_site: SiteServer, udp_listener: UdpListener
) -> None:
    """STUN over UDP would reach any address directly; CHROMIUM_PREFS keeps WebRTC proxied."""
    browser.get(webrtc_page(exempt_site, udp_listener.port))
    WebDriverWait(browser, 15).until(lambda d: "done" in d.title or udp_listener.datagrams)
    time.sleep(0.5)  # a leak's first datagram may trail the end of gathering
    assert udp_listener.datagrams == 0
    assert "srflx" not in browser.title
