"""Calls to action: the buttons and button-like links a visitor is pushed towards.

Candidates are ``<button>``, submit inputs, links styled or marked as buttons (``btn``,
``button``, ``cta`` classes, ``role=button``) and links whose text is a known call to action
(``Start free trial``, ``お問い合わせ``). Cookie-banner buttons and UI controls (menus, close,
carousel arrows) are left out."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from analyzer_lambda.extraction.document import in_any, is_consent, is_hidden, squash

if TYPE_CHECKING:
    from analyzer_lambda.extraction.document import Document

_BUTTON_CLASS = re.compile(r"(?:^|[\s_-])(?:btn|button|cta)(?:$|[\s_-])", re.IGNORECASE)
_CTA_TEXT = re.compile(
    r"\b(?:start|try|get started|sign ?up|signup|register|join|subscribe|buy|order|book a|"
    r"request a|schedule a|contact (?:sales|us)|talk to|get a (?:demo|quote)|free trial|"
    r"download|upgrade|get (?:it|access))\b"
    r"|お問い合わせ|問い合わせ|無料で|始める|はじめる|申し込|申込|登録|資料請求|購入|試す|体験|相談",
    re.IGNORECASE,
)
_CONTROL_TEXT = re.compile(
    r"^(?:accept(?: all)?(?: cookies)?|reject(?: all)?|decline|allow(?: all)?(?: cookies)?|"
    r"(?:cookie )?settings|preferences|manage (?:cookies|preferences)|ok|got it|close|dismiss|"
    r"menu|search|toggle.*|open menu|×|✕|x|next|previous|prev|back|«|»|‹|›|←|→|"
    r"同意する|閉じる|メニュー|検索)$",
    re.IGNORECASE,
)
MAX_CTA_LENGTH = 60
MAX_ACTIONS = 25


def _is_footer(element: Any) -> bool:
    return bool(element.tag == "footer" or element.get("role") == "contentinfo")


def _label(element: Any) -> str:
    if element.tag == "input":
        return squash(element.get("value"))
    text = squash(element.text_content())
    return text or squash(element.get("aria-label") or element.get("title"))


def find_actions(doc: Document) -> list[dict[str, Any]]:
    """Calls to action in page order, deduplicated by text and target."""
    found: list[dict[str, Any]] = []
    seen: set[tuple[str, str | None]] = set()
    candidates = doc.elements(
        "//body//*[self::button or self::a or self::input[@type='submit' or @type='button']"
        " or @role='button']"
    )
    for element in candidates:
        text = _label(element)
        if not text or len(text) > MAX_CTA_LENGTH or _CONTROL_TEXT.match(text):
            continue
        if in_any(element, is_consent) or in_any(element, is_hidden):
            continue
        styled = element.get("role") == "button" or bool(
            _BUTTON_CLASS.search(element.get("class") or "")
        )
        # a form's own submit button ("Send") is an action; toggles and accordions are not
        submits = element.tag in ("button", "input") and (
            element.get("type", "submit") == "submit" and bool(element.xpath("ancestor::form"))
        )
        worded = bool(_CTA_TEXT.search(text))
        if element.tag == "a" and not styled and in_any(element, _is_footer):
            continue
        if not (styled or submits or worded):
            continue
        href = doc.absolute(element.get("href")) if element.tag == "a" else None
        key = (text.lower(), href)
        if key in seen:
            continue
        seen.add(key)
        found.append({"text": text, "href": href})
        if len(found) >= MAX_ACTIONS:
            break
    return found
