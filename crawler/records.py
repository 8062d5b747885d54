"""Turns what the downloader hands back — a response, or a failure — into one page record.

Failures are mapped by exception type, never by message text: our own ``RenderError``
subclasses carry their ``error_type``; Twisted's and Scrapy's network errors are classified
here. A failed page still becomes a record (SPEC.md: recorded, never dropped).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import TextResponse
from twisted.internet import error as net
from twisted.internet.defer import TimeoutError as DeferTimeoutError
from twisted.web.client import ResponseFailed, ResponseNeverReceived

from crawler.botwalls import Evidence, detect_wall, headers_from_pairs
from crawler.exceptions import GUARD_REFUSALS, BlockedAddressError, RenderError
from crawler.netguard.wire import BLOCKED_HEADER
from crawler.politeness.robots import RobotsDisallowedError
from rivalscope_core.records import (
    BLOCKED_BY_SITE,
    ErrorInfo,
    PageRecord,
    Screenshot,
    utc_now_iso,
)

if TYPE_CHECKING:
    from scrapy.http import Response

    from rivalscope_core.watchlist import Competitor

_MAX_MESSAGE = 500
_HTTP_ERROR_FROM = 400

# Most specific first: the first matching class names the error type.
_NETWORK_ERRORS: tuple[tuple[type[BaseException], str], ...] = (
    # Scrapy 2.19 wraps Twisted's errors in its own download errors
    (CannotResolveHostError, "dns"),
    (DownloadConnectionRefusedError, "connection_refused"),
    (DownloadTimeoutError, "timeout"),
    (ResponseDataLossError, "connection_lost"),
    (DownloadCancelledError, "cancelled"),
    (DownloadFailedError, "connection_failed"),
    (net.DNSLookupError, "dns"),
    (net.ConnectionRefusedError, "connection_refused"),
    (net.TimeoutError, "timeout"),
    (net.TCPTimedOutError, "timeout"),
    (DeferTimeoutError, "timeout"),
    (TimeoutError, "timeout"),
    (ResponseNeverReceived, "connection_lost"),
    (ResponseFailed, "connection_lost"),
    (net.ConnectionLost, "connection_lost"),
    (net.ConnectError, "connection_failed"),
    (RobotsDisallowedError, "robots_disallowed"),
    (IgnoreRequest, "ignored"),
)


def error_info(exc: BaseException, attempts: int = 1) -> ErrorInfo:
    """The ``{type, message}`` a failed page is recorded with; a page tried more than once
    (crawler/crash_retry.py) says so at the end of the message, which the cut never reaches
    (SPEC.md's ``error`` has no field for it)."""
    suffix = f" ({attempts} attempts, each in a fresh browser)" if attempts > 1 else ""
    message = f"{type(exc).__name__}: {exc}".strip()[: _MAX_MESSAGE - len(suffix)] + suffix
    if isinstance(exc, RenderError):
        return ErrorInfo(exc.error_type, message)
    for cls, error_type in _NETWORK_ERRORS:
        if isinstance(exc, cls):
            return ErrorInfo(error_type, message)
    return ErrorInfo("error", message)


def failed_page(
    url: str,
    exc: BaseException,
    prompt: str | None,
    competitor: Competitor | None = None,
    attempts: int = 1,
) -> PageRecord:
    return _failed(url, error_info(exc, attempts), prompt, competitor)


def _listing(competitor: Competitor | None) -> dict[str, Any]:
    """What a page record says of the watch-list entry it was crawled for."""
    if competitor is None:
        return {"competitor": None, "change_rules": None}
    return {"competitor": competitor.name, "change_rules": competitor.change_rules}


def _failed(
    url: str, error: ErrorInfo, prompt: str | None, competitor: Competitor | None
) -> PageRecord:
    """The record of a page that never came back: no final URL, status or body."""
    return PageRecord(
        url=url,
        final_url=None,
        status=None,
        crawled_at=utc_now_iso(),
        body="",
        prompt=prompt,
        error=error,
        **_listing(competitor),
    )


def _guard_refusal(response: Response) -> ErrorInfo | None:
    """Plain downloads go through the private-address guard's proxy, which answers a refusal
    with its own HTTP response marked by ``X-Rivalscope-Netguard``: not the site's status."""
    value = response.headers.get(BLOCKED_HEADER)
    if value is None:
        return None
    verdict = value.decode("latin-1").strip().lower()
    error_type = verdict if verdict in GUARD_REFUSALS else BlockedAddressError.error_type
    message = response.text.strip() if isinstance(response, TextResponse) else ""
    return ErrorInfo(error_type, message[:_MAX_MESSAGE] or f"refused by the guard ({value!r})")


def _page_error(evidence: Evidence) -> ErrorInfo | None:
    """A bot wall served in place of the page (whatever its status: walls come as 200 too),
    else an HTTP error status, else none. A wall's record keeps its body and screenshot, for
    a person to look at; the analyser never reads a page with an error (SPEC.md)."""
    wall = detect_wall(evidence)
    if wall is not None:
        return ErrorInfo(BLOCKED_BY_SITE, wall.message[:_MAX_MESSAGE])
    status = evidence.status
    if status is not None and status >= _HTTP_ERROR_FROM:
        return ErrorInfo("http_status", f"HTTP {status}")
    return None


def _scrapy_headers(response: Response) -> dict[str, str]:
    return headers_from_pairs(
        {
            name.decode("latin-1"): [v.decode("latin-1") for v in values]
            for name, values in response.headers.items()
        }
    )


def _not_a_page(page: Any) -> ErrorInfo | None:
    """A PDF, an image, a download or a 204 where a page was asked for: recorded with its URL,
    status and why, without a body (README, "What the crawl stores")."""
    reason = getattr(page, "not_a_page", None)
    return ErrorInfo("not_a_page", str(reason)[:_MAX_MESSAGE]) if reason else None


def _plain_title(response: Response) -> str | None:
    if not isinstance(response, TextResponse):
        return None
    title = response.xpath("normalize-space(//title)").get()
    return title or None


def rendered_page(
    url: str, response: Response, prompt: str | None, competitor: Competitor | None = None
) -> PageRecord:
    """The record of a page that came back. With rendering on, the download handler put the
    rendered page in ``meta["selenium_page"]``; with it off, the plain response is the page."""
    page: Any = response.meta.get("selenium_page")
    if page is not None:
        screenshot = page.screenshot
        if screenshot is not None and not isinstance(screenshot, Screenshot):
            screenshot = Screenshot.from_dict(screenshot)
        status = page.status
        html = page.html or ""
        headers = getattr(page, "headers", None) or {}
        return PageRecord(
            url=url,
            final_url=page.final_url or response.url,
            status=status,
            crawled_at=utc_now_iso(),
            body=html,
            title=page.title or None,
            screenshot=screenshot,
            prompt=prompt,
            error=_page_error(Evidence(status, headers, html, page.title or None))
            or _not_a_page(page),
            **_listing(competitor),
            ignored_boxes=tuple(getattr(page, "ignored_boxes", ())),
        )
    refusal = _guard_refusal(response)
    if refusal is not None:
        return _failed(url, refusal, prompt, competitor)
    body = response.text if isinstance(response, TextResponse) else ""
    title = _plain_title(response)
    return PageRecord(
        url=url,
        final_url=response.url,
        status=response.status,
        crawled_at=utc_now_iso(),
        body=body,
        title=title,
        prompt=prompt,
        error=_page_error(Evidence(response.status, _scrapy_headers(response), body, title))
        or _plain_not_a_page(response),
        **_listing(competitor),
    )


def _plain_not_a_page(response: Response) -> ErrorInfo | None:
    """With rendering off, a PDF or an image comes back as a binary response: the same honest
    record as the browser's, not an empty page without error."""
    if isinstance(response, TextResponse):
        return None
    kind = (response.headers.get("Content-Type") or b"").decode("latin-1").split(";")[0].strip()
    return ErrorInfo("not_a_page", f"{kind or 'a binary answer'} is a file, not a web page")
