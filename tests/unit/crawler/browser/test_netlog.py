from __future__ import annotations

import json
from typing import Any

import pytest

from crawler.browser.netlog import (
    MainDocument,
    main_document,
    navigation_error,
    navigation_started,
    shown_document,
)
from crawler.exceptions import (
    ConnectionRefusedRenderError,
    DnsLookupError,
    NavigationError,
    PageTimeoutError,
    RedirectLoopError,
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


def _received(
    request_id: str, url: str, status: int, mime: str | None = None, **headers: str
) -> dict[str, Any]:
    response: dict[str, Any] = {"url": url, "status": status, "headers": headers}
    if mime is not None:
        response["mimeType"] = mime
    return _entry(
        "Network.responseReceived", requestId=request_id, type="Document", response=response
    )


def _committed(loader_id: str, url: str, frame: str = TOP) -> dict[str, Any]:
    return _entry("Page.frameNavigated", frame={"id": frame, "loaderId": loader_id, "url": url})


def _aborted(request_id: str) -> dict[str, Any]:
    """How Chromium ends a navigation that became a download or a 204."""
    return _entry(
        "Network.loadingFailed", requestId=request_id, errorText="net::ERR_ABORTED", canceled=True
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
        ("net::ERR_TOO_MANY_REDIRECTS", RedirectLoopError),
    ],
)
def test_network_errors_map_to_render_errors(error_text: str, error_class: type):
    error = navigation_error("http://x.test/", error_text)
    assert type(error) is error_class
    assert error_text in str(error)


def test_a_committed_html_document_is_a_page():
    log = [
        _sent("R1", "http://a.test/"),
        _received("R1", "http://a.test/", 200, "text/html"),
        _committed("R1", "http://a.test/"),
    ]
    document = main_document(log, TOP)
    assert (document.committed, document.is_page, document.not_a_page()) == (True, True, None)


@pytest.mark.parametrize(
    ("mime", "headers", "status", "named"),
    [
        ("application/pdf", {}, 200, "application/pdf is a download"),
        ("text/csv", {"Content-Disposition": "attachment; filename=a.csv"}, 200, "attachment"),
        ("text/html", {}, 204, "HTTP 204"),
    ],
)
def test_an_answer_the_browser_never_showed_is_no_page(
    mime: str, headers: dict[str, str], status: int, named: str
):
    """A download or a 204 leaves the previous page on screen: no frameNavigated."""
    log = [
        _sent("R1", "http://a.test/file"),
        _received("R1", "http://a.test/file", status, mime, **headers),
        _aborted("R1"),
    ]
    document = main_document(log, TOP)
    assert (document.url, document.status, document.committed) == (
        "http://a.test/file",
        status,
        False,
    )
    reason = document.not_a_page()
    assert reason is not None
    assert named in reason


def test_a_file_shown_in_a_viewer_is_no_page_either():
    log = [
        _sent("R1", "http://a.test/logo.png"),
        _received("R1", "http://a.test/logo.png", 200, "image/png"),
        _committed("R1", "http://a.test/logo.png"),
    ]
    document = main_document(log, TOP)
    assert document.committed
    assert (
        document.not_a_page()
        == "image/png is a file, not a web page: no body or screenshot stored"
    )


def test_the_shown_document_is_the_last_committed_one():
    """A script sent the page to a download: the first page stays on screen."""
    log = [
        _sent("R1", "http://a.test/"),
        _received("R1", "http://a.test/", 200, "text/html"),
        _committed("R1", "http://a.test/"),
        _sent("R2", "http://a.test/export.csv"),
        _received("R2", "http://a.test/export.csv", 200, "text/csv"),
        _aborted("R2"),
    ]
    assert main_document(log, TOP).url == "http://a.test/export.csv"
    shown = shown_document(log, TOP)
    assert shown is not None
    assert shown.url == "http://a.test/"
    assert shown_document(log[:2], TOP) is None


