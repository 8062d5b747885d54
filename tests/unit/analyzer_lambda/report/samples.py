"""The sample run the report tests share: four pages (a Japanese one, one whose title and
answer are hostile markup, one the crawl failed, one the model failed) and their results."""

from __future__ import annotations

from typing import Any

from analyzer_lambda.report.rows import ReportMeta, ReportPage, ReportRow, ShotFiles, build_rows
from rivalscope_core.records import ErrorInfo, ResultRecord, Usage

CHUNK = "s3://b/raw/competitors/2026-11-23T21-40-00/items.0000000.jl.gz"
META = ReportMeta(run="s3://b/raw/competitors/2026-11-23T21-40-00/", prompt_id="p-1234abcd",
                  generated_at="2026-11-23T22:00:00.000000Z")  # fmt: skip
EVIL = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"


def make_page(line: int, url: str, **kw: Any) -> ReportPage:
    shot = ShotFiles(f"screenshots/items.0000000-{line}.png",
                     f"screenshots/items.0000000-{line}.thumb.webp", 1280, 4000)  # fmt: skip
    when = "2026-11-23T21:40:12.000000Z"
    title, error, shot = kw.pop("title", None), kw.pop("error", None), kw.pop("shot", shot)
    return ReportPage(CHUNK, line, url, url, 200, when, title, error, shot)


def make_result(line: int, url: str, analysis: dict[str, Any] | None, **kw: Any) -> ResultRecord:
    return ResultRecord(url, url, "2026-11-23T21:40:12.000000Z", CHUNK, line, "p-1234abcd",
                        kw.pop("model", "gemini-2.5-flash"), "gemini", analysis,
                        Usage(1200, 300), **kw)  # fmt: skip


ANSWER_JA = {
    "title": "料金プラン｜かんたん帳簿",
    "language": "ja",
    "prices": [{"amount": 1980, "currency": "JPY", "period": "month", "text": "月額 1,980円"}],
    "technologies": ["WordPress", "jQuery"],
}


def sample_rows() -> list[ReportRow]:
    pages = [
        make_page(1, "https://kantan.example.jp/price/"),
        make_page(2, "https://evil.example/", title=EVIL),
        make_page(3, "https://down.example/", error=ErrorInfo("timeout", "30 s"), shot=None),
        make_page(4, "https://kantan.example.jp/faq/"),
    ]
    hostile = {"summary": EVIL, "link": "javascript:alert(3)",
               "site": "https://evil.example/?a=1&b=<2>"}  # fmt: skip
    results = [
        make_result(2, "https://evil.example/", hostile),
        make_result(1, "https://kantan.example.jp/price/", ANSWER_JA),
        make_result(
            4, "https://kantan.example.jp/faq/", None, error=ErrorInfo("model_error", EVIL)
        ),
        make_result(1, "https://kantan.example.jp/price/", ANSWER_JA, model="extract-v1"),
    ]
    return build_rows(pages, results)
