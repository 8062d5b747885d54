"""What a page is about: title, description, language, headings outline and a lead text.

The lead is the first meaningful paragraph(s) of the main content: inside ``<main>``,
``role=main`` or ``<article>`` when the page has one, never inside navigation, headers,
footers or cookie banners."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from analyzer_lambda.extraction.document import (
    in_any,
    is_chrome,
    is_hidden,
    squash,
    visible_lines,
)
from analyzer_lambda.extraction.text import count_cjk, guess_language, normalise_lang

if TYPE_CHECKING:
    from collections.abc import Iterator

    from analyzer_lambda.extraction.document import Document

LEAD_CHARS = 300
_MIN_PARAGRAPH_CHARS = 40
_MIN_PARAGRAPH_CJK = 20
_MAX_HEADINGS = 60


def _first(doc: Document, xpath: str) -> str | None:
    for value in doc.elements(xpath):
        text = squash(str(value))
        if text:
            return text
    return None


def find_title(doc: Document, fallback: str | None = None) -> str | None:
    return (
        _first(doc, "//head/title/text() | //title/text()")
        or _first(doc, "//meta[@property='og:title']/@content")
        or squash(fallback)
        or None
    )


def find_description(doc: Document) -> str | None:
    return _first(
        doc, "//meta[translate(@name, 'DESCRIPTION', 'description')='description']/@content"
    ) or _first(doc, "//meta[@property='og:description']/@content")


def find_language(doc: Document) -> tuple[str | None, str | None]:
    """(language, source): source is ``html`` for ``<html lang>``, ``guess`` for a
    script-based guess, None when unknown."""
    declared = normalise_lang(doc.root.get("lang") or doc.root.get("xml:lang"))
    if declared:
        return declared, "html"
    guessed = guess_language(doc.text)
    return (guessed, "guess") if guessed else (None, None)


def find_headings(doc: Document) -> list[dict[str, Any]]:
    headings: list[dict[str, Any]] = []
    for element in doc.elements("//body//*[self::h1 or self::h2 or self::h3]"):
        if in_any(element, is_hidden):
            continue
        text = squash(" ".join(visible_lines(element)))
        if text:
            headings.append({"level": int(element.tag[1]), "text": text})
        if len(headings) >= _MAX_HEADINGS:
            break
    return headings


def _main_root(doc: Document) -> Any:
    for xpath in ("//main", "//*[@role='main']", "//article"):
        found = doc.elements(xpath)
        if found:
            return found[0]
    return doc.body


def _meaningful(text: str) -> bool:
    return len(text) >= _MIN_PARAGRAPH_CHARS or count_cjk(text) >= _MIN_PARAGRAPH_CJK


def _weight(text: str) -> int:
    """Display width: a CJK character carries about as much as two Latin ones."""
    return len(text) + count_cjk(text)


def _shorten(text: str, limit: int) -> str:
    """Cut at a word boundary for spaced scripts; CJK text is cut at the limit."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6 and count_cjk(cut[space:]) == 0:
        cut = cut[:space]
    return cut.rstrip(" ,;:、。") + "…"


def find_lead(doc: Document) -> str | None:
    """Up to ``LEAD_CHARS`` characters from the first meaningful paragraphs of the main
    content; falls back to its visible lines when it has no ``<p>``."""
    root = _main_root(doc)
    paragraphs = (
        squash(" ".join(visible_lines(p)))
        for p in root.iterfind(".//p")
        if not in_any(p, is_chrome) and not in_any(p, is_hidden)
    )
    chosen: Iterator[str] = (p for p in paragraphs if _meaningful(p))
    first = next(chosen, None)
    if first is None:
        chosen = (line for line in visible_lines(root, skip=is_chrome) if _meaningful(line))
    else:
        chosen = itertools.chain([first], chosen)
    lead: list[str] = []
    for text in chosen:  # lazily: a long page stops being read once the lead is long enough
        lead.append(text)
        if sum(_weight(t) for t in lead) >= LEAD_CHARS // 2:
            break
    return _shorten(" ".join(lead), LEAD_CHARS) if lead else None
