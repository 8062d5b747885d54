"""The render flow of one page in one browser, and its result, ``RenderedPage``.

Order matters: navigate (page-load timeout) → read the main document's status, network error
and whether it became the page at all from the performance log (a download or a 204 leaves the
previous page on screen: recorded as ``not_a_page``, never as that page) → scroll through the
page so lazy content loads (``SELENIUM_SCROLL_LAZY=auto``: only a page where something loads on
scroll, crawler/browser/lazy.py) → settle until quiet (bounded) → snapshot DOM (shadow roots
included), title and final URL in one script → hide consent overlays → full-page screenshot →
check the log that no navigation began meanwhile (else follow it and start again, up to
``MAX_SELF_NAVIGATIONS``). Blocking: runs in a worker thread with a browser checked out of the
pool.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from selenium.common.exceptions import (
    InvalidSessionIdException,
    NoSuchWindowException,
    TimeoutException,
    UnexpectedAlertPresentException,
    WebDriverException,
)
from urllib3.exceptions import HTTPError

from crawler.browser import netlog, scripts
from crawler.browser.capture_turns import no_turn
from crawler.browser.consent import hide_consent_overlays
from crawler.browser.lazy import LazyOutcome, scroll_and_settle
from crawler.browser.screenshot import full_page
from crawler.exceptions import (
    BlockedAddressError,
    BrowserCrashedError,
    PageTimeoutError,
    RedirectLoopError,
    RenderError,
)
from crawler.politeness.site_pacing import unpaced

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from selenium.webdriver.chrome.webdriver import WebDriver

    from crawler.browser.config import ScreenshotFormat, SeleniumConfig
    from crawler.browser.session import BrowserSession
    from crawler.politeness.site_pacing import Arrival
    from rivalscope_core.records import Screenshot

# A page counts as settled after this long without DOM change, once nothing the tracker counts
# is in flight (scripts.ACTIVITY_TRACKER). The window only covers the gaps the tracker cannot
# see: a fetch's body, the timers, animation frames and off-page images a late callback starts
# are awaited, so 50 ms (two of the settle's 25 ms polls) is enough; it was 150 ms when the
# tracker let go of a fetch at its headers (bench/RESULTS.md, "A settle that knows the page is
# done": tests/data/site/render/late-kinds.html and trickle.html lose content at 50 ms with the
# tracker before).
QUIET_MS = 50
# Navigations a page may start by itself, one after the other, before it counts as a loop.
MAX_SELF_NAVIGATIONS = 5
# How long a failed command waits for the navigation that cut it short to reach the log.
NAVIGATION_LOG_GRACE = 2.0


@dataclass(frozen=True)
class RenderedPage:
    """What the browser saw; ``status`` is the main document's HTTP status (None if unknown)."""

    requested_url: str
    final_url: str
    status: int | None
    title: str
    html: str
    screenshot: Screenshot | None
    # The main document's MIME type, as the site sent it.
    content_type: str | None = None
    # Why the answer is no page (a PDF, an image, a download, a 204): recorded with
    # ``error.type = "not_a_page"``, without body or screenshot. None for a page.
    not_a_page: str | None = None
    # The main document's response headers (crawler.botwalls tells a bot wall by them too).
    headers: dict[str, str] = field(default_factory=dict)
    # Screen boxes [x, y, w, h] (screenshot px, document coordinates) of the elements the
    # request's ``ignore_selectors`` matched when the screenshot was taken.
    ignored_boxes: tuple[tuple[int, int, int, int], ...] = ()
    # Whether the page was scrolled through for lazy content (None: SELENIUM_SCROLL_LAZY off),
    # and, with ``auto``, what on the page asked for it (crawler/browser/lazy.py).
    scrolled: bool | None = None
    lazy_reasons: tuple[str, ...] = ()


def _never_blocked(_url: str) -> str | None:
    return None


@dataclass(frozen=True)
class RenderOptions:
    """Per-request choices on top of the config (request meta ``selenium_screenshot``),
    ``blocked_reason``: why the guard proxy refused a URL, if it did (Chromium reports a refused
    https tunnel only as ``net::ERR_TUNNEL_CONNECTION_FAILED``), ``navigation``: the site's
    turn (``SitePacer.navigation``), entered around ``driver.get``, ``saw_request``: told
    when the site had a later page request of this render (the page navigating by itself), and
    ``ignore_selectors``: the elements whose boxes are measured before the screenshot (request
    meta ``selenium_ignore_selectors``), ``capture_turn``: entered around the browser's
    full-page capture with its height (``capture_turns.TallCaptureTurns.turn``: tall captures
    one at a time in a pool), ``screenshot_format``: this page's format in place of
    ``SELENIUM_SCREENSHOT_FORMAT`` (``jpeg`` when ``auto``'s encoder is behind)."""

    screenshot: bool = True
    screenshot_format: ScreenshotFormat | None = None
    ignore_selectors: tuple[str, ...] = ()
    blocked_reason: Callable[[str], str | None] = _never_blocked
    navigation: Callable[[], AbstractContextManager[Arrival]] = unpaced
    saw_request: Callable[[float | None], None] = lambda _at: None
    capture_turn: Callable[[int], AbstractContextManager[bool]] = no_turn


