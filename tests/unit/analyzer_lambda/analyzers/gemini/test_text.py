from __future__ import annotations

from pathlib import Path

import pytest

from analyzer_lambda.analyzers.gemini.text import estimate_tokens, reduce_html

PAGES = Path(__file__).resolve().parents[4] / "data" / "pages"


def _html(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


def test_pricing_page_keeps_every_plan_and_price_and_drops_boilerplate() -> None:
    reduced = reduce_html(_html("pricing.html"), 8000)
    for fact in ("Starter", "$9", "Team", "$29", "Enterprise", "$99", "100 users", "cancel"):
        assert fact in reduced.text
    for boilerplate in ("Menu item", "Footer link", "cookies", "window.__STATE__", "color:red"):
        assert boilerplate not in reduced.text


@pytest.mark.parametrize("name", ["pricing.html", "article.html", "japanese.html"])
def test_at_least_five_times_fewer_tokens_than_the_html(name: str) -> None:
    html = _html(name)
    assert reduce_html(html, 100_000).tokens * 5 <= estimate_tokens(html)


def test_japanese_table_rows_stay_together() -> None:
    text = reduce_html(_html("japanese.html"), 8000).text
    assert "スタンダード | 1,980円" in text
    assert "グッドデザイン賞" in text


def test_budget_cuts_at_a_line_boundary_and_says_so() -> None:
    full = reduce_html(_html("article.html"), 100_000)
    capped = reduce_html(_html("article.html"), 200)
    assert capped.truncated
    assert not full.truncated
    assert capped.tokens <= 200
    assert full.text.startswith(capped.text)


def test_empty_and_text_free_pages() -> None:
    assert reduce_html("", 100).text == ""
    assert reduce_html("<html><script>x()</script></html>", 100).method == "empty"


def test_token_estimate_counts_cjk_per_character() -> None:
    assert estimate_tokens("料金プラン") == 5
    assert estimate_tokens("a" * 40) == 10


def test_shadow_roots_the_crawler_serialised_are_read_and_inert_templates_are_not() -> None:
    # The crawler stores shadow DOM as declarative templates (crawler/browser/scripts.py).
    from analyzer_lambda.analyzers.gemini.text import main_text

    html = (
        "<html><body><h1>Plans</h1><price-card><template shadowrootmode='open'>"
        "<p>Pro plan: 49 EUR per month</p><div><template shadowrootmode='closed'>"
        "<p>Nested: unlimited seats</p></template></div></template></price-card>"
        "<template><p>Inert row template</p></template></body></html>"
    )
    text = main_text(html)
    assert "Pro plan: 49 EUR per month" in text
    assert "Nested: unlimited seats" in text
    assert "Inert row template" not in text
