"""The side-by-side table: a row per competitor, a column per answer field, changes marked,
priced competitors first, untrusted values escaped."""

from __future__ import annotations

import re
from dataclasses import replace
from html import escape as html_escape

from analyzer_lambda.report.change_model import PageChange, RunChanges
from analyzer_lambda.report.rows import ReportRow, build_rows
from analyzer_lambda.report.side_by_side import answer_columns, render_side_by_side
from tests.unit.analyzer_lambda.report.samples import CHUNK, EVIL, make_page, make_result

SCHEMA = {"type": "object", "properties": {"offering": {}, "pricing": {}, "summary": {}}}


def _rows() -> list[ReportRow]:
    pages = [
        replace(make_page(1, "https://blog.example/"), competitor=None),
        replace(make_page(4, "https://evil.example/"), competitor=EVIL),
        replace(make_page(2, "https://acme.example/pricing"), competitor="Acme"),
        replace(make_page(3, "https://app.acme.example/plans"), competitor="Acme"),
    ]
    results = [
        make_result(1, "https://blog.example/", {"offering": EVIL, "pricing": []}),
        make_result(4, "https://evil.example/", {"offering": "x"}),
        make_result(2, "https://acme.example/pricing",
                    {"offering": "Analytics", "pricing": [{"plan": "Starter", "price": "$59"}]}),
        make_result(3, "https://app.acme.example/plans",
                    {"offering": "Analytics", "pricing": [], "extra": 1}),
    ]  # fmt: skip
    return build_rows(pages, results)


def test_one_row_per_competitor_priced_first_and_changes_marked() -> None:
    answer = {"pricing[Starter].price": {"before": "$49", "after": "$59"}}
    record = {"url": "https://acme.example/pricing", "status": "changed", "answer": answer}
    changes = RunChanges((PageChange(record, CHUNK, 2),), compared_with="2026-11-16T00-00-00")
    html = render_side_by_side(_rows(), changes, SCHEMA)
    heads = re.findall(r'<th scope="row">([^<]*)', html)
    # the competitor with prices first, then the report's order (competitors, then hosts)
    assert heads == ["Acme", html_escape(EVIL), "blog.example"]
    assert "acme.example · app.acme.example" in html  # its hosts are one row
    assert re.findall(r'<th scope="col">([^<]*)', html) == ["Competitor", "Pricing", "Offering"]
    acme = html[html.index(">Acme<") : html.index(html_escape(EVIL))]
    assert acme.count('<span class="changed-mark">changed</span>') == 1
    assert "<li>Starter · $59</li>" in acme  # a plan on one line
    assert acme.count("Analytics") == 1  # the same value on two pages is shown once
    assert "&lt;script&gt;" in html
    assert "<script>" not in html


def test_columns_fall_back_to_the_answers_own_fields() -> None:
    rows = _rows()
    # plans and prices first; a field no answer fills is no column
    assert answer_columns(rows, SCHEMA) == ["pricing", "offering"]
    assert answer_columns(rows, {"properties": {"other": {}}}) == ["pricing", "offering", "extra"]
    assert answer_columns(rows, None) == ["pricing", "offering", "extra"]
    assert (
        render_side_by_side(build_rows([make_page(1, "https://a.example/")], []), None, None) == ""
    )
