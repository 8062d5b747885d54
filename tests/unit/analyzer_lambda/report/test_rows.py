"""Pages joined with their results, and the JSON-lines and CSV files made of the rows."""

from __future__ import annotations

import csv
import io
import json

import pytest

from analyzer_lambda.report.rows import ReportRow, build_rows, counts, csv_table, result_dict
from rivalscope_core.records import ErrorInfo
from tests.unit.analyzer_lambda.report.samples import CHUNK, make_page, make_result, sample_rows


@pytest.fixture
def rows() -> list[ReportRow]:
    return sample_rows()


def test_rows_join_pages_and_results_in_page_order(rows: list[ReportRow]) -> None:
    assert [(r.page.line, r.status) for r in rows] == [
        (1, "done"), (1, "done"), (2, "done"), (3, "missing"), (4, "failed"),
    ]  # fmt: skip
    assert [r.result and r.result.model for r in rows[:2]] == ["extract-v1", "gemini-2.5-flash"]
    assert rows[0].site == "kantan.example.jp"


def test_a_result_without_its_page_still_gets_a_row() -> None:
    (row,) = build_rows([], [make_result(7, "https://a.example/", {"x": 1})])
    assert (row.page.line, row.page.url, row.status) == (7, "https://a.example/", "done")


def test_csv_flattens_top_level_answer_fields(rows: list[ReportRow]) -> None:
    header, table = csv_table(rows, "p-1234abcd")
    assert header[:4] == ["status", "competitor", "site", "url"]
    # one column per top-level answer field, in the order rows first show them
    assert header[16:] == ["analysis.title", "analysis.language", "analysis.prices",
                           "analysis.technologies", "analysis.summary", "analysis.link",
                           "analysis.site"]  # fmt: skip
    out = io.StringIO()
    csv.writer(out).writerows([header, *table])
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    first = parsed[2]
    assert first["analysis.title"] == "料金プラン｜かんたん帳簿"
    assert json.loads(first["analysis.prices"])[0]["text"] == "月額 1,980円"
    assert first["analysis.technologies"] == '["WordPress", "jQuery"]'
    assert first["input_tokens"] == "1200"
    # grouped by site (no page has a competitor), sites by name, pages in page order
    assert [r["site"] for r in parsed] == ["down.example", "evil.example",
                                           *["kantan.example.jp"] * 3]  # fmt: skip
    assert {r["competitor"] for r in parsed} == {""}
    assert parsed[0]["status"] == "missing"
    assert parsed[0]["error_type"] == "not_analysed"
    assert parsed[0]["screenshot"] == ""


def test_csv_defuses_spreadsheet_formulas() -> None:
    rows = build_rows([make_page(1, "https://a.example/")],
                      [make_result(1, "https://a.example/", {"summary": '=HYPERLINK("http://x")',
                                                         "count": -3})])  # fmt: skip
    header, table = csv_table(rows, "p")
    values = dict(zip(header, table[0], strict=True))
    assert values["analysis.summary"] == '\'=HYPERLINK("http://x")'
    assert values["analysis.count"] == -3


def test_missing_pages_become_result_records_with_an_error(rows: list[ReportRow]) -> None:
    record = result_dict(rows[3], "p-1234abcd")
    assert record["analysis"] is None
    assert record["error"] == {"type": "not_analysed",
                               "message": "no result for prompt p-1234abcd yet"}  # fmt: skip
    assert (record["chunk"], record["line"]) == (CHUNK, 3)


def test_a_blocked_page_is_blocked_in_the_csv_and_keeps_its_reason() -> None:
    wall = ErrorInfo("blocked_by_site", "Akamai bot wall: Akamai reference number")
    page = make_page(1, "https://walled.example/", error=wall)
    rows = build_rows([page], [make_result(1, "https://walled.example/", None, error=wall)])
    header, table = csv_table(rows, "p-1234abcd")
    record = dict(zip(header, table[0], strict=True))
    assert record["status"] == "blocked"
    assert (record["error_type"], record["error_message"]) == (wall.type, wall.message)
    assert counts(rows)["blocked"] == 1
    assert counts(rows)["failed"] == 0
