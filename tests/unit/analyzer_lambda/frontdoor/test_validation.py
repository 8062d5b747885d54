"""``POST /runs`` bodies: what is accepted, and the 4xx answer for each mistake, naming it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from analyzer_lambda.frontdoor.http import ApiError
from analyzer_lambda.frontdoor.validation import Limits, RunRequest, parse_run_request
from rivalscope_core.addresses import AddressPolicy

LIMITS = Limits(max_urls=3, max_pages=5, max_body=10_000)
ADDRESSES = {
    "a.example": ["93.184.215.14"],
    "b.example": ["93.184.215.15"],
    "c.example": ["93.184.215.16"],
    "d.example": ["93.184.215.17"],
    "intranet.example": ["10.1.2.3"],
    "metadata.example": ["169.254.169.254"],
}


def _resolve(host: str, port: int) -> list[str]:
    if host not in ADDRESSES:
        raise OSError("Name or service not known")
    return ADDRESSES[host]


POLICY = AddressPolicy.from_entries([], resolver=_resolve)


def _parse(data: Any, policy: AddressPolicy = POLICY) -> RunRequest:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return parse_run_request(body, LIMITS, policy, lambda name: name == "pricing")


def _error(data: Any, policy: AddressPolicy = POLICY) -> ApiError:
    with pytest.raises(ApiError) as info:
        _parse(data, policy)
    return info.value


def test_a_good_request_is_normalised() -> None:
    request = _parse(
        {
            "urls": [
                "HTTPS://A.example/pricing",
                "https://a.example/pricing",
                "https://b.example",
            ],
            "prompt": "  What plans do they sell?  ",
            "max_pages": 2,
        }
    )
    assert request.urls == ("https://a.example/pricing", "https://b.example/")
    assert (request.prompt_name, request.prompt_text) == (None, "What plans do they sell?\n")
    assert request.max_pages == 2


def test_a_one_word_prompt_is_a_stored_prompt_name() -> None:
    request = _parse({"urls": ["https://a.example/"], "prompt": "pricing"})
    assert (request.prompt_name, request.prompt_text, request.max_pages) == ("pricing", None, 1)
    error = _error({"urls": ["https://a.example/"], "prompt": "pricng"})
    assert (error.status, error.code) == (400, "unknown_prompt")
    assert "prompts/pricng.md" in error.message


@pytest.mark.parametrize("prompt", [None, "", "   \n", 42])
def test_an_empty_prompt_is_refused(prompt: Any) -> None:
    error = _error({"urls": ["https://a.example/"], "prompt": prompt})
    assert (error.status, error.code, error.details["field"]) == (400, "empty_prompt", "prompt")


def test_bad_urls_are_each_named_with_the_reason() -> None:
    error = _error(
        {
            "urls": ["ftp://a.example/x", "a.example/pricing", 7, "https://ok.example"],
            "prompt": "pricing",
        }
    )
    assert (error.status, error.code) == (400, "bad_urls")
    problems = {p["url"]: p["problem"] for p in error.details["urls"]}
    assert set(problems) == {"ftp://a.example/x", "a.example/pricing", "7"}
    assert "only http:// and https://" in problems["ftp://a.example/x"]
    assert "https://a.example/pricing" in problems["a.example/pricing"]  # the fix, spelled out


@pytest.mark.parametrize("urls", [[], "https://a.example", None])
def test_urls_must_be_a_non_empty_list(urls: Any) -> None:
    assert _error({"urls": urls, "prompt": "pricing"}).code == "no_urls"


def test_too_many_urls_names_the_limit() -> None:
    urls = [f"https://{host}.example/" for host in "abcd"]
    error = _error({"urls": urls, "prompt": "pricing"})
    assert (error.status, error.code, error.details["limit"]) == (400, "too_many_urls", 3)
    assert "at most 3" in error.message


@pytest.mark.parametrize("max_pages", [0, -1, 6, 2.5, "3", True])
def test_max_pages_out_of_range_is_refused(max_pages: Any) -> None:
    error = _error({"urls": ["https://a.example/"], "prompt": "pricing", "max_pages": max_pages})
    assert (error.code, error.details["minimum"], error.details["maximum"]) == (
        "max_pages_out_of_range",
        1,
        5,
    )


def test_the_private_address_guard_applies_to_requested_urls() -> None:
    error = _error(
        {
            "urls": [
                "https://a.example/",
                "http://intranet.example/wiki",
                "http://metadata.example/latest/",
            ],
            "prompt": "pricing",
        }
    )
    assert (error.status, error.code) == (400, "blocked_address")
    refused = {p["url"]: p["problem"] for p in error.details["urls"]}
    assert set(refused) == {"http://intranet.example/wiki", "http://metadata.example/latest/"}
    assert "10.1.2.3, a private address" in refused["http://intranet.example/wiki"]
    assert "ALLOW_PRIVATE_ADDRESSES=intranet.example:80" in refused["http://intranet.example/wiki"]
    # literal addresses too, without any lookup
    assert _error({"urls": ["http://127.0.0.1:8080/"], "prompt": "pricing"}).code == (
        "blocked_address"
    )


def test_an_exempted_private_site_is_accepted() -> None:
    policy = AddressPolicy.from_entries(["intranet.example:80"], resolver=_resolve)
    assert _parse({"urls": ["http://intranet.example/"], "prompt": "pricing"}, policy).urls


def test_a_host_that_does_not_resolve_is_refused() -> None:
    error = _error({"urls": ["https://nowhere.example/"], "prompt": "pricing"})
    assert (error.status, error.code) == (400, "unresolvable_host")


@pytest.mark.parametrize(
    ("body", "code"),
    [(b"{not json", "bad_json"), (b"[1, 2]", "bad_request"), (b"", "bad_request")],
)
def test_a_body_that_is_not_a_json_object_is_refused(body: bytes, code: str) -> None:
    assert _error(body).code == code


def test_an_unknown_field_is_named() -> None:
    error = _error({"urls": ["https://a.example/"], "prompt": "pricing", "max_page": 2})
    assert (error.code, error.details["fields"]) == ("unknown_field", ["max_page"])


def test_a_body_over_the_limit_is_413() -> None:
    error = _error(json.dumps({"urls": ["https://a.example/"], "prompt": "x" * 20_000}).encode())
    assert (error.status, error.code) == (413, "body_too_large")


def test_a_watch_list_gives_competitors_and_counts_against_the_limit() -> None:
    watchlist = {
        "competitors": [
            {"name": "Acme", "urls": ["https://a.example/pricing"], "prompt": "pricing"}
        ]
    }
    request = _parse({"watchlist": watchlist, "urls": ["https://b.example/"], "prompt": "pricing"})
    assert request.watchlist is not None
    assert [c.name for c in request.watchlist.competitors] == ["Acme"]
    assert request.all_urls == ["https://a.example/pricing", "https://b.example/"]
    bad = {"competitors": [{"name": "Acme", "urls": ["https://a.example/"], "prompt": "/etc/x"}]}
    error = _error({"watchlist": bad, "prompt": "pricing"})
    assert (error.code, error.details["field"]) == ("bad_watchlist", "watchlist")
    assert "is not the NAME of a prompt" in error.message


def test_a_rewrite_maps_urls_before_they_are_checked() -> None:
    request = parse_run_request(
        json.dumps({"urls": ["http://acme.demo/pricing.html"], "prompt": "pricing"}).encode(),
        LIMITS,
        POLICY,
        lambda name: True,
        rewrite_url=lambda url: url.replace("acme.demo", "a.example"),
    )
    assert request.urls == ("http://a.example/pricing.html",)
