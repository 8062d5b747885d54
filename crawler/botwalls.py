"""Recognises a bot wall served in place of a page: a challenge, captcha or access-denied
interstitial of Cloudflare, Akamai, DataDome, PerimeterX (HUMAN), Imperva (Incapsula), or a
generic captcha wall; AWS WAF and Vercel by the headers they document. Pure: status, headers
and HTML in, a verdict out (issue #11, part 3).

Why a score and not a keyword: most of these signs also appear on ordinary pages. A site behind
Cloudflare answers every page with ``server: cloudflare``; DataDome, PerimeterX and Imperva put
their headers, cookies and sensor scripts on every protected page; a contact form carries a
reCAPTCHA; a blog post may quote a challenge page's markup; a content-security-policy header
names ``challenges.cloudflare.com``. So each sign has a weight, and a page is a wall when:

- a service states that it challenged the request (``cf-mitigated: challenge``, documented by
  Cloudflare): a *decisive* sign; or
- the page says next to nothing (walls do), at least one *strong* sign of one service is there
  (a page signature, never a header or cookie alone, since those are on every protected page),
  and that service's signs with the generic ones (an error status, the near-empty page, an
  "Access denied" title) weigh at least ``_THRESHOLD``.

The signatures were written from the services' public descriptions of their block and challenge
pages. The tool never tries to pass a wall (README, "Bot walls"): it records what it saw.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import lxml.html
from lxml import etree

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

CLOUDFLARE = "Cloudflare"
AKAMAI = "Akamai"
DATADOME = "DataDome"
PERIMETERX = "PerimeterX (HUMAN)"
IMPERVA = "Imperva (Incapsula)"
AWS_WAF = "AWS WAF"
VERCEL = "Vercel"
CAPTCHA = "captcha wall"

_THRESHOLD = 4
_STRONG = 2
_DECISIVE = 4
# A wall says a sentence or two; a page that says this much is the site's own page.
_FEW_WORDS = 120
_FEW_LINKS = 8
# Walls are small pages: beyond this only headers and the title are read, so a several-MB page
# costs no parse here.
_MAX_PARSED = 512 * 1024
_ERROR_STATUSES = frozenset({401, 403, 405, 429, 503})


@dataclass(frozen=True)
class Evidence:
    """What a response showed. ``headers`` have lower-case names; repeated headers (several
    ``set-cookie``) are joined with newlines."""

    status: int | None
    headers: Mapping[str, str]
    html: str
    title: str | None = None


@dataclass(frozen=True)
class Wall:
    service: str
    signals: tuple[str, ...]
    score: int

    @property
    def message(self) -> str:
        """The record's ``error.message``: which service, and the signs that gave it away."""
        return f"{self.service} bot wall: {'; '.join(self.signals)}"


@dataclass(frozen=True)
class _Page:
    """The parts of a response the signatures look at, each read once."""

    status: int | None
    headers: Mapping[str, str]
    title: str
    html: str  # lower-cased, for markers in scripts and attributes
    text: str  # visible text, whitespace collapsed
    words: int
    links: int
    ids: frozenset[str]
    classes: frozenset[str]
    cookies: frozenset[str]  # names set by this response

    def header(self, name: str) -> str:
        return self.headers.get(name, "").strip().lower()


@dataclass(frozen=True)
class _Sign:
    service: str | None  # None: generic, adds to whichever service is suspected
    weight: int
    label: str
    test: Callable[[_Page], bool]


def _has_id(*ids: str) -> Callable[[_Page], bool]:
    return lambda page: not page.ids.isdisjoint(ids)


def _has_class(*classes: str) -> Callable[[_Page], bool]:
    return lambda page: not page.classes.isdisjoint(classes)


def _in_html(pattern: str) -> Callable[[_Page], bool]:
    regex = re.compile(pattern)
    return lambda page: regex.search(page.html) is not None


def _in_text(pattern: str) -> Callable[[_Page], bool]:
    regex = re.compile(pattern, re.IGNORECASE)
    return lambda page: regex.search(page.text) is not None


def _title(pattern: str) -> Callable[[_Page], bool]:
    regex = re.compile(pattern, re.IGNORECASE)
    return lambda page: regex.search(page.title) is not None


def _cookie(*prefixes: str) -> Callable[[_Page], bool]:
    return lambda page: any(name.startswith(prefixes) for name in page.cookies)


def _error_status(page: _Page) -> bool:
    return page.status in _ERROR_STATUSES


