"""Ways to reach a company: e-mail addresses, phone numbers and social profiles.

Phones are found conservatively: ``tel:`` links always count; a number in the text counts only
when it is written as a phone (``+`` country code, a ``Tel``/``Phone``/``電話`` label just
before it, or a toll-free prefix), so dates, order numbers and prices stay out."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from analyzer_lambda.extraction.document import Document

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b"
)
_NOT_EMAIL_TLDS = frozenset({"png", "jpg", "jpeg", "gif", "webp", "svg", "avif", "css", "js"})
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d{1,5}(?:[\s.-]\d{2,5}){1,4}(?![\w-])"
)
_PHONE_LABEL = re.compile(
    r"(?:tel|phone|call(?: us)?(?: at| on)?|mobile|fax|電話番号?|TEL|☎|📞|お電話)\s*[:：.]?\s*$",
    re.IGNORECASE,
)
_TOLL_FREE = re.compile(r"^(?:0120|0800|0570|1[\s.-]?8(?:00|33|44|55|66|77|88))")
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 8, 15

# network → hosts; share/intent links are buttons to share the page, not the company's profile.
_SOCIAL_HOSTS = {
    "x": ("twitter.com", "x.com"),
    "linkedin": ("linkedin.com",),
    "facebook": ("facebook.com", "fb.com"),
    "instagram": ("instagram.com",),
    "youtube": ("youtube.com", "youtu.be"),
    "github": ("github.com",),
    "tiktok": ("tiktok.com",),
}
_SHARE_PATH = re.compile(r"^/(?:intent|share|sharer|shareArticle|sharing|dialog)", re.IGNORECASE)


def find_emails(doc: Document) -> list[str]:
    found: dict[str, None] = {}
    for href in doc.elements(
        "//a[starts-with(translate(@href, 'MAILTO', 'mailto'), 'mailto:')]/@href"
    ):
        address = unquote(str(href)[7:].split("?", 1)[0]).strip()
        if _EMAIL.fullmatch(address):
            found.setdefault(address.lower())
    for match in _EMAIL.finditer(doc.text):
        address = match[0]
        if address.rsplit(".", 1)[-1].lower() not in _NOT_EMAIL_TLDS:
            found.setdefault(address.lower())
    return list(found)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def find_phones(doc: Document) -> list[str]:
    """Numbers as written on the page (``tel:`` targets without the scheme), deduplicated by
    their digits."""
    found: dict[str, str] = {}
    for href in doc.elements("//a[starts-with(translate(@href, 'TEL', 'tel'), 'tel:')]/@href"):
        number = unquote(str(href)[4:]).strip()
        if MIN_PHONE_DIGITS - 2 <= len(_digits(number)) <= MAX_PHONE_DIGITS:
            found.setdefault(_digits(number), number)
    for line in doc.lines:
        for match in _PHONE.finditer(line):
            number = match[0].strip()
            digits = _digits(number)
            if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
                continue
            labelled = _PHONE_LABEL.search(line[max(0, match.start() - 20) : match.start()])
            if number.startswith("+") or labelled or _TOLL_FREE.match(number):
                found.setdefault(digits, number)
    return list(found.values())


def social_network(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    if parts.scheme not in ("http", "https") or _SHARE_PATH.match(parts.path):
        return None
    for network, hosts in _SOCIAL_HOSTS.items():
        if any(host == h or host.endswith("." + h) for h in hosts):
            return network if parts.path.strip("/") else None
    return None


def find_social(doc: Document) -> list[dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for href in doc.elements("//a/@href"):
        url = doc.absolute(str(href))
        network = social_network(url) if url else None
        if url and network:
            found.setdefault(url.rstrip("/"), {"network": network, "url": url})
    return list(found.values())


def find_contacts(doc: Document) -> dict[str, Any]:
    return {"emails": find_emails(doc), "phones": find_phones(doc), "social": find_social(doc)}