def test_only_a_new_top_frame_document_counts_as_navigating():
    started = _entry(
        "Page.frameStartedNavigating", frameId=TOP, url="http://a.test/b",
        navigationType="differentDocument",
    )  # fmt: skip
    same = _entry(
        "Page.frameStartedNavigating", frameId=TOP, url="http://a.test/#x",
        navigationType="sameDocument",
    )  # fmt: skip
    child = _sent("F1", "http://ads.test/", frame="FRAME-CHILD")
    image = _sent("I1", "http://a.test/i.png", kind="Image")
    assert navigation_started([started], TOP)
    assert navigation_started([_sent("R2", "http://a.test/b")], TOP)
    assert not navigation_started([same, child, image], TOP)


@pytest.mark.parametrize(
    ("header", "seconds"), [("1; url=/next", 1.0), ("0", 0.0), ("soon", None), (None, None)]
)
def test_a_refresh_header_gives_its_delay(header: str | None, seconds: float | None):
    headers = {"Refresh": header} if header is not None else {}
    log = [_sent("R1", "http://a.test/"), _received("R1", "http://a.test/", 200, **headers)]
    assert main_document(log, TOP).refresh == seconds


def test_headers_come_lower_cased_with_the_raw_set_cookie_of_extra_info():
    """``responseReceived`` leaves ``Set-Cookie`` out; ``responseReceivedExtraInfo`` (before or
    after it) carries the raw headers: both reach the bot-wall detector."""
    log = [
        _entry("Network.responseReceivedExtraInfo", requestId="R1",
               headers={"Set-Cookie": "datadome=a\n_px3=b", "X-DataDome": "protected"}),
        _sent("R1", "http://a.test/"),
        _received("R1", "http://a.test/", 403, **{"X-DataDome": "protected", "Server": "nginx"}),
        _entry("Network.responseReceivedExtraInfo", requestId="OTHER", headers={"X-No": "1"}),
    ]  # fmt: skip
    document = main_document(log, TOP)
    assert document.headers == {
        "x-datadome": "protected",
        "server": "nginx",
        "set-cookie": "datadome=a\n_px3=b",
    }


def test_responded_at_maps_the_response_timestamp_to_wall_clock_time():
    """DevTools stamps events on a monotonic clock and gives the wall-clock time only with the
    request: their offset turns the response's timestamp into seconds since the epoch."""
    sent = _entry(
        "Network.requestWillBeSent",
        requestId="R1",
        frameId=TOP,
        type="Document",
        request={"url": "http://a.test/"},
        timestamp=5000.25,
        wallTime=1_796_160_000.75,
    )
    received = _entry(
        "Network.responseReceived",
        requestId="R1",
        type="Document",
        timestamp=5000.5,
        response={"url": "http://a.test/", "status": 200, "headers": {}},
    )
    document = main_document([sent, received], TOP)
    assert document.responded_at == pytest.approx(1_796_160_001.0)
    assert main_document([_sent("R1", "http://a.test/"), received], TOP).responded_at is None


def test_subresource_events_that_merely_quote_document_are_not_read_as_the_page():
    sneaky = 'http://a.test/i.png?q="Document"&"Page.frameNavigated"'
    log = [
        _sent("R1", "http://a.test/"),
        _sent("IMG", sneaky, kind="Image"),
        _received("IMG", sneaky, 500),
        _received("R1", "http://a.test/", 200, "text/html"),
        _entry("Network.responseReceivedExtraInfo", requestId="IMG", headers={"X": "img"}),
        _entry("Network.responseReceivedExtraInfo", requestId="R1", headers={"Set-Cookie": "s=1"}),
        _committed("R1", "http://a.test/"),
    ]
    document = main_document(log, TOP)
    assert (document.status, document.committed) == (200, True)
    assert document.headers.get("set-cookie") == "s=1"
    assert "x" not in document.headers
