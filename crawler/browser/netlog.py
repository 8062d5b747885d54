"""What happened to the main document, read from Chrome's performance log (pure functions).

WebDriver hides HTTP: ``driver.get`` neither reports the status of the page nor fails on a
network error (Chromium shows its own error page and ``get`` returns normally). The DevTools
``Network.*`` events that chromedriver logs under ``goog:loggingPrefs`` {"performance": "ALL"}
carry both, keyed by the request id of the top frame's ``Document`` request. A redirect keeps
the request id, so the last response seen for it is the final document's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from crawler.exceptions import (
    GUARD_REFUSALS,
    ConnectionRefusedRenderError,
    DnsLookupError,
    NavigationError,
    PageTimeoutError,
    RenderError,
)
from crawler.netguard.wire import BLOCKED_HEADER

# Chromium's net error names (net/base/net_error_list.h) that have their own error type.
_DNS_ERRORS = frozenset({"net::ERR_NAME_NOT_RESOLVED", "net::ERR_NAME_RESOLUTION_FAILED"})
_REFUSED_ERRORS = frozenset({"net::ERR_CONNECTION_REFUSED"})
_TIMEOUT_ERRORS = frozenset({"net::ERR_TIMED_OUT", "net::ERR_CONNECTION_TIMED_OUT"})
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


def events(entries: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(method, params) of each DevTools event in chromedriver's log entries."""
    out = []
    for entry in entries:
        try:
            message = json.loads(entry["message"])["message"]
        except (KeyError, TypeError, ValueError):
            continue
        out.append((str(message.get("method", "")), dict(message.get("params") or {})))
    return out


def main_document(entries: list[dict[str, Any]], frame_id: str) -> MainDocument:
    """The top frame's last document request that got an answer (or failed)."""
    documents: dict[str, MainDocument] = {}
    order: list[str] = []
    for method, params in events(entries):
        request_id = params.get("requestId")
        if not isinstance(request_id, str):
            continue
        if method == "Network.requestWillBeSent":
            if params.get("type") != "Document" or params.get("frameId") != frame_id:
                continue
            url = (params.get("request") or {}).get("url")
            documents[request_id] = MainDocument(url=url)
            if request_id not in order:
                order.append(request_id)
        elif request_id not in documents:
            continue
        elif method == "Network.responseReceived":
            response = params.get("response") or {}
            status = response.get("status")
            headers = {str(k).lower(): str(v) for k, v in (response.get("headers") or {}).items()}
            documents[request_id] = MainDocument(
                url=response.get("url") or documents[request_id].url,
                status=int(status) if status is not None else None,
                guard_verdict=headers.get(_GUARD_HEADER),
            )
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            previous = documents[request_id]
            if previous.status is None:
                documents[request_id] = MainDocument(
                    url=previous.url, error_text=str(params.get("errorText") or "net::ERR_FAILED")
                )
    for request_id in reversed(order):
        document = documents[request_id]
        if document.status is not None or document.error_text is not None:
            return document
    return documents[order[0]] if order else MainDocument()


def navigation_error(url: str, error_text: str) -> RenderError:
    """The ``RenderError`` for a main-document network error."""
    message = f"{error_text} loading {url}"
    if error_text in _DNS_ERRORS:
        return DnsLookupError(message)
    if error_text in _REFUSED_ERRORS:
        return ConnectionRefusedRenderError(message)
    if error_text in _TIMEOUT_ERRORS:
        return PageTimeoutError(message)
    return NavigationError(message)


def guard_error(url: str, verdict: str, status: int | None) -> RenderError:
    """The ``RenderError`` for a main document the guard proxy refused."""
    error_class = GUARD_REFUSALS.get(verdict.strip().lower(), NavigationError)
    return error_class(f"the private-address guard refused {url} ({verdict}, HTTP {status})")
