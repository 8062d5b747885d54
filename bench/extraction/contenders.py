"""The extractors compared, each a ``str -> str`` on the same decoded HTML.

rivalscope's is what ``analyzers/gemini`` really sends (the reducer at the configured token
budget). The others are run with their documented defaults for "main text"; each is imported
lazily so a missing bench-only package skips that column instead of the run.
"""

from __future__ import annotations

from collections.abc import Callable

from analyzer_lambda.config import Config

Extractor = Callable[[str], str]


def _rivalscope(html: str) -> str:
    from analyzer_lambda.analyzers.gemini.text import reduce_html

    return reduce_html(html, Config().text_tokens).text


def _uncapped(html: str) -> str:
    from analyzer_lambda.analyzers.gemini.text import main_text

    return main_text(html)


def _without(step: str) -> Extractor:
    """rivalscope's reducer with one pruning step switched off (what that step is worth)."""

    def extract(html: str) -> str:
        from analyzer_lambda.analyzers.gemini.text import Pruning, main_text

        return main_text(html, Pruning(**{step: False}))

    return extract


def _trafilatura(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, include_tables=True) or ""


def _trafilatura_recall(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, favor_recall=True, include_tables=True) or ""


def _html_text(html: str) -> str:
    import html_text

    return str(html_text.extract_text(html, guess_layout=True))


def _resiliparse(html: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    return str(extract_plain_text(HTMLTree.parse(html), main_content=True))


def _justext(html: str) -> str:
    import justext

    paragraphs = justext.justext(html.encode("utf-8"), justext.get_stoplist("English"))
    return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)


CONTENDERS: dict[str, Extractor] = {
    "rivalscope (sent)": _rivalscope,
    "rivalscope, no cap": _uncapped,
    "rivalscope without landmarks": _without("landmarks"),
    "rivalscope without class names": _without("class_names"),
    "rivalscope without link blocks": _without("link_blocks"),
    "rivalscope without dedupe": _without("dedupe"),
    "trafilatura": _trafilatura,
    "trafilatura favor_recall": _trafilatura_recall,
    "html-text": _html_text,
    "resiliparse main_content": _resiliparse,
    "jusText (English stoplist)": _justext,
}
