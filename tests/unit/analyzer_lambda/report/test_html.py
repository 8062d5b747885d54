"""report.html from rows: escaped, Japanese kept, a card per row, files linked as told."""

from __future__ import annotations

import re

import pytest

from analyzer_lambda.report.html import render_report, render_value
from analyzer_lambda.report.rows import ReportRow, ShotFiles, build_rows
from rivalscope_core.records import ErrorInfo
from tests.unit.analyzer_lambda.report.samples import META, make_page, make_result, sample_rows


@pytest.fixture
def rows() -> list[ReportRow]:
    return sample_rows()


def test_untrusted_text_is_escaped_everywhere(rows: list[ReportRow]) -> None:
    page = render_report(rows, META)
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript' not in page
    assert "https://evil.example/?a=1&amp;b=&lt;2&gt;" in page
    # only our own script runs, and only with this report's nonce
    nonce = re.search(r"script-src 'nonce-([\w-]+)'", page)
    assert nonce is not None
    assert page.count("<script") == 1
    assert f'<script nonce="{nonce[1]}">' in page


def test_japanese_is_kept_as_text_and_marked(rows: list[ReportRow]) -> None:
    page = render_report(rows, META)
    assert '<meta charset="utf-8">' in page
    assert "料金プラン｜かんたん帳簿" in page
    assert "月額 1,980円" in page
    assert 'lang="ja"' in page
    assert "Noto Sans CJK JP" in page


def test_cards_summary_and_errors(rows: list[ReportRow]) -> None:
    page = render_report(rows, META)
    assert page.count('<article class="card ') == 5
    assert 'data-site="kantan.example.jp"' in page
    assert "Crawl error: timeout" in page
    assert "Analysis error: model_error" in page
    assert "Not analysed yet" in page
    assert "no screenshot (the crawl failed)" in page
    assert '<div class="stat done"><b>3</b>analysed</div>' in page
    assert '<tr data-site="kantan.example.jp"><td>kantan.example.jp</td><td>2</td>' in page
    assert "2026-11-23 21:40:12 UTC" in page
    assert "1280×4000 · full page" in page


def test_a_cut_screenshot_says_so() -> None:
    shot = ShotFiles("screenshots/a.png", "screenshots/a.thumb.webp", 1280, 16384, truncated=True)
    rows = build_rows([make_page(1, "https://a.example/", shot=shot)], [])
    assert "1280×16384 · top of the page (cut)" in render_report(rows, META)


def test_asset_urls_are_mapped_for_the_uploaded_copy(rows: list[ReportRow]) -> None:
    page = render_report(rows, META, asset_url=lambda p: f"https://s3.example/{p}?sig=1&x=2")
    assert 'src="https://s3.example/screenshots/items.0000000-1.thumb.webp?sig=1&amp;x=2"' in page
    assert 'href="https://s3.example/screenshots/items.0000000-1.png?sig=1&amp;x=2"' in page
    assert 'href="https://s3.example/results.csv?sig=1&amp;x=2"' in page


def test_answers_render_readably() -> None:
    html = render_value({"notable_claims": ["SOC 2", "99.9% uptime"], "empty": [],
                         "nested": {"deep": True}, "n": None})  # fmt: skip
    assert '<ul class="chips"><li>SOC 2</li><li>99.9% uptime</li></ul>' in html
    assert "<dt>Notable claims</dt>" in html
    assert '<dt>Empty</dt><dd><span class="none">none</span></dd>' in html
    assert "<dt>Deep</dt><dd>yes</dd>" in html
    table = render_value([{"plan": "Pro", "price": "$49"}, {"plan": "Team", "notes": "x"}])
    assert "<th>Plan</th><th>Price</th><th>Notes</th>" in table


WALL = ErrorInfo("blocked_by_site", "Cloudflare bot wall: cf-mitigated: challenge header")


def _blocked_rows() -> list[ReportRow]:
    pages = [
        make_page(1, "https://walled.example/pricing", title="Just a moment...", error=WALL),
        make_page(2, "https://open.example/"),
    ]
    results = [
        make_result(1, "https://walled.example/pricing", None, error=WALL),
        make_result(2, "https://open.example/", {"summary": "ok"}),
    ]
    return build_rows(pages, results)


def test_a_blocked_page_is_its_own_state_with_the_reason_and_the_kept_screenshot() -> None:
    page = render_report(_blocked_rows(), META)
    card = page[page.index('<article class="card blocked"') :]
    card = card[: card.index("</article>")]
    assert 'data-status="blocked"' in card
    assert '<span class="badge blocked">Blocked by site</span>' in card
    assert "Cloudflare bot wall: cf-mitigated: challenge header" in card
    assert 'src="screenshots/items.0000000-1.thumb.webp"' in card  # the wall, for a person
    assert "What the site showed instead of the page" in card
    # the reason once, not as a crawl error and again as an analysis error
    assert "Crawl error" not in card
    assert "Analysis error" not in card
    assert "Not analysed yet" not in card
    assert "gemini-2.5-flash" not in card  # no model was asked
    assert '<div class="stat blocked"><b>1</b>blocked by site</div>' in page
    assert '<div class="stat failed"><b>0</b>failed</div>' in page
    assert '<option value="blocked">Blocked by site</option>' in page


def test_a_wall_not_analysed_yet_is_still_blocked() -> None:
    rows = build_rows([make_page(1, "https://walled.example/", error=WALL)], [])
    assert [row.status for row in rows] == ["blocked"]
