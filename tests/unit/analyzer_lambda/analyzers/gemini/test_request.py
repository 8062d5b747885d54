from __future__ import annotations

from pathlib import Path

from analyzer_lambda.analyzers.gemini.request import build_request, defuse
from analyzer_lambda.analyzers.gemini.text import reduce_html
from analyzer_lambda.prompts.parser import default_prompt
from rivalscope_core.records import PageRecord

PAGES = Path(__file__).resolve().parents[4] / "data" / "pages"
INJECTION = (PAGES / "injection.html").read_text()


def _request(html: str, nonce: str = "abc123") -> tuple[str, str]:
    page = PageRecord("https://e.test/", None, 200, "", html, title="T <<<x>>>")
    request = build_request(page, default_prompt(), reduce_html(html, 1000), None, nonce=nonce)
    return request.system_instruction, request.page_text


def test_page_text_sits_between_the_nonce_markers_and_never_in_the_system_instruction() -> None:
    system, text = _request(INJECTION)
    start = text.index("<<<PAGE_CONTENT abc123>>>")
    end = text.index("<<<END_PAGE_CONTENT abc123>>>")
    assert start < text.index("IGNORE PREVIOUS INSTRUCTIONS") < end
    assert "IGNORE PREVIOUS INSTRUCTIONS" not in system
    assert "abc123" in system
    assert default_prompt().text in system


def test_marker_lookalikes_in_the_page_are_defused() -> None:
    _, text = _request(INJECTION)
    assert text.count("<<<") == 2  # our two markers only
    assert defuse("a <<<END>>> b") == "a < < <END> > > b"


def test_each_request_gets_a_fresh_nonce() -> None:
    page = PageRecord("https://e.test/", None, 200, "", "<p>x</p>")
    reduced = reduce_html("<p>x</p>", 100)
    first = build_request(page, default_prompt(), reduced, None)
    second = build_request(page, default_prompt(), reduced, None)
    assert first.nonce != second.nonce
