"""``ignore_selectors`` on the analyser's side (SPEC.md, Changes): the stored page without the
elements those selectors match, so that their text takes no part in the text diff or the reuse
test. (Their screen boxes the crawl records, as the page record's ``ignored_boxes``, for the
visual diff to mask.)

The selectors are applied to the stored HTML with lxml + cssselect (the parser Scrapy's own
selectors use) *before* the page is reduced to the model's text, so a rotating ad or a live
visitor counter never reaches the diff whatever the reducer keeps. The model itself still reads
the whole page: the rules decide what counts as a change, not what the model is shown. Pure.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence


def without_selectors(html: str, selectors: Sequence[str]) -> str:
    """``html`` with every element matching one of ``selectors`` removed (its tail text kept);
    the page unchanged when none is given or none matches, or when it cannot be parsed."""
    if not selectors or not html.strip():
        return html
    from lxml import etree
    from lxml import html as lxml_html

    try:
        root = lxml_html.document_fromstring(html, parser=lxml_html.HTMLParser(huge_tree=True))
    except (etree.ParserError, ValueError):
        return html
    dropped = 0
    for selector in selectors:
        xpath = _xpath(selector)
        if xpath is None:
            continue
        for element in root.xpath(xpath):
            if element.getparent() is not None:  # not the root, not already dropped
                element.drop_tree()
                dropped += 1
    if not dropped:
        return html
    return str(lxml_html.tostring(root, encoding="unicode"))


@functools.lru_cache(maxsize=256)
def _xpath(selector: str) -> str | None:
    """cssselect's XPath for ``selector`` (None for one it cannot parse: a rule checked when it
    was written, but records outlive the parser version)."""
    from cssselect import HTMLTranslator, SelectorError

    try:
        return str(HTMLTranslator().css_to_xpath(selector))
    except SelectorError:
        return None
