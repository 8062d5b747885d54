"""Rendered HTML → the page's readable main text, capped by a token budget.

A model pays for every token, and navigation, footers, cookie banners, inline scripts and SVG
are most of a modern page's HTML (the test pages: 50-60 KB of HTML, a few hundred tokens of
text). Two reducers were measured on ``tests/data/pages`` (``python -m
bench.analyzer``, bench/RESULTS.md):

- trafilatura 2.3.1 (``favor_recall``, tables) is tuned for articles: it dropped all three plan
  cards of the pricing page — plan names and prices, the very facts a competitor analysis
  wants — and took 45-440 ms a page;
- the lxml pass below (drop scripts, styles, SVG, ``nav``/``header``/``footer``/``aside``, forms
  and elements whose class/id says cookie banner, newsletter, sidebar...) kept every plan, price
  and table row in 1-30 ms, at the cost of a byline trafilatura would drop.

So the lxml pass is what runs; trafilatura stays only as the benchmark's reference. The text is
cut to the budget at a line boundary. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Method = Literal["lxml", "empty"]

# Tags whose content is never readable text, and landmarks that hold navigation/boilerplate.
_DROP_TAGS = (
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
    "nav", "header", "footer", "aside", "form", "button", "select", "head",
)  # fmt: skip
_BOILERPLATE = re.compile(
    r"cookie|consent|gdpr|newsletter|subscribe|sidebar|breadcrumb|share|social|popup|modal|banner",
    re.IGNORECASE,
)
_BLOCK = (
    "p", "div", "section", "article", "main", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "br", "td", "th", "tbody",
)  # fmt: skip
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")


@dataclass(frozen=True)
class ReducedText:
    text: str
    tokens: int
    method: Method
    truncated: bool


def estimate_tokens(text: str) -> int:
    """A cheap tokenizer-free estimate: ~4 characters a token for Latin scripts, one token per
    CJK character (Gemini's tokenizer is close to both on the test pages)."""
    wide = sum(1 for ch in text if unicodedata.east_asian_width(ch) in "WF")
    return wide + (len(text) - wide + 3) // 4


def main_text(html: str) -> str:
    """Readable text of everything but boilerplate; table cells joined by `` | ``."""
    from lxml import etree
    from lxml import html as lxml_html

    try:
        root = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return ""
    for element in list(root.iter(*_DROP_TAGS)):
        element.drop_tree()
    for element in list(root.iter()):
        if not isinstance(element.tag, str):  # comments, processing instructions
            if element.getparent() is not None:
                element.drop_tree()
            continue
        marker = f"{element.get('class', '')} {element.get('id', '')} {element.get('role', '')}"
        if element.tag not in ("html", "body", "main") and _BOILERPLATE.search(marker):
            element.drop_tree()
    for element in root.iter(*_BLOCK):
        separator = " | " if element.tag in ("td", "th") else "\n"
        element.tail = separator + (element.tail or "")
    return _tidy(root.text_content())


def _tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def reduce_html(html: str, budget_tokens: int) -> ReducedText:
    """The page's main text, at most ``budget_tokens`` (estimated)."""
    if not html.strip():
        return ReducedText("", 0, "empty", False)
    text = main_text(html)
    if not text:
        return ReducedText("", 0, "empty", False)
    return _cap(text, budget_tokens, "lxml")


def _cap(text: str, budget_tokens: int, method: Method) -> ReducedText:
    tokens = estimate_tokens(text)
    if tokens <= budget_tokens:
        return ReducedText(text, tokens, method, False)
    kept: list[str] = []
    used = 0
    for line in text.splitlines():
        cost = estimate_tokens(line) + 1
        if used + cost > budget_tokens:
            if not kept:  # one enormous line: cut it by characters
                kept.append(line[: budget_tokens * 2])
            break
        kept.append(line)
        used += cost
    capped = "\n".join(kept)
    return ReducedText(capped, estimate_tokens(capped), method, True)