def _little_content(page: _Page) -> bool:
    return page.words < _FEW_WORDS and page.links < _FEW_LINKS


_SIGNS: tuple[_Sign, ...] = (
    # Cloudflare: its documented challenge header; the challenge page's title, form and
    # orchestration script (the JavaScript-detection script it injects into ordinary pages lives
    # under /cdn-cgi/challenge-platform/scripts/ and is not counted); the block page's ids.
    _Sign(CLOUDFLARE, _DECISIVE, "cf-mitigated: challenge header",
          lambda p: p.header("cf-mitigated") == "challenge"),
    _Sign(CLOUDFLARE, 1, "server: cloudflare with an error status",
          lambda p: p.header("server") == "cloudflare" and _error_status(p)),
    _Sign(CLOUDFLARE, 2, "challenge title",
          _title(r"^\s*(just a moment\.*|attention required! \| cloudflare|"
                 r"please wait\.* \| cloudflare)\s*$")),
    _Sign(CLOUDFLARE, 2, "challenge script (_cf_chl_opt, challenge-platform/h/)",
          _in_html(r"_cf_chl_opt|/cdn-cgi/challenge-platform/h/")),
    _Sign(CLOUDFLARE, 2, "challenge or block page elements",
          _has_id("challenge-form", "challenge-running", "challenge-error-text",
                  "challenge-stage", "cf-challenge-running", "cf-error-details", "cf-wrapper")),
    _Sign(CLOUDFLARE, 1, "challenge wording",
          _in_text(r"checking (if the site connection is secure|your browser before accessing)"
                   r"|needs to review the security of your connection"
                   r"|sorry, you have been blocked")),
    # Akamai: the edge's "Access Denied" page and its reference number.
    _Sign(AKAMAI, 2, "Akamai reference number",
          _in_text(r"reference\s*#\s*\d+\.[0-9a-f]+\.\d+\.[0-9a-f]+")),
    _Sign(AKAMAI, 2, "errors.edgesuite.net link", _in_text(r"errors\.edgesuite\.net")),
    _Sign(AKAMAI, 1, "server: AkamaiGHost with an error status",
          lambda p: "akamaighost" in p.header("server") and _error_status(p)),
    _Sign(AKAMAI, 1, "\"You don't have permission to access\"",
          _in_text(r"you don.t have permission to access")),
    # DataDome: the captcha is delivered from captcha-delivery.com with a ``dd`` object. Its
    # header, cookie and tag script (js.datadome.co) are on every protected page: weak signs.
    _Sign(DATADOME, 2, "captcha-delivery.com challenge",
          _in_html(r"captcha-delivery\.com|var\s+dd\s*=\s*\{[^}]*'cid'")),
    _Sign(DATADOME, 1, "x-datadome header",
          lambda p: "x-datadome" in p.headers or "x-dd-b" in p.headers),
    _Sign(DATADOME, 1, "datadome cookie", _cookie("datadome")),
    # PerimeterX / HUMAN: the "Press & Hold" block page.
    _Sign(PERIMETERX, 2, "#px-captcha element", _has_id("px-captcha")),
    _Sign(PERIMETERX, 2, "PerimeterX captcha script",
          _in_html(r"captcha\.px-cdn\.net|captcha\.px-cloud\.net|/captcha/captcha\.js")),
    _Sign(PERIMETERX, 1, "_pxAppId script", _in_html(r"_pxappid")),
    _Sign(PERIMETERX, 1, "\"Press & Hold\"", _in_text(r"press\s*(&|and)\s*hold")),
    _Sign(PERIMETERX, 1, "_px cookie", _cookie("_px")),
    # Imperva / Incapsula: the block page is an iframe onto /_Incapsula_Resource.
    _Sign(IMPERVA, 2, "_Incapsula_Resource frame", _in_html(r"/_incapsula_resource")),
    _Sign(IMPERVA, 2, "Incapsula incident ID", _in_html(r"incapsula incident id")),
    _Sign(IMPERVA, 1, "x-iinfo header", lambda p: "x-iinfo" in p.headers),
    _Sign(IMPERVA, 1, "x-cdn: Incapsula/Imperva header",
          lambda p: p.header("x-cdn") in {"incapsula", "imperva"}),
    _Sign(IMPERVA, 1, "incap_ses/visid_incap cookie", _cookie("incap_ses", "visid_incap")),
    # Services that state their challenge in a documented header (AWS WAF: 202 challenge or
    # 405 captcha; Vercel's challenge mode): decisive, like Cloudflare's.
    _Sign(AWS_WAF, _DECISIVE, "x-amzn-waf-action header",
          lambda p: p.header("x-amzn-waf-action") in {"challenge", "captcha"}),
    _Sign(VERCEL, _DECISIVE, "x-vercel-mitigated: challenge header",
          lambda p: p.header("x-vercel-mitigated") == "challenge"),
    # A generic captcha wall: a captcha widget on a page that is about nothing but the check.
    _Sign(CAPTCHA, 1, "captcha widget (reCAPTCHA, hCaptcha or Turnstile)",
          lambda p: not p.classes.isdisjoint({"g-recaptcha", "h-captcha", "cf-turnstile"})
          or re.search(r"recaptcha/api\.js|hcaptcha\.com/1/api\.js|turnstile/v0/api\.js",
                       p.html) is not None),
    _Sign(CAPTCHA, 2, "bot-check title",
          _title(r"captcha|are you (a )?(robot|human)|verify(ing)? (that )?you are (a )?human"
                 r"|security check|bot (check|protection)|human verification|unusual traffic")),
    # Generic: they make a suspected service's case, never one of their own.
    _Sign(None, 1, "an error status", _error_status),
    _Sign(None, 1, "little else on the page", _little_content),
    _Sign(None, 1, "access-denied title",
          _title(r"access (is )?denied|access to this page has been denied|forbidden"
                 r"|you have been blocked|request (was )?blocked")),
)  # fmt: skip


