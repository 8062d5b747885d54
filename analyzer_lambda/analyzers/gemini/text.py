"""Rendered HTML → the page's readable main text, capped by a token budget.

A model pays for every token, and navigation, footers, cookie banners, inline scripts and SVG
are most of a modern page's HTML. Measured on 231 public pages with ground-truth main text
(``python -m bench.extraction``, bench/extraction/README.md, bench/RESULTS.md):

- article extractors (trafilatura, resiliparse's main-content mode, jusText) send the fewest
  characters but lose main text on product, pricing and listing pages: plan cards, price grids
  and product tiles look like boilerplate to a scorer tuned for articles;
- every text node (html-text) keeps it all but sends 1.7x the ground truth's length;
- this module keeps everything but what the page itself marks as not-content, and refuses to
  drop anything that holds the page's main text.

Structure-aware, in order: never-text elements go (scripts, styles, SVG, form *controls*: a
``<form>`` is only a wrapper, and ASP.NET WebForms pages put the whole body in one); then,
top-down, landmarks (``nav``; a ``header``, ``footer`` or ``aside`` not inside an
article/section/main; ARIA navigation/banner/contentinfo/complementary/search) and
elements whose class/id says cookie banner, newsletter, sidebar, share bar...; then blocks
that are mostly short links (menus, tag clouds) outside the page's ``main``/``article``. No
element is dropped that contains the ``<h1>`` or the ``main``/``article`` landmark, and a
class name or a link count never drops a third of the page's text: they are hints, and a
wrapper called ``row has-side-banner`` must not take the product grid with it. The text is cut
to the budget at a line boundary. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from lxml.html import HtmlElement

Method = Literal["lxml", "empty"]

# Never readable text; form controls (not <form>: it wraps content) and their option lists.
_NEVER_TEXT = (
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
    "head", "select", "textarea", "input", "datalist",
)  # fmt: skip
_LANDMARK_TAGS = frozenset(("nav",))
_PAGE_LEVEL_TAGS = frozenset(("header", "footer", "aside"))  # boilerplate outside an article
_SECTIONING = frozenset(("article", "section", "main"))
_BOILERPLATE_ROLES = frozenset(("navigation", "banner", "contentinfo", "complementary", "search"))
_BOILERPLATE_WORDS = frozenset(
    (
        "cookie", "cookies", "consent", "gdpr", "newsletter", "subscribe", "sidebar",
        "breadcrumb", "breadcrumbs", "share", "sharing", "social", "navbar", "menu", "masthead",
        "toolbar",
    )
)  # fmt: skip
# Not "related" or "footer": on the product pages of the bench, related products and a
# footer-classed block with the company's address were main text (0.007 of recall).
_STATE_PREFIXES = ("is-", "has-", "with-", "no-")  # "has-side-banner" says what it holds
_NAME_WORDS = re.compile(r"[-_]+")
_MAX_NAME_WORDS = 4  # "sharing-with-a-single-developer" is a heading's anchor, not a widget
_MAIN_XPATH = "//main | //*[@role='main'] | //article"
_LINKY = frozenset(("ul", "ol", "div", "section", "table", "dl"))
_LINK_SHARE = 0.75  # a block whose text is at least this much link text is a menu...
_MENU_LINK_CHARS = 30  # ...when its links are short ("Help", "Order status"), not headlines
_GUARD_SHARE = 1 / 3  # never drop an element holding this share of the page's text
_BLOCK = (
    "p", "div", "section", "article", "main", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "br", "td", "th", "tbody",
    "form", "fieldset", "figcaption", "header", "footer", "label", "button",
)  # fmt: skip
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_WHITESPACE = re.compile(r"\s+")
_DEDUPE_MIN = 40  # lines shorter than this repeat legitimately ("$15.99", "Add to cart")


@dataclass(frozen=True)
class ReducedText:
    text: str
    tokens: int
    method: Method
    truncated: bool


@dataclass(frozen=True)
class Pruning:
    """Which steps run (the defaults are production's); the bench switches one at a time to
    show what each is worth (bench/extraction). De-duplicating repeated long lines is off: it
    cost 0.02 of 4-gram recall and saved no characters at the median."""

    landmarks: bool = True
    class_names: bool = True
    link_blocks: bool = True
    dedupe: bool = False


_NO_PRUNING = Pruning(landmarks=False, class_names=False, link_blocks=False, dedupe=False)


def estimate_tokens(text: str) -> int:
    """A cheap tokenizer-free estimate: ~4 characters a token for Latin scripts, one token per
    CJK character (Gemini's tokenizer is close to both on the test pages)."""
    wide = sum(1 for ch in text if unicodedata.east_asian_width(ch) in "WF")
    return wide + (len(text) - wide + 3) // 4


def main_text(html: str, pruning: Pruning = Pruning()) -> str:
    """Readable text of everything but boilerplate; table cells joined by `` | ``.

    A page that prunes to nothing is read again with its ``<noscript>`` (Discourse forums, for
    one, serve their posts there to clients without JavaScript), then whole: a page with no
    text sent gets no analysis at all."""
    return (
        _text(html, pruning, keep_noscript=False)
        or _text(html, pruning, keep_noscript=True)
        or _text(html, _NO_PRUNING, keep_noscript=True)
    )


def _text(html: str, pruning: Pruning, *, keep_noscript: bool) -> str:
    from lxml import etree
    from lxml import html as lxml_html

    try:
        # huge_tree: libxml2 otherwise stops at 256 nested elements and silently drops the
        # rest of the page (measured: a 300-deep page came out empty). A parser per call:
        # pages are reduced on several threads at once.
        root = lxml_html.document_fromstring(html, parser=lxml_html.HTMLParser(huge_tree=True))
    except (etree.ParserError, ValueError):
        return ""
    for template in root.xpath("//template[@shadowrootmode]"):
        template.drop_tag()  # a shadow root the crawler serialised: text the page shows (#11)
    never = [tag for tag in _NEVER_TEXT if not (keep_noscript and tag == "noscript")]
    etree.strip_elements(root, *never, etree.Comment, etree.PI, with_tail=False)
    _prune(root, pruning)
    for element in root.iter(*_BLOCK):
        separator = " | " if element.tag in ("td", "th") else "\n"
        element.tail = separator + (element.tail or "")
    return _tidy(str(root.text_content()), dedupe=pruning.dedupe)


def _prune(root: HtmlElement, pruning: Pruning) -> None:
    """Top-down: a dropped element's subtree is never visited; a kept one's children are."""
    total = _visible(root) or 1
    protected = set(root.iter("h1"))
    main = root.xpath(_MAIN_XPATH)
    for element in main:
        protected.add(element)
    keepers = {ancestor for element in protected for ancestor in element.iterancestors()}
    keepers |= protected
    in_main = {node for element in main for node in element.iter()}
    stack = list(root)
    while stack:
        element = stack.pop()
        if not isinstance(element.tag, str):
            continue
        if element not in keepers:
            reason = _boilerplate(element, pruning, in_main=element in in_main)
            # A landmark says what it is; a class name or a link count is only a hint.
            if reason == "landmark" or (reason and _visible(element) < total * _GUARD_SHARE):
                element.drop_tree()
                continue
        stack.extend(element)


def _boilerplate(element: HtmlElement, pruning: Pruning, *, in_main: bool) -> str:
    """Why ``element`` looks like boilerplate ("landmark", "name", "links"), or ``""``."""
    tag = element.tag
    if pruning.landmarks:
        if tag in _LANDMARK_TAGS or element.get("role", "").lower() in _BOILERPLATE_ROLES:
            return "landmark"
        if tag in _PAGE_LEVEL_TAGS and not any(
            a.tag in _SECTIONING for a in element.iterancestors()
        ):
            return "landmark"
    if pruning.class_names and tag not in ("html", "body"):
        names = element.get("class", "").split()
        names.append(element.get("id", ""))
        if any(_names_boilerplate(name.lower()) for name in names):
            return "name"
    if pruning.link_blocks and not in_main and tag in _LINKY:
        text = _visible(element)
        links = [_visible(a) for a in element.iter("a")]
        linked = sum(links)
        if links and linked >= text * _LINK_SHARE and linked < _MENU_LINK_CHARS * len(links):
            return "links"
    return ""


def _names_boilerplate(name: str) -> bool:
    if not name or name.startswith(_STATE_PREFIXES):
        return False
    words = _NAME_WORDS.split(name)
    return len(words) <= _MAX_NAME_WORDS and not _BOILERPLATE_WORDS.isdisjoint(words)


def _visible(element: HtmlElement) -> int:
    """Characters of text but whitespace (pretty-printed pages are mostly indentation)."""
    return len(_WHITESPACE.sub("", element.text_content()))


def _tidy(text: str, *, dedupe: bool) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    seen: set[str] = set()
    kept = []
    for line in lines:
        if not line:
            continue
        if dedupe and len(line) >= _DEDUPE_MIN:
            if line in seen:
                continue
            seen.add(line)
        kept.append(line)
    return "\n".join(kept)


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
