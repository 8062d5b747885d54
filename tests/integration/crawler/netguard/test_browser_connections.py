"""Every kind of connection the crawler's browser opens goes through the guard and is vetted
on its own (issue #16): a redirect of the page to the internal service, an iframe, an image, a
fetch() and a WebSocket to it, a name that resolves to it, and an https URL on its port. Real
headless Chromium, real sockets on loopback; the internal service must see no request, and
every refusal is counted."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.crawler.netguard.conftest import SECRET_TEXT

if TYPE_CHECKING:
    from selenium import webdriver

    from crawler.netguard.proxy import GuardProxy
    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration


def body_text(browser: webdriver.Chrome) -> str:
    return str(browser.find_element(By.TAG_NAME, "body").text)


def assert_refused_page(
    browser: webdriver.Chrome, proxy: GuardProxy, secret: SiteServer, before: int, host: str
) -> None:
    """The tab shows the guard's refusal, not the service; the service saw nothing; the
    refusal of ``host`` on the service's port is counted."""
    assert SECRET_TEXT not in browser.page_source
    assert "ALLOW_PRIVATE_ADDRESSES" in body_text(browser)
    assert secret.requests() == []
    assert proxy.blocked_count > before
    assert (host, secret.port) in {(b.host, b.port) for b in proxy.blocked}


def test_a_redirect_to_the_internal_service_is_refused_and_counted(
    browser: webdriver.Chrome,
    browser_proxy: GuardProxy,
    exempt_site: SiteServer,
    secret: SiteServer,
) -> None:
    target = secret.url("/secret.html")
    exempt_site.route("/to-secret", lambda _h: (302, {"Location": target}, b""))
    before = browser_proxy.blocked_count
    browser.get(exempt_site.url("/to-secret"))
    assert_refused_page(browser, browser_proxy, secret, before, "127.0.0.1")


def test_a_name_that_resolves_to_the_internal_service_is_refused(
    browser: webdriver.Chrome, browser_proxy: GuardProxy, secret: SiteServer
) -> None:
    """Chromium leaves ``localhost`` to the proxy unresolved; the guard's own lookup says
    where it leads."""
    before = browser_proxy.blocked_count
    browser.get(f"http://localhost:{secret.port}/secret.html")
    assert_refused_page(browser, browser_proxy, secret, before, "localhost")


def test_an_https_url_on_the_internal_services_port_is_refused(
    browser: webdriver.Chrome, browser_proxy: GuardProxy, secret: SiteServer
) -> None:
    """The tunnel is refused before any connection to the port; chromedriver's ``get`` may
    raise on that network error (the render flow reads it from the log)."""
    before = browser_proxy.blocked_count
    with contextlib.suppress(WebDriverException):
        browser.get(f"https://127.0.0.1:{secret.port}/secret.html")
    assert SECRET_TEXT not in browser.page_source
    assert secret.requests() == []
    assert browser_proxy.blocked_count > before


def test_each_subresource_connection_is_refused_and_counted(
    browser: webdriver.Chrome,
    browser_proxy: GuardProxy,
    exempt_site: SiteServer,
    secret: SiteServer,
) -> None:
    """An iframe, an image, a fetch() and a WebSocket to the internal service: four refusals
    at least (Chromium may retry one), none reaching it, while the page's own site loads."""
    origin = secret.url("").rstrip("/")
    html = f"""<!doctype html><html><body>
      <iframe src="{origin}/secret.html"></iframe>
      <img src="{origin}/secret.svg" alt="">
      <pre id="fetch">pending</pre><pre id="socket">pending</pre>
      <script>
        fetch("{origin}/secret.txt").then((r) => r.text())
          .then((t) => {{ document.getElementById("fetch").textContent = t; }})
          .catch((e) => {{ document.getElementById("fetch").textContent = "failed"; }});
        const ws = new WebSocket("{origin.replace("http", "ws", 1)}/socket");
        ws.onopen = () => {{ document.getElementById("socket").textContent = "open"; }};
        ws.onerror = () => {{ document.getElementById("socket").textContent = "failed"; }};
      </script></body></html>"""
    exempt_site.route("/embeds.html", lambda _h: (200, {}, html.encode()))
    before = browser_proxy.blocked_count
    browser.get(exempt_site.url("/embeds.html"))
    WebDriverWait(browser, 15).until(
        lambda d: (
            "pending" not in d.find_element(By.ID, "fetch").text
            and "pending" not in d.find_element(By.ID, "socket").text
        )
    )
    assert browser.find_element(By.ID, "fetch").text == "failed"
    assert browser.find_element(By.ID, "socket").text == "failed"
    assert SECRET_TEXT not in browser.page_source
    assert secret.requests() == []
    assert browser_proxy.blocked_count - before >= 4
