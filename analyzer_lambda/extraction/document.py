"""The parsed page the extractors share: an lxml tree plus the visible text as lines.

Parsing happens once per page; every extractor reads the same ``Document``. It is built per
call and never shared between threads (lxml trees are not safe to mutate concurrently, and a
parser per call costs microseconds)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urljoin

import lxml.html
from lxml import etree

# Elements whose text is never shown as page text.
_SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "math", "head", "iframe", "object",
     "canvas", "select", "option", "title", "meta", "link"}
)  # fmt: skip
# Elements that start a new line of text (inline elements, such as the spans around a
# price's currency symbol and amount, join their text into one line).
_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "body", "button", "dd", "details", "dialog",
     "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
     "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
     "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "br", "html"}
)  # fmt: skip
# Inline elements that still separate words (navigation links written without spaces).
_SPACED_TAGS = frozenset({"a", "label", "img", "input"})
# Chrome around the content: navigation, footers, cookie and consent banners.
_CHROME_TAGS = frozenset({"nav", "header", "footer", "aside", "dialog"})
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "dialog", "alertdialog"})
_CONSENT = re.compile(
    r"cookie|consent|gdpr|onetrust|cookiebot|\bcmp\b|privacy-banner", re.IGNORECASE
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def squash(text: str | None) -> str:
    """Collapse runs of whitespace (including non-breaking spaces) into one space."""
    return _SPACE.sub(" ", text or "").strip()


def is_element(node: Any) -> bool:
    """Comments and processing instructions have a non-string ``tag`` in lxml."""
    return isinstance(node.tag, str)


def is_hidden(element: Any) -> bool:
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    return bool(_HIDDEN_STYLE.search(element.get("style") or ""))


def is_consent(element: Any) -> bool:
    """A cookie or consent banner, known by its id or classes."""
    marker = f"{element.get('id') or ''} {element.get('class') or ''}"
    return bool(_CONSENT.search(marker)) or element.get("aria-label", "").lower() == "cookies"


def is_chrome(element: Any) -> bool:
    return (
        element.tag in _CHROME_TAGS or element.get("role") in _CHROME_ROLES or is_consent(element)
    )


def in_any(element: Any, predicate: Any) -> bool:
    """Whether ``element`` or one of its ancestors satisfies ``predicate``."""
    node = element
    while node is not None:
        if is_element(node) and predicate(node):
            return True
        node = node.getparent()
    return False


def visible_lines(root: Any, *, skip: Any = None) -> list[str]:
    """The text under ``root`` as a reader sees it: one line per block element, inline
    elements joined, scripts/styles/hidden elements left out. ``skip(element)`` leaves out
    more subtrees. Iterative, because real pages nest deeper than Python's recursion limit."""
    parts: list[str] = []
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        if closing:
            if node.tag in _BLOCK_TAGS:
                parts.append("\n")
            elif node.tag in _SPACED_TAGS:
                parts.append(" ")
            if node is not root and node.tail:
                parts.append(node.tail)
            continue
        if (
            not is_element(node)
            or node.tag in _SKIP_TAGS
            or is_hidden(node)
            or (skip is not None and skip(node))
        ):
            if node is not root and node.tail:
                parts.append(node.tail)
            continue
        if node.tag in _BLOCK_TAGS:
            parts.append("\n")
        elif node.tag in _SPACED_TAGS:
            parts.append(" ")
        if node.text:
            parts.append(node.text)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node))
    lines = (squash(line) for line in "".join(parts).split("\n"))
    return [line for line in lines if line]


@dataclass
class Document:
    """One page, parsed. ``base_url`` resolves relative links (the page's final URL)."""

    root: Any
    base_url: str

    @classmethod
    def parse(cls, html: str, base_url: str) -> Document:
        """Raise ValueError when the HTML holds no document at all. Parsing bytes with an
        explicit encoding sidesteps lxml's refusal of ``str`` input that carries an XML
        encoding declaration."""
        # huge_tree: without it libxml2 drops everything below 256 nested elements
        parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=False, huge_tree=True)
        try:
            root = lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
        except (etree.ParserError, ValueError) as exc:
            raise ValueError(f"unparsable HTML: {exc}") from exc
        return cls(root=root, base_url=base_url)

    @cached_property
    def body(self) -> Any:
        found = self.root.find("body")
        return found if found is not None else self.root

    @cached_property
    def lines(self) -> list[str]:
        """Every visible line of the body (navigation and footers included)."""
        return visible_lines(self.body)

    @cached_property
    def text(self) -> str:
        return "\n".join(self.lines)

    def absolute(self, href: str | None) -> str | None:
        """An absolute http(s)/mailto/tel URL for ``href``, or None for ``javascript:``,
        fragments and empty links."""
        href = (href or "").strip()
        if not href or href.startswith("#") or href.lower().startswith("javascript:"):
            return None
        try:
            return urljoin(self.base_url, href)
        except ValueError:
            return None

    def elements(self, xpath: str) -> list[Any]:
        found: list[Any] = self.root.xpath(xpath)
        return found
