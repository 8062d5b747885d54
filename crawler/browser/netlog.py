"""What happened to the main document, read from Chrome's performance log (pure functions).

WebDriver hides HTTP: ``driver.get`` neither reports the status of the page nor fails on a
network error (Chromium shows its own error page and ``get`` returns normally). The DevTools
``Network.*`` events that chromedriver logs under ``goog:loggingPrefs`` {"performance": "ALL"}
carry both, keyed by the request id of the top frame's ``Document`` request. A redirect keeps
the request id, so the last response seen for it is the final document's.

Nor does ``get`` say whether the answer became the page at all: a download (a PDF in the
headless shell, ``Content-Disposition: attachment``, a CSV) or a 204 leaves the *previous*
page on screen, and reading the DOM then stores that page under the new URL (issue #11). A
document counts as shown only when ``Page.frameNavigated`` commits its loader in the top frame.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from crawler.exceptions import (
    GUARD_REFUSALS,
    ConnectionRefusedRenderError,
    DnsLookupError,
    NavigationError,
    PageTimeoutError,
    RedirectLoopError,
    RenderError,
)
from crawler.netguard.wire import BLOCKED_HEADER

# Chromium's net error names (net/base/net_error_list.h) that have their own error type.
_DNS_ERRORS = frozenset({"net::ERR_NAME_NOT_RESOLVED", "net::ERR_NAME_RESOLUTION_FAILED"})
_REFUSED_ERRORS = frozenset({"net::ERR_CONNECTION_REFUSED"})
_TIMEOUT_ERRORS = frozenset({"net::ERR_TIMED_OUT", "net::ERR_CONNECTION_TIMED_OUT"})
_REDIRECT_ERRORS = frozenset({"net::ERR_TOO_MANY_REDIRECTS"})
# What Chromium shows as a page a person reads; anything else (PDF, images, JSON, video...) is
# a file, not a page to analyse, whether the browser downloads it or shows it in a viewer.
_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Navigations within the same document (pushState, #fragment) keep the page.
_SAME_DOCUMENT = frozenset({"sameDocument", "historySameDocument"})
# The guard proxy's mark on its own refusals, as the performance log's lower-cased headers have it.
_GUARD_HEADER = BLOCKED_HEADER.lower()


@dataclass(frozen=True)
class MainDocument:
    """The outcome of the last top-frame document request: ``status`` when a response came,
    ``error_text`` (a ``net::ERR_...`` name) when loading failed."""

    url: str | None = None
    status: int | None = None
    error_text: str | None = None
    # The guard proxy's verdict when it, not the site, answered (wire.BLOCKED_HEADER).
    guard_verdict: str | None = None
    mime_type: str | None = None
    attachment: bool = False
    # Page.frameNavigated committed this document in the top frame: it is what is on screen.
    committed: bool = False
    # Seconds of a ``Refresh`` response header (the header twin of <meta http-equiv=refresh>).
    refresh: float | None = None
    # The response's headers, names lower-cased, repeated ones joined by newlines; the raw
    # ``responseReceivedExtraInfo`` headers are merged in, as only they carry ``set-cookie``.
    headers: dict[str, str] = field(default_factory=dict)
    # When the browser had the response's headers, in seconds since the epoch (DevTools'
    # monotonic timestamps mapped through the request's ``wallTime``): the site had the
    # request by then. None when unknown.
    responded_at: float | None = None

    @property
    def is_page(self) -> bool:
        """A committed document of a type a person reads as a page (HTML, or any ``text/*``
        that Chromium shows as text)."""
        mime = (self.mime_type or "text/html").lower()
        return self.committed and (mime in _PAGE_TYPES or mime.startswith("text/"))

    def not_a_page(self) -> str | None:
        """Why this answer is no page to store and analyse, or None when it is one."""
        if self.is_page:
            return None
        what = self.mime_type or "an answer"
        if self.status in (204, 205):
            return f"HTTP {self.status}: the site sent no content to show"
        if self.attachment:
            return f"{what} sent as an attachment (Content-Disposition): a download, not a page"
        if not self.committed:
            return f"{what} is a download, not a page: the browser did not show it"
        return f"{what} is a file, not a web page: no body or screenshot stored"


def events(entries: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(method, params) of each DevTools event in chromedriver's log entries that this module
    reads: the top frame's navigations and its document requests. The log holds every event of
    every subresource too (a page's images, scripts and fetches are most of it); those are told
    apart by a substring of the entry's text and never parsed (``_may_concern_documents``)."""
    texts = [_text(entry) for entry in entries]
    parsed: dict[int, tuple[str, dict[str, Any]]] = {}
    document_ids: set[str] = set()
    for index, text in enumerate(texts):
        if text is not None and (_DOCUMENT_MARK in text or _PAGE_MARK in text):
            event = _parse(text)
            if event is not None:
                parsed[index] = event
                request_id = event[1].get("requestId")
                if isinstance(request_id, str):
                    document_ids.add(request_id)
    # The response's raw headers and a failure name no resource type: kept for a document's id.
    quoted_ids = [json.dumps(request_id) for request_id in document_ids]
    for index, text in enumerate(texts):
        if index in parsed or text is None or not _may_concern_documents(text, quoted_ids):
            continue
        event = _parse(text)
        if event is not None:
            parsed[index] = event
    return [parsed[index] for index in sorted(parsed)]


# chromedriver's JSON escapes a quote inside a string value (\"), so a quoted token such as
# "Document" appears in an entry's text only as a whole key or value: every event that
# documents() and navigation_started() read has one of these marks (an entry that has one by
# chance is parsed and dropped, as before).
_DOCUMENT_MARK = '"Document"'  # Network.requestWillBeSent/responseReceived/loadingFailed type
_PAGE_MARK = '"Page.frame'  # Page.frameNavigated, Page.frameStartedNavigating, ...
_UNTYPED_MARKS = ('"Network.responseReceivedExtraInfo"', '"Network.loadingFailed"')


def _may_concern_documents(text: str, quoted_ids: list[str]) -> bool:
    return any(mark in text for mark in _UNTYPED_MARKS) and any(
        quoted in text for quoted in quoted_ids
    )


def _text(entry: dict[str, Any]) -> str | None:
    message = entry.get("message") if isinstance(entry, dict) else None
    return message if isinstance(message, str) else None


def _parse(text: str) -> tuple[str, dict[str, Any]] | None:
    try:
        message = json.loads(text)["message"]
        return str(message.get("method", "")), dict(message.get("params") or {})
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def documents(entries: list[dict[str, Any]], frame_id: str) -> list[MainDocument]:
    """Every top-frame document request in the log, in the order they started."""
    found: dict[str, MainDocument] = {}
    committed: set[str] = set()
    clock_offsets: dict[str, float] = {}  # wallTime - timestamp, per request
    raw_headers: dict[str, dict[str, str]] = {}
    for method, params in events(entries):
        if method == "Page.frameNavigated":
            frame = params.get("frame") or {}
            if frame.get("id") == frame_id and not frame.get("parentId"):
                committed.add(str(frame.get("loaderId")))
            continue
        request_id = params.get("requestId")
        if not isinstance(request_id, str):
            continue
        if method == "Network.responseReceivedExtraInfo":
            # may come before or after responseReceived; the last one is the final answer's
            raw_headers[request_id] = _lower_headers(params.get("headers"))
        elif method == "Network.requestWillBeSent":
            if params.get("type") != "Document" or params.get("frameId") != frame_id:
                continue
            url = (params.get("request") or {}).get("url")
            found[request_id] = MainDocument(url=url)
            offset = _clock_offset(params)
            if offset is not None:
                clock_offsets[request_id] = offset
        elif request_id not in found:
            continue
        elif method == "Network.responseReceived":
            response = params.get("response") or {}
            status = response.get("status")
            headers = _lower_headers(response.get("headers"))
            at, offset = params.get("timestamp"), clock_offsets.get(request_id)
            found[request_id] = MainDocument(
                url=response.get("url") or found[request_id].url,
                status=int(status) if status is not None else None,
                guard_verdict=headers.get(_GUARD_HEADER),
                mime_type=response.get("mimeType") or None,
                attachment=headers.get("content-disposition", "")
                .strip()
                .lower()
                .startswith("attachment"),
                refresh=_refresh_seconds(headers.get("refresh")),
                headers=headers,
                responded_at=float(at) + offset if at is not None and offset is not None else None,
            )
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            previous = found[request_id]
            if previous.status is None:
                found[request_id] = MainDocument(
                    url=previous.url, error_text=str(params.get("errorText") or "net::ERR_FAILED")
                )
    # A navigation request's id is its loader's id (the redirects of one navigation share it).
    return [
        dataclasses.replace(
            document,
            committed=request_id in committed,
            headers=_with_raw_headers(document, raw_headers.get(request_id)),
        )
        for request_id, document in found.items()
    ]


def _with_raw_headers(document: MainDocument, raw: dict[str, str] | None) -> dict[str, str]:
    if raw is None or document.status is None:
        return document.headers
    return {**document.headers, **raw}


def _lower_headers(headers: Any) -> dict[str, str]:
    if not isinstance(headers, dict):
        return {}
    return {str(name).lower(): str(value) for name, value in headers.items()}


def _clock_offset(params: dict[str, Any]) -> float | None:
    wall, ticks = params.get("wallTime"), params.get("timestamp")
    if isinstance(wall, int | float) and isinstance(ticks, int | float):
        return float(wall) - float(ticks)
    return None


def _refresh_seconds(value: str | None) -> float | None:
    try:
        return float(value.split(";", 1)[0].strip()) if value else None
    except ValueError:
        return None


def main_document(entries: list[dict[str, Any]], frame_id: str) -> MainDocument:
    """The top frame's last document request that got an answer (or failed)."""
    found = documents(entries, frame_id)
    for document in reversed(found):
        if document.status is not None or document.error_text is not None:
            return document
    return found[0] if found else MainDocument()


def shown_document(entries: list[dict[str, Any]], frame_id: str) -> MainDocument | None:
    """The last document the top frame committed: the one on screen."""
    for document in reversed(documents(entries, frame_id)):
        if document.committed:
            return document
    return None


def navigation_started(entries: list[dict[str, Any]], frame_id: str) -> bool:
    """Whether the top frame began loading another document (a script, a meta refresh, a
    late redirect) in these entries."""
    for method, params in events(entries):
        if params.get("frameId") != frame_id:
            continue
        if method == "Page.frameStartedNavigating":
            if params.get("navigationType") not in _SAME_DOCUMENT:
                return True
        elif method == "Network.requestWillBeSent" and params.get("type") == "Document":
            return True
    return False


def navigation_error(url: str, error_text: str) -> RenderError:
    """The ``RenderError`` for a main-document network error."""
    message = f"{error_text} loading {url}"
    if error_text in _DNS_ERRORS:
        return DnsLookupError(message)
    if error_text in _REFUSED_ERRORS:
        return ConnectionRefusedRenderError(message)
    if error_text in _TIMEOUT_ERRORS:
        return PageTimeoutError(message)
    if error_text in _REDIRECT_ERRORS:
        return RedirectLoopError(message)
    return NavigationError(message)


def guard_error(url: str, verdict: str, status: int | None) -> RenderError:
    """The ``RenderError`` for a main document the guard proxy refused."""
    error_class = GUARD_REFUSALS.get(verdict.strip().lower(), NavigationError)
    return error_class(f"the private-address guard refused {url} ({verdict}, HTTP {status})")
