"""The render flow of one page in one browser, and its result, ``RenderedPage``.

Order matters: navigate (page-load timeout) → read the main document's status or network error
from the performance log → scroll through the page so lazy content loads → settle until quiet
(bounded) → record DOM, title and final URL → hide consent overlays → full-page screenshot.
Blocking: runs in a worker thread with a browser checked out of the pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from selenium.common.exceptions import TimeoutException, WebDriverException
from urllib3.exceptions import HTTPError

from crawler.browser import netlog, scripts
from crawler.browser.consent import hide_consent_overlays
from crawler.browser.screenshot import full_page
from crawler.exceptions import (
    BlockedAddressError,
    BrowserCrashedError,
    PageTimeoutError,
    RenderError,
)
from crawler.politeness.site_pacing import unpaced

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from selenium.webdriver.chrome.webdriver import WebDriver

    from crawler.browser.config import SeleniumConfig
    from crawler.browser.session import BrowserSession
    from crawler.politeness.site_pacing import Arrival
    from rivalscope_core.records import Screenshot

# A page counts as settled after this long without DOM change or fetch/XHR activity.
QUIET_MS = 150


@dataclass(frozen=True)
class RenderedPage:
    """What the browser saw; ``status`` and ``headers`` are the main document's (None and empty
    if unknown); the headers let the record tell a bot wall from the page (crawler.botwalls)."""

    requested_url: str
    final_url: str
    status: int | None
    title: str
    html: str
    screenshot: Screenshot | None
    headers: dict[str, str] = field(default_factory=dict)


def _never_blocked(_url: str) -> str | None:
    return None


@dataclass(frozen=True)
class RenderOptions:
    """Per-request choices on top of the config (request meta ``selenium_screenshot``),
    ``blocked_reason``: why the guard proxy refused a URL, if it did (Chromium reports a refused
    https tunnel only as ``net::ERR_TUNNEL_CONNECTION_FAILED``), and ``navigation``: the site's
    turn (``SitePacer.navigation``), entered around ``driver.get``."""

    screenshot: bool = True
    blocked_reason: Callable[[str], str | None] = _never_blocked
    navigation: Callable[[], AbstractContextManager[Arrival]] = unpaced


def render_page(
    session: BrowserSession, url: str, config: SeleniumConfig, options: RenderOptions
) -> RenderedPage:
    """Render ``url``; raises a ``RenderError``. Marks the session broken when the browser
    crashed or hung, so the pool replaces it."""
    session.pages += 1
    try:
        return _render(session, url, config, options)
    except TimeoutException as exc:
        session.broken = True  # a hung page can keep the renderer busy: start afresh
        raise PageTimeoutError(
            f"{url} did not finish loading within {config.page_load_timeout:g} s"
            " (SELENIUM_PAGE_LOAD_TIMEOUT)"
        ) from exc
    except WebDriverException as exc:
        session.broken = True
        raise BrowserCrashedError(f"browser failed rendering {url}: {exc.msg or exc}") from exc
    except (HTTPError, OSError) as exc:
        # The connection to chromedriver failed: it died, was killed (the pool's deadline),
        # or stopped answering (a page's script that never yields).
        session.broken = True
        raise BrowserCrashedError(f"browser stopped answering rendering {url}: {exc}") from exc


def _render(
    session: BrowserSession, url: str, config: SeleniumConfig, options: RenderOptions
) -> RenderedPage:
    driver = session.driver
    frame_id = str(driver.execute_cdp_cmd("Page.getFrameTree", {})["frameTree"]["frame"]["id"])
    _performance_log(driver)  # drop what the previous page left in the log
    with options.navigation() as arrival:
        document = _navigate(driver, url, frame_id, options)
        arrival.note(document.responded_at)
    if document.guard_verdict is not None:
        raise netlog.guard_error(url, document.guard_verdict, document.status)
    if document.error_text is not None:
        raise _navigation_error(url, document, options)
    if config.scroll_lazy:
        driver.execute_async_script(
            scripts.SCROLL_THROUGH,
            config.max_screenshot_height,
            int(config.scroll_pause * 1000),
            int(config.page_load_timeout * 1000),  # within the script timeout (session.py)
        )
    driver.execute_async_script(
        scripts.SETTLE, QUIET_MS, int(config.settle_timeout * 1000), config.scroll_lazy
    )
    html = str(driver.execute_script("return document.documentElement.outerHTML"))
    title = str(driver.title or "")
    final_url = str(driver.current_url)
    screenshot = None
    if options.screenshot:
        if config.hide_consent:
            hide_consent_overlays(driver)
        screenshot = full_page(
            driver,
            config.screenshot_format,
            config.screenshot_quality,
            config.max_screenshot_height,
        )
    return RenderedPage(
        requested_url=url,
        final_url=final_url,
        status=document.status,
        title=title,
        html=html,
        screenshot=screenshot,
        headers=document.headers,
    )


def _navigate(
    driver: WebDriver, url: str, frame_id: str, options: RenderOptions
) -> netlog.MainDocument:
    """``driver.get`` and what the performance log says happened to the main document."""
    try:
        driver.get(url)
    except TimeoutException:
        raise
    except WebDriverException as exc:
        # chromedriver fails `get` on some network errors (a failed proxy tunnel, ...) and
        # shows an error page on others: either way the log names the error, and the browser
        # is fine. Without one there, the browser itself failed.
        failed = netlog.main_document(_performance_log(driver), frame_id)
        if failed.error_text is None:
            raise
        raise _navigation_error(url, failed, options) from exc
    return netlog.main_document(_performance_log(driver), frame_id)


def _performance_log(driver: WebDriver) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = driver.get_log("performance")  # type: ignore[no-untyped-call]
    return entries


def _navigation_error(
    url: str, document: netlog.MainDocument, options: RenderOptions
) -> RenderError:
    """The error for a main document that failed to load; the guard's refusal of the URL that
    failed (a redirect target included) wins over Chromium's generic tunnel error."""
    failed_url = document.url or url
    reason = options.blocked_reason(failed_url)
    if reason is not None:
        return BlockedAddressError(f"{url}: {reason}")
    return netlog.navigation_error(url, document.error_text or "net::ERR_FAILED")