def render_page(
    session: BrowserSession,
    url: str,
    config: SeleniumConfig,
    options: RenderOptions,
    *,
    leave: bool = True,
) -> RenderedPage:
    """Render ``url``; raises a ``RenderError``. Marks the session broken when the browser
    crashed or hung, so the pool replaces it. ``leave``: end on a blank tab
    (``BrowserSession.leave_page``); without it the tab still shows the page
    (``session.shows_page``), and whoever holds the session decides (the pool: leave it only
    when no next page is waiting for a browser, crawler/browser/pool.py)."""
    session.pages += 1
    session.shows_page = True
    try:
        page = _render(session, url, config, options)
    except RenderError:
        if leave:
            session.leave_page()  # only the page failed; the browser is fine
        raise
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
    if leave:
        session.leave_page()
    if page.screenshot is not None and session.renderer:
        shot = dataclasses.replace(page.screenshot, renderer=session.renderer)
        page = dataclasses.replace(page, screenshot=shot)
    return page


def _render(
    session: BrowserSession, url: str, config: SeleniumConfig, options: RenderOptions
) -> RenderedPage:
    driver = session.driver
    frame_id = session.frame_id
    _performance_log(driver)  # drop what the previous page left in the log
    with options.navigation() as arrival:
        entries = _navigate(driver, url, frame_id, options)
        document = netlog.main_document(entries, frame_id)
        arrival.note(document.responded_at)
    _raise_for_failure(url, document, options)
    if not document.committed and _shows(driver, document):
        document = dataclasses.replace(document, committed=True)  # the log missed the commit
    if document.not_a_page() is not None:
        return _not_a_page(url, document)
    # A page may navigate by itself (a short timer, a meta refresh, a late redirect): follow it
    # and store the page the person ends up on, but only one that stayed put from settling to
    # the end of its screenshot, so body, title, final_url and screenshot are of one document.
    for _ in range(MAX_SELF_NAVIGATIONS + 1):
        try:
            current = netlog.shown_document(entries, frame_id) or document
            captured: _Captured | None = _settle_and_capture(
                driver, config, options, current.refresh
            )
        except (InvalidSessionIdException, NoSuchWindowException):
            raise  # the browser is gone
        except UnexpectedAlertPresentException:
            # A dialog this page's tracker did not reach (a cross-site frame): chromedriver
            # dismissed it; try again.
            captured, later = None, _performance_log(driver)
        except WebDriverException:
            # A command the page's unloading cut short (chromedriver answers "script timeout"
            # or a javascript error for a script, an error for a screenshot): the navigation
            # is in the log, or soon is.
            captured, later = None, _navigation_log(driver, frame_id)
            if not netlog.navigation_started(later, frame_id):
                raise
        else:
            later = _performance_log(driver)
        entries += later
        latest = netlog.main_document(entries, frame_id)
        options.saw_request(latest.responded_at)
        _raise_for_failure(url, latest, options)
        shown = netlog.shown_document(entries, frame_id) or document
        if shown.committed and not shown.is_page:
            return _not_a_page(url, shown)  # e.g. a script sent the page on to a PDF viewer
        if captured is not None and not netlog.navigation_started(later, frame_id):
            snapshot, screenshot, boxes, lazy = captured
            return RenderedPage(
                requested_url=url,
                final_url=str(snapshot.get("url") or shown.url or url),
                status=shown.status,
                title=str(snapshot.get("title") or ""),
                html=str(snapshot.get("html") or ""),
                screenshot=screenshot,
                content_type=shown.mime_type,
                headers=shown.headers,
                ignored_boxes=boxes,
                scrolled=lazy.scrolled,
                lazy_reasons=lazy.reasons,
            )
    # Leaving such a page for a blank tab does not always stop it: a refresh already under way
    # can commit after the blank page, and the loop went on in the idle browser, dozens of
    # requests a second to the site (1 run in ~20 of the refresh-forever test). A browser that
    # is replaced cannot go on: the pool quits it (a restart, only after such a page).
    session.broken = True
    raise RedirectLoopError(
        f"{url} kept navigating by itself (script or meta refresh) {MAX_SELF_NAVIGATIONS}"
        " times without settling on a page"
    )


