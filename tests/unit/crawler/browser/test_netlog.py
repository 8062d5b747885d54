from __future__ import annotations

import json
from typing import Any

import pytest

from crawler.browser.netlog import MainDocument, main_document, navigation_error
from crawler.exceptions import (
    ConnectionRefusedRenderError,
    DnsLookupError,
    NavigationError,
    PageTimeoutError,
)

TOP = "FRAME-TOP"


def _entry(method: str, **params: Any) -> dict[str, Any]:
    """One chromedriver performance-log entry, in the shape get_log("performance") returns."""
    message = {"message": {"method": method, "params": params}, "webview": TOP}
    return {"level": "INFO", "message": json.dumps(message), "timestamp": 0}


def _sent(request_id: str, url: str, frame: str = TOP, kind: str = "Document") -> dict[str, Any]:
    return _entry(
        "Network.requestWillBeSent",
        requestId=request_id,
        loaderId=request_id,
        frameId=frame,
        type=kind,
        request={"url": url},
    )


def _received(request_id: str, url: str, status: int, **headers: str) -> dict[str, Any]:
    return _entry(
        "Network.responseReceived",
        requestId=request_id,
        type="Document",
        response={"url": url, "status": status, "headers": headers},
    )


def test_redirect_gives_the_final_documents_status_and_url():
    log = [
        _sent("R1", "http://a.test/old"),
        _sent("R1", "http://a.test/new"),  # the redirect keeps the request id
        _sent("IMG", "http://a.test/i.png", kind="Image"),
        _received("IMG", "http://a.test/i.png", 404),
        _received("R1", "http://a.test/new", 203),
    ]
    assert main_document(log, TOP) == MainDocument(url="http://a.test/new", status=203)


def test_subframe_documents_are_not_the_page():
    log = [
        _sent("R1", "http://a.test/"),
        _received("R1", "http://a.test/", 200),
        _sent("F1", "http://ads.test/frame", frame="FRAME-CHILD"),
        _received("F1", "http://ads.test/frame", 500),
    ]
    assert main_document(log, TOP).status == 200


def test_network_failure_gives_the_error_name():
    log = [
        _sent("R1", "http://nowhere.test/"),
        _entry("Network.loadingFailed", requestId="R1", errorText="net::ERR_NAME_NOT_RESOLVED"),
    ]
    assert main_document(log, TOP) == MainDocument(
        url="http://nowhere.test/", error_text="net::ERR_NAME_NOT_RESOLVED"
    )


def test_guard_proxy_refusal_is_read_from_its_header():
    log = [
        _sent("R1", "http://10.0.0.1/"),
        _received("R1", "http://10.0.0.1/", 403, **{"X-Rivalscope-Netguard": "blocked_address"}),
    ]
    assert main_document(log, TOP).guard_verdict == "blocked_address"


def test_unreadable_entries_are_skipped_and_no_document_is_empty():
    assert main_document([{"message": "not json"}, {}], TOP) == MainDocument()


@pytest.mark.parametrize(
    ("error_text", "error_class"),
    [
        ("net::ERR_NAME_NOT_RESOLVED", DnsLookupError),
        ("net::ERR_CONNECTION_REFUSED", ConnectionRefusedRenderError),
        ("net::ERR_TIMED_OUT", PageTimeoutError),
        ("net::ERR_SSL_PROTOCOL_ERROR", NavigationError),
    ],
)
def test_network_errors_map_to_render_errors(error_text: str, error_class: type):
    error = navigation_error("http://x.test/", error_text)
    assert type(error) is error_class
    assert error_text in str(error)