def detect_wall(evidence: Evidence) -> Wall | None:
    """The wall the response is, or None for the site's own page."""
    page = _read(evidence)
    specific: defaultdict[str, list[_Sign]] = defaultdict(list)
    generic: list[_Sign] = []
    for sign in _SIGNS:
        if sign.test(page):
            (specific[sign.service] if sign.service else generic).append(sign)
    best: Wall | None = None
    for service, signs in specific.items():
        strongest = max(s.weight for s in signs)
        total = sum(s.weight for s in (*signs, *generic))
        if strongest < _DECISIVE and not (
            _little_content(page) and strongest >= _STRONG and total >= _THRESHOLD
        ):
            continue
        if best is None or total > best.score:
            best = Wall(service, tuple(s.label for s in (*signs, *generic)), total)
    return best


def headers_from_pairs(pairs: Mapping[str, str | list[str]]) -> dict[str, str]:
    """Lower-cased names, several values joined by newlines (as ``Evidence.headers`` wants)."""
    out: dict[str, str] = {}
    for name, value in pairs.items():
        text = "\n".join(value) if isinstance(value, list) else value
        key = name.lower()
        out[key] = f"{out[key]}\n{text}" if key in out else text
    return out


def _read(evidence: Evidence) -> _Page:
    html = evidence.html or ""
    title = evidence.title or ""
    text, words, links = "", _FEW_WORDS, _FEW_LINKS
    ids: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    if html.strip() and len(html) <= _MAX_PARSED:
        text, words, links, ids, classes, parsed_title = _parse(html)
        title = title or parsed_title
    return _Page(
        status=evidence.status,
        headers=evidence.headers,
        title=" ".join(title.split()),
        html=html[:_MAX_PARSED].lower(),
        text=text,
        words=words,
        links=links,
        ids=ids,
        classes=classes,
        cookies=_cookie_names(evidence.headers.get("set-cookie", "")),
    )


def _parse(html: str) -> tuple[str, int, int, frozenset[str], frozenset[str], str]:
    try:
        root = lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return "", _FEW_WORDS, _FEW_LINKS, frozenset(), frozenset(), ""
    title = root.findtext(".//title") or ""
    ids = frozenset(str(v).lower() for v in root.xpath("//@id"))
    classes = frozenset(
        name.lower() for value in root.xpath("//@class") for name in str(value).split()
    )
    links = len(root.xpath("//a[@href]"))
    for hidden in root.xpath("//script|//style|//noscript|//template|//head"):
        if hidden.getparent() is not None:
            hidden.drop_tree()
    text = " ".join(root.text_content().split())
    return text, len(text.split()), links, ids, classes, title


def _cookie_names(set_cookie: str) -> frozenset[str]:
    names = set()
    for line in set_cookie.splitlines():
        name = line.split("=", 1)[0].strip().lower()
        if name:
            names.add(name)
    return frozenset(names)