def _navigate(
    driver: WebDriver, url: str, frame_id: str, options: RenderOptions
) -> list[dict[str, Any]]:
    """``driver.get``; the performance log's entries of the navigation."""
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
    return _performance_log(driver)


_Box = tuple[int, int, int, int]
_Captured = tuple[dict[str, Any], "Screenshot | None", tuple[_Box, ...], LazyOutcome]
# Boxes recorded per page at most: a selector that matches every table cell must not make the
# record large; the diff masks what it gets.
MAX_IGNORED_BOXES = 200


def _settle_and_capture(
    driver: WebDriver, config: SeleniumConfig, options: RenderOptions, refresh: float | None
) -> _Captured:
    lazy = scroll_and_settle(driver, config, refresh, QUIET_MS)
    snapshot: dict[str, Any] = driver.execute_script(scripts.SNAPSHOT) or {}
    screenshot = None
    boxes: tuple[_Box, ...] = ()
    if options.screenshot:
        if config.hide_consent:
            hide_consent_overlays(driver)
        found: Any = None
        if options.ignore_selectors:  # one round trip, only for pages that have rules
            found = driver.execute_script(
                scripts.IGNORED_BOXES, list(options.ignore_selectors), MAX_IGNORED_BOXES
            )
        screenshot = full_page(
            driver,
            options.screenshot_format or config.screenshot_format,
            config.screenshot_quality,
            config.max_screenshot_height,
            options.capture_turn,
        )
        boxes = ignored_boxes(found, screenshot.width)
    return snapshot, screenshot, boxes, lazy


def ignored_boxes(found: Any, image_width: int) -> tuple[_Box, ...]:
    """``IGNORED_BOXES``' answer as boxes in screenshot px: equal to CSS px at the device scale
    factor of 1 the browser runs at; a capture of another width scales them. Anything
    malformed (a page that redefined ``Array``) is left out."""
    if not isinstance(found, dict) or not isinstance(found.get("boxes"), list):
        return ()
    boxes = [
        (int(b[0]), int(b[1]), int(b[2]), int(b[3]))
        for b in found["boxes"]
        if isinstance(b, list) and len(b) == 4 and all(isinstance(v, int | float) for v in b)
    ]
    css_width = found.get("width")
    if not isinstance(css_width, int | float) or css_width <= 0 or css_width == image_width:
        return tuple(boxes)
    ratio = image_width / css_width
    return tuple(
        (int(x * ratio), int(y * ratio), int(w * ratio + 0.999), int(h * ratio + 0.999))
        for (x, y, w, h) in boxes
    )


def _raise_for_failure(url: str, document: netlog.MainDocument, options: RenderOptions) -> None:
    if document.guard_verdict is not None:
        raise netlog.guard_error(url, document.guard_verdict, document.status)
    if document.error_text is not None:
        raise _navigation_error(url, document, options)


def _shows(driver: WebDriver, document: netlog.MainDocument) -> bool:
    """Whether the tab shows ``document`` after all (asked only when the log has no commit)."""
    shown = driver.execute_script("return location.href")
    return document.url is not None and shown == document.url


def _not_a_page(url: str, document: netlog.MainDocument) -> RenderedPage:
    """The honest record of an answer that is no page: its URL, status and type, no body or
    screenshot (whatever the tab still shows belongs to another page)."""
    return RenderedPage(
        requested_url=url,
        final_url=document.url or url,
        status=document.status,
        title="",
        html="",
        screenshot=None,
        content_type=document.mime_type,
        not_a_page=document.not_a_page(),
    )


def _navigation_log(driver: WebDriver, frame_id: str) -> list[dict[str, Any]]:
    """The log's entries after a command failed, waiting up to ``NAVIGATION_LOG_GRACE`` for a
    navigation to show in them. The failure can reach us before the DevTools event of the
    navigation that caused it reaches chromedriver's log (seen on a busy machine, on a meta
    refresh of 0 s): read at once, that page counted as a crashed browser."""
    entries = _performance_log(driver)
    deadline = time.monotonic() + NAVIGATION_LOG_GRACE
    while not netlog.navigation_started(entries, frame_id) and time.monotonic() < deadline:
        time.sleep(0.05)
        entries += _performance_log(driver)
    return entries


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
