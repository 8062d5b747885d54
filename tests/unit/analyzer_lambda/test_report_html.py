"""The report's pure rendering: joining pages and results, escaping untrusted text, CSV
flattening, Japanese, and the thumbnails."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from PIL import Image

from analyzer_lambda.report_html import render_report, render_value
from analyzer_lambda.report_rows import (
    ReportMeta,
    ReportPage,
    ShotFiles,
    build_rows,
    csv_table,
    result_dict,
)
from analyzer_lambda.report_screenshots import make_thumbnail
from rivalscope_core.records import ErrorInfo, ResultRecord, Usage

CHUNK = "s3://b/raw/competitors/2026-11-23T21-40-00/items.0000000.jl.gz"
META = ReportMeta(run="s3://b/raw/competitors/2026-11-23T21-40-00/", prompt_id="p-1234abcd",
                  generated_at="2026-11-23T22:00:00.000000Z")  # fmt: skip
EVIL = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"


def _page(line: int, url: str, **kw: Any) -> ReportPage:
    shot = ShotFiles(f"screenshots/items.0000000-{line}.png",
                     f"screenshots/items.0000000-{line}.thumb.webp", 1280, 4000)  # fmt: skip
    when = "2026-11-23T21:40:12.000000Z"
    title, error, shot = kw.pop("title", None), kw.pop("error", None), kw.pop("shot", shot)
    return ReportPage(CHUNK, line, url, url, 200, when, title, error, shot)


def _result(line: int, url: str, analysis: dict[str, Any] | None, **kw: Any) -> ResultRecord:
    return ResultRecord(url, url, "2026-11-23T21:40:12.000000Z", CHUNK, line, "p-1234abcd",
                        kw.pop("model", "gemini-2.5-flash"), "gemini", analysis,
                        Usage(1200, 300), **kw)  # fmt: skip


ANSWER_JA = {
    "title": "料金プラン｜かんたん帳簿",
    "language": "ja",
    "prices": [{"amount": 1980, "currency": "JPY", "period": "month", "text": "月額 1,980円"}],
    "technologies": ["WordPress", "jQuery"],
}


@pytest.fixture
def rows() -> list[Any]:
    pages = [
        _page(1, "https://kantan.example.jp/price/"),
        _page(2, "https://evil.example/", title=EVIL),
        _page(3, "https://down.example/", error=ErrorInfo("timeout", "30 s"), shot=None),
        _page(4, "https://kantan.example.jp/faq/"),
    ]
    results = [
        _result(2, "https://evil.example/", {"summary": EVIL, "link": "javascript:alert(3)",
                                             "site": "https://evil.example/?a=1&b=<2>"}),
        _result(1, "https://kantan.example.jp/price/", ANSWER_JA),
        _result(4, "https://kantan.example.jp/faq/", None, error=ErrorInfo("model_error", EVIL)),
        _result(1, "https://kantan.example.jp/price/", ANSWER_JA, model="extract-v1"),
    ]  # fmt: skip
    return build_rows(pages, results)


def test_rows_join_pages_and_results_in_page_order(rows: list[Any]) -> None:
    assert [(r.page.line, r.status) for r in rows] == [
        (1, "done"), (1, "done"), (2, "done"), (3, "missing"), (4, "failed"),
    ]  # fmt: skip
    assert [r.result.model for r in rows[:2]] == ["extract-v1", "gemini-2.5-flash"]
    assert rows[0].site == "kantan.example.jp"


def test_a_result_without_its_page_still_gets_a_row() -> None:
    (row,) = build_rows([], [_result(7, "https://a.example/", {"x": 1})])
    assert (row.page.line, row.page.url, row.status) == (7, "https://a.example/", "done")


def test_untrusted_text_is_escaped_everywhere(rows: list[Any]) -> None:
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


def test_japanese_is_kept_as_text_and_marked(rows: list[Any]) -> None:
    page = render_report(rows, META)
    assert '<meta charset="utf-8">' in page
    assert "料金プラン｜かんたん帳簿" in page
    assert "月額 1,980円" in page
    assert 'lang="ja"' in page
    assert "Noto Sans CJK JP" in page


def test_cards_summary_and_errors(rows: list[Any]) -> None:
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
    rows = build_rows([_page(1, "https://a.example/", shot=shot)], [])
    assert "1280×16384 · top of the page (cut)" in render_report(rows, META)


def test_asset_urls_are_mapped_for_the_uploaded_copy(rows: list[Any]) -> None:
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


def test_csv_flattens_top_level_answer_fields(rows: list[Any]) -> None:
    header, table = csv_table(rows, "p-1234abcd")
    assert header[:3] == ["status", "site", "url"]
    # one column per top-level answer field, in the order rows first show them
    assert header[15:] == ["analysis.title", "analysis.language", "analysis.prices",
                           "analysis.technologies", "analysis.summary", "analysis.link",
                           "analysis.site"]  # fmt: skip
    out = io.StringIO()
    csv.writer(out).writerows([header, *table])
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    first = parsed[0]
    assert first["analysis.title"] == "料金プラン｜かんたん帳簿"
    assert json.loads(first["analysis.prices"])[0]["text"] == "月額 1,980円"
    assert first["analysis.technologies"] == '["WordPress", "jQuery"]'
    assert first["input_tokens"] == "1200"
    assert parsed[3]["status"] == "missing"
    assert parsed[3]["error_type"] == "not_analysed"
    assert parsed[3]["screenshot"] == ""


def test_csv_defuses_spreadsheet_formulas() -> None:
    rows = build_rows([_page(1, "https://a.example/")],
                      [_result(1, "https://a.example/", {"summary": '=HYPERLINK("http://x")',
                                                         "count": -3})])  # fmt: skip
    header, table = csv_table(rows, "p")
    values = dict(zip(header, table[0], strict=True))
    assert values["analysis.summary"] == '\'=HYPERLINK("http://x")'
    assert values["analysis.count"] == -3


def test_missing_pages_become_result_records_with_an_error(rows: list[Any]) -> None:
    record = result_dict(rows[3], "p-1234abcd")
    assert record["analysis"] is None
    assert record["error"] == {"type": "not_analysed",
                               "message": "no result for prompt p-1234abcd yet"}  # fmt: skip
    assert (record["chunk"], record["line"]) == (CHUNK, 3)


@pytest.mark.parametrize(("fmt", "height"), [("PNG", 6000), ("WEBP", 300), ("JPEG", 900)])
def test_thumbnail_is_the_top_of_the_page(fmt: str, height: int) -> None:
    page = Image.new("RGB", (1280, height), "white")
    page.paste((200, 0, 0), (0, 0, 1280, 200))  # a red header
    raw = io.BytesIO()
    page.save(raw, format=fmt)
    with Image.open(io.BytesIO(make_thumbnail(raw.getvalue()))) as thumb:
        assert thumb.format == "WEBP"
        assert thumb.width == 600
        assert thumb.height == round(600 * min(height, 800) / 1280)
        pixel = thumb.convert("RGB").getpixel((300, 10))
        assert isinstance(pixel, tuple)
        red, green, _blue = pixel
        assert red > 150 > green
