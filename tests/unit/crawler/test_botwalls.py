"""The bot-wall detector on recorded interstitials (tests/data/walls/) and on ordinary pages that
share some of their signs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler import botwalls
from crawler.botwalls import Evidence, detect_wall, headers_from_pairs

WALLS = Path(__file__).resolve().parents[2] / "data" / "walls"


def recorded(name: str) -> Evidence:
    meta = json.loads((WALLS / f"{name}.json").read_text())
    html = (WALLS / f"{name}.html").read_text(encoding="utf-8")
    return Evidence(meta["status"], headers_from_pairs(meta["headers"]), html)


@pytest.mark.parametrize(
    ("name", "service", "signal"),
    [
        ("cloudflare_managed_challenge", botwalls.CLOUDFLARE, "cf-mitigated: challenge header"),
        ("akamai_access_denied", botwalls.AKAMAI, "Akamai reference number"),
        ("datadome_captcha", botwalls.DATADOME, "captcha-delivery.com challenge"),
        ("perimeterx_press_and_hold", botwalls.PERIMETERX, "#px-captcha element"),
        ("imperva_incapsula", botwalls.IMPERVA, "_Incapsula_Resource frame"),
        ("captcha_wall", botwalls.CAPTCHA, "bot-check title"),
    ],
)
def test_recorded_interstitials_are_walls_of_their_service(
    name: str, service: str, signal: str
) -> None:
    wall = detect_wall(recorded(name))
    assert wall is not None, name
    assert wall.service == service
    assert signal in wall.signals
    assert wall.message.startswith(f"{service} bot wall: ")
    assert signal in wall.message


@pytest.mark.parametrize(
    "name", ["mentions_cloudflare", "contact_form_recaptcha", "datadome_protected_page"]
)
def test_ordinary_pages_with_some_signs_are_not_walls(name: str) -> None:
    assert detect_wall(recorded(name)) is None


def test_cloudflare_challenge_without_its_header_is_still_recognised_by_the_page() -> None:
    """A challenge seen without ``cf-mitigated`` (an older challenge, or headers not carried):
    the title, the challenge elements and script give it away on a near-empty page."""
    evidence = recorded("cloudflare_managed_challenge")
    wall = detect_wall(Evidence(200, {}, evidence.html))
    assert wall is not None
    assert wall.service == botwalls.CLOUDFLARE
    assert "challenge title" in wall.signals
    assert "challenge or block page elements" in wall.signals


def test_the_challenge_header_alone_is_decisive() -> None:
    """Cloudflare documents ``cf-mitigated: challenge`` as set on every challenge page."""
    ordinary = recorded("mentions_cloudflare")
    headers = {**ordinary.headers, "cf-mitigated": "Challenge"}
    wall = detect_wall(Evidence(403, headers, ordinary.html))
    assert wall is not None
    assert wall.service == botwalls.CLOUDFLARE


def test_a_rendered_wall_is_recognised_with_the_title_the_browser_read() -> None:
    html = "<html><body><div id='px-captcha'></div><p>Press &amp; Hold</p></body></html>"
    wall = detect_wall(Evidence(403, {}, html, title="Access to this page has been denied"))
    assert wall is not None
    assert wall.service == botwalls.PERIMETERX
    assert "access-denied title" in wall.signals


def test_headers_and_cookies_alone_never_make_a_wall() -> None:
    """Protected sites send their vendor's headers and cookies with every page."""
    headers = headers_from_pairs(
        {
            "X-DataDome": "protected",
            "X-Iinfo": "1-2-3",
            "X-CDN": "Incapsula",
            "Set-Cookie": ["_px3=a; path=/", "incap_ses_1_2=b", "datadome=c"],
            "Server": "cloudflare",
        }
    )
    assert detect_wall(Evidence(403, headers, "<html><body>Forbidden</body></html>")) is None


def test_a_short_page_titled_just_a_moment_is_not_enough() -> None:
    """An app shell may say "Just a moment..." while it loads: one sign is not a wall."""
    html = "<html><head><title>Just a moment...</title></head><body>Loading</body></html>"
    assert detect_wall(Evidence(200, {"server": "cloudflare"}, html)) is None


def test_a_plain_403_is_an_http_error_not_a_wall() -> None:
    html = "<html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1></body></html>"
    assert detect_wall(Evidence(403, {"server": "nginx"}, html)) is None


def test_empty_and_unparsable_bodies_are_not_walls() -> None:
    assert detect_wall(Evidence(200, {}, "")) is None
    assert detect_wall(Evidence(None, {}, "<?xml version='1.0' encoding='utf-8'?><a/>")) is None


def test_a_huge_page_is_not_parsed_but_a_decisive_header_still_counts() -> None:
    huge = "<html><body>" + "<p>word</p>" * 100_000 + "<div id='px-captcha'></div></body></html>"
    assert detect_wall(Evidence(403, {}, huge)) is None
    assert detect_wall(Evidence(403, {"cf-mitigated": "challenge"}, huge)) is not None


def test_headers_from_pairs_joins_repeated_headers() -> None:
    headers = headers_from_pairs({"Set-Cookie": ["a=1", "b=2"], "set-cookie": "c=3"})
    assert headers == {"set-cookie": "a=1\nb=2\nc=3"}


@pytest.mark.parametrize(
    ("status", "header", "value", "service"),
    [
        (405, "x-amzn-waf-action", "captcha", botwalls.AWS_WAF),
        (202, "x-amzn-waf-action", "challenge", botwalls.AWS_WAF),
        (429, "x-vercel-mitigated", "challenge", botwalls.VERCEL),
    ],
)
def test_documented_challenge_headers_of_other_services_are_decisive(
    status: int, header: str, value: str, service: str
) -> None:
    html = "<html><head><title>Human Verification</title></head><body></body></html>"
    wall = detect_wall(Evidence(status, {header: value}, html))
    assert wall is not None
    assert wall.service == service
    assert detect_wall(Evidence(200, {header: "allow"}, html)) is None
