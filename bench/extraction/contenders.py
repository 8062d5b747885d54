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


def _rivalscope_16k(html: str) -> str:
    from analyzer_lambda.analyzers.gemini.text import reduce_html

    return reduce_html(html, 16_000).text


def _uncapped(html: str) -> str:
    from analyzer_lambda.analyzers.gemini.text import main_text

    return main_text(html)


def _variant(step: str, *, on: bool) -> Extractor:
    """rivalscope's reducer with one pruning step switched (what that step is worth)."""

    def extract(html: str) -> str:
        from analyzer_lambda.analyzers.gemini.text import Pruning, main_text

        return main_text(html, Pruning(**{step: on}))

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
    "rivalscope (sent at 16,000 tokens)": _rivalscope_16k,
    "rivalscope, no cap": _uncapped,
    "rivalscope without landmarks": _variant("landmarks", on=False),
    "rivalscope without class names": _variant("class_names", on=False),
    "rivalscope without link blocks": _variant("link_blocks", on=False),
    "rivalscope with dedupe of long lines": _variant("dedupe", on=True),
    "trafilatura": _trafilatura,
    "trafilatura favor_recall": _trafilatura_recall,
    "html-text": _html_text,
    "resiliparse main_content": _resiliparse,
    "jusText (English stoplist)": _justext,
}
