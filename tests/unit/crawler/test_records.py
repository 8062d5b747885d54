from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import HtmlResponse, Request, Response
from twisted.internet import error as net

from crawler.exceptions import BlockedAddressError, BrowserCrashedError, PageTimeoutError
from crawler.politeness.robots import RobotsDisallowedError
from crawler.records import error_info, failed_page, rendered_page
from rivalscope_core.records import PageRecord, Screenshot


@pytest.mark.parametrize(
    ("exc", "error_type"),
    [
        (net.DNSLookupError("no such host"), "dns"),
        (CannotResolveHostError("no such host"), "dns"),
        (DownloadConnectionRefusedError("111"), "connection_refused"),
        (DownloadTimeoutError("60 s"), "timeout"),
        (DownloadFailedError("reset"), "connection_failed"),
        (net.ConnectionRefusedError(), "connection_refused"),
        (net.TCPTimedOutError(), "timeout"),
        (net.TimeoutError(), "timeout"),
        (net.ConnectionLost(), "connection_lost"),
        (RobotsDisallowedError("x"), "robots_disallowed"),
        (IgnoreRequest("x"), "ignored"),
        (PageTimeoutError("slow"), "timeout"),
        (BrowserCrashedError("gone"), "browser_crash"),
        (BlockedAddressError("10.0.0.1"), "blocked_address"),
        (RuntimeError("?"), "error"),
    ],
)
def test_failures_map_to_error_types_by_class(exc: Exception, error_type: str) -> None:
    info = error_info(exc)
    assert info.type == error_type
    assert type(exc).__name__ in info.message


def test_a_failed_page_is_a_full_record() -> None:
    record = failed_page("https://a.example/", net.DNSLookupError("x"), "pricing")
    data = record.to_dict()
    assert set(data) == set(PageRecord.__dataclass_fields__)
    assert (data["status"], data["final_url"], data["prompt"]) == (None, None, "pricing")
    assert data["error"]["type"] == "dns"
    assert data["crawled_at"].endswith("Z")


def _html(url: str, status: int, body: bytes) -> HtmlResponse:
    return HtmlResponse(url, status=status, body=body, encoding="utf-8", request=Request(url))


def test_plain_response_record_takes_title_and_final_url() -> None:
    response = _html("https://a.example/final", 200, b"<title> Price \n list </title><p>x")
    record = rendered_page("https://a.example/start", response, None)
    assert (record.url, record.final_url, record.status) == (
        "https://a.example/start",
        "https://a.example/final",
        200,
    )
    assert record.title == "Price list"
    assert record.screenshot is None
    assert record.error is None


def test_http_error_status_is_recorded_with_the_page() -> None:
    record = rendered_page("https://a.example/x", _html("https://a.example/x", 503, b"busy"), None)
    assert record.error is not None
    assert (record.error.type, record.status, record.body) == ("http_status", 503, "busy")


def test_non_text_response_has_no_body_or_title() -> None:
    url = "https://a.example/a.pdf"
    headers = {"Content-Type": "application/pdf"}
    response = Response(url, status=200, body=b"%PDF", headers=headers, request=Request(url))
    record = rendered_page("https://a.example/a.pdf", response, None)
    assert (record.body, record.title, record.final_url) == ("", None, url)
    assert record.error is not None
    assert (record.error.type, record.error.message) == (
        "not_a_page",
        "application/pdf is a file, not a web page",
    )


def test_rendered_page_comes_from_the_selenium_page() -> None:
    shot = Screenshot(format="webp", width=1280, height=2000, data="AAAA")
    request = Request("https://a.example/")
    response = HtmlResponse(
        "https://a.example/after",
        body=b"<title>raw</title>",
        encoding="utf-8",
        request=request,
    )
    request.meta["selenium_page"] = SimpleNamespace(
        requested_url="https://a.example/",
        final_url="https://a.example/after",
        status=200,
        title="Rendered",
        html="<html>rendered</html>",
        screenshot=shot,
    )
    record = rendered_page("https://a.example/", response, "p")
    assert record.title == "Rendered"
    assert record.body == "<html>rendered</html>"
    assert record.to_dict()["screenshot"] == {
        "format": "webp",
        "width": 1280,
        "height": 2000,
        "data": "AAAA",
        "truncated": False,
        "page_height": None,
        "renderer": None,
    }


