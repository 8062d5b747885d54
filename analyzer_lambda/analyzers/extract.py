"""The offline analyser (``ANALYZER=extract``, issue 3): structured facts from the page's HTML
— title, description, language, headings, lead, prices, calls to action, contacts, social
links, technologies, word count — with no model and no network. The prompt's text is not
used; the answer's shape is fixed and versioned by ``model_for``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from analyzer_lambda.analyzers.base import Analysis
from analyzer_lambda.changes.ignored import without_selectors
from analyzer_lambda.extraction import extract_facts
from rivalscope_core.records import ErrorInfo, Usage

if TYPE_CHECKING:
    from collections.abc import Sequence

    from analyzer_lambda.analyzers.base import Deadline
    from analyzer_lambda.prompts.parser import Prompt
    from rivalscope_core.records import PageRecord

logger = logging.getLogger(__name__)

#: Bump when the answer's fields or their meaning change: it is part of the result key, so a
#: new version re-analyses stored pages instead of mixing two shapes under one key.
EXTRACT_VERSION = "extract-v2"  # v2: prices carry their source (issue 11)


class ExtractAnalyzer:
    """Stateless, hence thread-safe: every call parses its own tree."""

    name = "extract"

    def __init__(self, config: object | None = None) -> None:
        # The factory may pass the analyser config; nothing in it applies to extraction.
        del config

    def model_for(self, prompt: Prompt) -> str:
        return EXTRACT_VERSION

    def analyze(self, page: PageRecord, prompt: Prompt, deadline: Deadline) -> Analysis:
        """Never raises for a page's problem: empty or unparsable HTML becomes
        ``Analysis(error=...)``. Usage is always zero tokens."""
        if not page.body.strip():
            return _failed("empty_page", f"{page.url}: the page record has no HTML body")
        try:
            answer = extract_facts(page.body, page.final_url or page.url, title=page.title)
        except ValueError as exc:
            return _failed("unparsable_html", f"{page.url}: {exc}")
        except Exception as exc:  # a bug must not stop the other pages of a chunk
            logger.exception("extraction failed for %s", page.url)
            return _failed("extract_failed", f"{page.url}: {type(exc).__name__}: {exc}")
        return Analysis(answer=answer, usage=Usage(0, 0))


def same_facts_under_rules(
    previous: PageRecord, current: PageRecord, ignore_selectors: Sequence[str]
) -> bool:
    """The reuse test of the offline analyser (SPEC.md, Changes: a page whose model input did
    not change reuses its previous answer). Its input is the whole HTML, not the reduced text
    and screenshot top Gemini reads, so it is judged by what it would answer: the facts of both
    captures without the elements of ``ignore_selectors``. A rotating promo then changes no
    ``word_count`` (the demo's acme-app), while a new script tag, social link or meta
    description still does. False when either page cannot be read."""
    if not previous.body.strip() or not current.body.strip():
        return False
    try:
        return _facts_without(previous, ignore_selectors) == _facts_without(
            current, ignore_selectors
        )
    except ValueError:
        return False


def _facts_without(page: PageRecord, ignore_selectors: Sequence[str]) -> dict[str, object]:
    body = without_selectors(page.body, ignore_selectors)
    return extract_facts(body, page.final_url or page.url, title=page.title)


def _failed(kind: str, message: str) -> Analysis:
    return Analysis(answer=None, error=ErrorInfo(type=kind, message=message))
