"""The guard end to end in a rendered crawl: ``scrapy crawl competitors`` with the Selenium
handler (the project's default) on a page of the exempted site that embeds an iframe, an
image and a fetch() from a non-exempted loopback port. The stored record holds the page and
its screenshot, with nothing of that port; the port receives no request. A start URL whose
redirect leads there is recorded as ``blocked_address``."""

from __future__ import annotations

import base64
import io
import time
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from selenium.webdriver.support.ui import WebDriverWait

from crawler.browser.config import SeleniumConfig
from crawler.browser.session import BrowserSession
from crawler.netguard.policy import AddressPolicy
from crawler.netguard.proxy import GuardProxy
from tests.integration.crawler.netguard.conftest import (
    CONTROL_GREEN,
    CONTROL_TEXT,
    SECRET_RED,
    SECRET_TEXT,
    UdpListener,
    pixels_near,
    webrtc_page,
)
from tests.integration.crawler.netguard.test_crawl_guard import crawl, stored_records
from tests.project_settings import project_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration


def test_a_rendered_crawl_stores_nothing_of_a_non_exempted_port(
    s3: S3Client, bucket: str, exempt_site: SiteServer, secret: SiteServer, guarded_page: str
) -> None:
    exempt_site.route(
        "/to-secret", lambda _h: (302, {"Location": secret.url("/secret.html")}, b"")
    )
    redirected = exempt_site.url("/to-secret")

    result = crawl(
        [guarded_page, redirected],
        "-s",
        f"ALLOW_PRIVATE_ADDRESSES={exempt_site.netloc}",
        "-s",
        "SELENIUM_POOL_SIZE=1",
        timeout=180,
    )

    records = stored_records(s3, bucket)
    assert set(records) == {guarded_page, redirected}, result.stderr[-3000:]
    page = records[guarded_page]
    assert page["error"] is None, page["error"]
    assert CONTROL_TEXT in page["body"]  # the page's own fetch went through the guard
    assert SECRET_TEXT not in page["body"]
    shot = Image.open(io.BytesIO(base64.b64decode(page["screenshot"]["data"])))
    assert pixels_near(shot, CONTROL_GREEN) > 300 * 200
    assert pixels_near(shot, SECRET_RED) == 0

    refused = records[redirected]
    assert refused["error"]["type"] == "blocked_address", refused["error"]
    assert SECRET_TEXT not in (refused["body"] or "")
    assert secret.requests() == []


def test_the_crawlers_browser_sends_no_webrtc_datagram_around_the_guard(
    exempt_site: SiteServer, udp_listener: UdpListener
) -> None:
    """The browser exactly as the crawl starts it (crawler.browser.session): WebRTC's STUN
    datagrams would reach any address around the proxy without the guard's CHROMIUM_PREFS."""
    settings = project_settings()
    with GuardProxy(AddressPolicy.from_entries([exempt_site.netloc])) as guard:
        config = SeleniumConfig.from_settings(settings).with_proxy(guard.address)
        session = BrowserSession.start(config)
        try:
            session.driver.get(webrtc_page(exempt_site, udp_listener.port))
            WebDriverWait(session.driver, 15).until(
                lambda d: "done" in d.title or udp_listener.datagrams
            )
            time.sleep(0.5)
        finally:
            session.quit()
    assert udp_listener.datagrams == 0