@pytest.mark.parametrize(
    ("marker", "error_type"),
    [
        ("blocked_address", "blocked_address"),
        ("dns", "dns"),
        ("connection_refused", "connection_refused"),
        ("something-new", "blocked_address"),  # an unknown verdict is still the guard's refusal
    ],
)
def test_a_refusal_answered_by_the_guard_proxy_is_not_the_sites_status(
    marker: str, error_type: str
) -> None:
    url = "http://10.0.0.1/"
    response = HtmlResponse(
        url,
        status=403 if marker == "blocked_address" else 502,
        headers={"X-Rivalscope-Netguard": marker},
        body=b"Blocked by rivalscope's private-address guard: 10.0.0.1",
        encoding="utf-8",
        request=Request(url),
    )
    record = rendered_page(url, response, None)
    assert record.error is not None
    assert (record.error.type, record.status, record.body) == (error_type, None, "")


def test_an_answer_that_is_no_page_is_recorded_with_its_own_url_and_status() -> None:
    request = Request("https://a.example/prices.pdf")
    response = Response("https://a.example/prices.pdf", status=200, request=request)
    request.meta["selenium_page"] = SimpleNamespace(
        requested_url="https://a.example/prices.pdf",
        final_url="https://a.example/prices.pdf",
        status=200,
        title="",
        html="",
        screenshot=None,
        content_type="application/pdf",
        not_a_page="application/pdf is a download, not a page: the browser did not show it",
    )
    record = rendered_page("https://a.example/prices.pdf", response, None)
    assert (record.final_url, record.status, record.body, record.screenshot) == (
        "https://a.example/prices.pdf",
        200,
        "",
        None,
    )
    assert record.error is not None
    assert record.error.type == "not_a_page"
    assert "application/pdf" in record.error.message


def test_an_http_error_wins_over_no_page() -> None:
    request = Request("https://a.example/gone.pdf")
    response = Response("https://a.example/gone.pdf", status=404, request=request)
    request.meta["selenium_page"] = SimpleNamespace(
        final_url="https://a.example/gone.pdf",
        status=404,
        title="",
        html="",
        screenshot=None,
        not_a_page="application/pdf is a file, not a web page",
    )
    error = rendered_page("https://a.example/gone.pdf", response, None).error
    assert error is not None
    assert error.type == "http_status"


WALLS = Path(__file__).resolve().parents[2] / "data" / "walls"


def test_a_plain_bot_wall_is_blocked_by_site_with_its_body_kept() -> None:
    """A wall answered 200 is not the page: its record names the service and the signs."""
    body = (WALLS / "imperva_incapsula.html").read_bytes()
    response = HtmlResponse(
        "https://a.example/",
        status=200,
        headers={"X-Iinfo": "4-1-0", "Set-Cookie": ["incap_ses_1_2=x", "visid_incap_2=y"]},
        body=body,
        encoding="utf-8",
        request=Request("https://a.example/"),
    )
    record = rendered_page("https://a.example/", response, None)
    assert record.error is not None
    assert record.error.type == "blocked_by_site"
    assert record.error.message.startswith("Imperva (Incapsula) bot wall: ")
    assert "x-iinfo header" in record.error.message
    assert "incap_ses/visid_incap cookie" in record.error.message
    assert record.body == body.decode()
    assert record.status == 200


def test_a_rendered_bot_wall_uses_the_headers_the_browser_saw() -> None:
    shot = Screenshot(format="webp", width=1280, height=800, data="AAAA")
    request = Request("https://a.example/")
    response = HtmlResponse("https://a.example/", body=b"", encoding="utf-8", request=request)
    request.meta["selenium_page"] = SimpleNamespace(
        requested_url="https://a.example/",
        final_url="https://a.example/",
        status=403,
        title="Just a moment...",
        html="<html><body><p>One moment.</p></body></html>",
        screenshot=shot,
        headers={"server": "cloudflare", "cf-mitigated": "challenge"},
    )
    record = rendered_page("https://a.example/", response, None)
    assert record.error is not None
    assert record.error.type == "blocked_by_site"
    assert "cf-mitigated: challenge header" in record.error.message
    assert record.screenshot == shot  # kept for a person to look at
    assert record.title == "Just a moment..."


def test_an_ordinary_403_stays_an_http_status_error() -> None:
    record = rendered_page(
        "https://a.example/", _html("https://a.example/", 403, b"<h1>no</h1>"), None
    )
    assert record.error is not None
    assert record.error.type == "http_status"
