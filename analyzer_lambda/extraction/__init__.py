"""Structured facts from a page's HTML without any model: the offline ``extract`` analyser's
core (issue 3). Pure: HTML and a base URL in, a JSON-ready dict out; every part is a small
module (``prices``, ``contacts``, ``actions``, ``tech``, ``outline``, ``text``)."""

from __future__ import annotations

from typing import Any

from analyzer_lambda.extraction.actions import find_actions
from analyzer_lambda.extraction.contacts import find_emails, find_phones, find_social
from analyzer_lambda.extraction.declared import find_declared_prices
from analyzer_lambda.extraction.document import Document
from analyzer_lambda.extraction.outline import (
    find_description,
    find_headings,
    find_language,
    find_lead,
    find_title,
)
from analyzer_lambda.extraction.prices import find_prices, merge_prices
from analyzer_lambda.extraction.tech import find_technologies
from analyzer_lambda.extraction.text import word_count

__all__ = ["extract_facts"]


def extract_facts(html: str, base_url: str, *, title: str | None = None) -> dict[str, Any]:
    """The structured answer for one page. ``title`` (the crawler's) is the fallback when the
    HTML has none. Raises ValueError only when ``html`` is not a document at all."""
    doc = Document.parse(html, base_url)
    language, language_source = find_language(doc)
    return {
        "title": find_title(doc, title),
        "description": find_description(doc),
        "language": language,
        "language_source": language_source,
        "headings": find_headings(doc),
        "lead": find_lead(doc),
        "prices": merge_prices(
            find_declared_prices(html, base_url), find_prices(doc.lines, language=language)
        ),
        "calls_to_action": find_actions(doc),
        "emails": find_emails(doc),
        "phones": find_phones(doc),
        "social": find_social(doc),
        "technologies": find_technologies(doc),
        "word_count": word_count(doc.text),
    }
