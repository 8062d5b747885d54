"""The report as rows: each page joined with its results, and the two tabular files made of
them, ``results.jsonl`` and ``results.csv``. Pure, like the HTML rendering that shares them.

Rows are grouped by competitor (the watch-list name on the page record), each group showing its
hosts; a page of no competitor is grouped by its host, as before watch lists (``groups``).

Kept apart from ``html`` because the rows are the report's data model (what a card, a CSV
line and a JSON line each describe, and which status a page is in) while HTML is only one way to
show it; the spreadsheet export has its own hazards (formula injection, a column per answer
field) that have nothing to do with markup."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from rivalscope_core.records import BLOCKED_BY_SITE

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rivalscope_core.records import ErrorInfo, ResultRecord

Status = Literal["done", "failed", "missing", "blocked"]
_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ShotFiles:
    """A page's screenshot as files beside the report (paths relative to it)."""

    full: str
    thumb: str
    width: int
    height: int
    truncated: bool = False


@dataclass(frozen=True)
class ReportPage:
    """What the report needs of a page record (never its HTML body)."""

    chunk: str
    line: int
    url: str
    final_url: str | None
    status: int | None
    crawled_at: str
    title: str | None
    error: ErrorInfo | None = None
    shot: ShotFiles | None = None
    competitor: str | None = None
    #: the prompt id this page is reported with, when each page has its own (no ``--prompt``)
    prompt_id: str | None = None


@dataclass(frozen=True)
class ReportRow:
    """One card: a page with one result (one per model), or none yet."""

    page: ReportPage
    result: ResultRecord | None

    @property
    def status(self) -> Status:
        """``blocked``: the site served a bot wall instead of the page, which is never analysed
        (SPEC.md): not a failure of ours to retry, nor a page still waiting for its result."""
        if self.wall is not None:
            return "blocked"
        if self.result is None:
            return "missing"
        return "failed" if self.result.error is not None else "done"

    @property
    def wall(self) -> ErrorInfo | None:
        """The ``blocked_by_site`` error of the page (or of its result), if it is a wall."""
        for error in (self.page.error, self.result.error if self.result else None):
            if error is not None and error.type == BLOCKED_BY_SITE:
                return error
        return None

    @property
    def site(self) -> str:
        """The page's host."""
        return urlsplit(self.page.final_url or self.page.url).hostname or "(unknown)"

    @property
    def competitor(self) -> str | None:
        if self.page.competitor is not None:
            return self.page.competitor
        return self.result.competitor if self.result is not None else None

    @property
    def group(self) -> str:
        """What the report groups this row under: its competitor, else its host."""
        return self.competitor or self.site


@dataclass(frozen=True)
class Group:
    """One competitor (or one host of no competitor) and its rows, in page order."""

    name: str
    is_competitor: bool
    hosts: tuple[str, ...]
    rows: tuple[ReportRow, ...]


def groups(rows: Iterable[ReportRow]) -> list[Group]:
    """Competitors by name, then hosts of no competitor by name: a stable order (pages are
    stored in the order they were crawled, which concurrency decides), rows in page order."""
    members: dict[tuple[bool, str], list[ReportRow]] = {}
    for row in rows:
        members.setdefault((row.competitor is None, row.group), []).append(row)
    keys = sorted(members, key=lambda k: (k[0], k[1].casefold(), k[1]))
    return [
        Group(
            name=name,
            is_competitor=not hostless,
            hosts=tuple(sorted({r.site for r in members[(hostless, name)]})),
            rows=tuple(members[(hostless, name)]),
        )
        for hostless, name in keys
    ]


def grouped(rows: Iterable[ReportRow]) -> list[ReportRow]:
    """The rows in report order: group by group."""
    return [row for group in groups(rows) for row in group.rows]


@dataclass(frozen=True)
class ReportMeta:
    run: str
    prompt_id: str
    generated_at: str


def build_rows(pages: Iterable[ReportPage], results: Iterable[ResultRecord]) -> list[ReportRow]:
    """Join pages and results on (chunk, line), in page order; a result whose page is not in
    the chunks read still gets a card (built from the result itself)."""
    by_page: dict[tuple[str, int], list[ResultRecord]] = {}
    for result in results:
        by_page.setdefault((result.chunk, result.line), []).append(result)
    rows: list[ReportRow] = []
    for page in pages:
        found = sorted(by_page.pop((page.chunk, page.line), []), key=lambda r: r.model)
        rows.extend([ReportRow(page, r) for r in found] or [ReportRow(page, None)])
    for (chunk, line), orphans in sorted(by_page.items()):
        for result in orphans:
            page = ReportPage(
                chunk, line, result.url, result.final_url, None, result.crawled_at, None
            )
            rows.append(ReportRow(page, result))
    return rows


def counts(rows: Iterable[ReportRow]) -> Counter[str]:
    return Counter(row.status for row in rows)


# --- results.jsonl and results.csv ------------------------------------------------------------


def result_dict(row: ReportRow, prompt_id: str) -> dict[str, Any]:
    """The SPEC result record of a row; a page without a result is reported, not left out,
    with the error ``not_analysed``."""
    if row.result is not None:
        return {**row.result.to_dict(), "competitor": row.competitor}
    page = row.page
    prompt_id = page.prompt_id or prompt_id
    error = {"type": "not_analysed", "message": f"no result for prompt {prompt_id} yet"}
    return {
        "url": page.url, "final_url": page.final_url, "crawled_at": page.crawled_at,
        "chunk": page.chunk, "line": page.line, "prompt_id": prompt_id, "model": None,
        "analyzer": None, "analysis": None, "usage": {"input_tokens": 0, "output_tokens": 0},
        "error": error, "analyzed_at": None, "competitor": page.competitor, "reused_from": None,
    }  # fmt: skip


def _csv_cell(value: Any) -> Any:
    """Lists and objects become compact JSON; text that a spreadsheet would run as a formula
    (``=HYPERLINK(...)`` in a page title) is prefixed with ``'``."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return "'" + value if value.startswith(_CSV_FORMULA) else value


def csv_table(rows: list[ReportRow], prompt_id: str) -> tuple[list[str], list[list[Any]]]:
    """Header and rows, grouped by competitor (``competitor`` empty for a page of none, which
    falls back to its ``site``): the result record's fields, then one ``analysis.<field>``
    column per top-level answer field (union over all rows, first-seen order)."""
    fixed = ["status", "competitor", "site", "url", "final_url", "crawled_at", "chunk", "line",
             "prompt_id", "model", "analyzer", "input_tokens", "output_tokens", "error_type",
             "error_message", "screenshot"]  # fmt: skip
    answer_keys: dict[str, None] = {}
    for row in rows:
        if row.result is not None and isinstance(row.result.analysis, dict):
            answer_keys.update(dict.fromkeys(row.result.analysis))
    table: list[list[Any]] = []
    for row in grouped(rows):  # answer columns above in page order, lines by group
        record = result_dict(row, prompt_id)
        error = record.get("error") or {}
        usage = record.get("usage") or {}
        analysis: dict[str, Any] = (
            record["analysis"] if isinstance(record["analysis"], dict) else {}
        )
        values = [row.status, row.competitor, row.site, record["url"], record["final_url"],
                  record["crawled_at"], record["chunk"], record["line"], record["prompt_id"],
                  record["model"], record["analyzer"], usage.get("input_tokens"),
                  usage.get("output_tokens"), error.get("type"), error.get("message"),
                  row.page.shot.full if row.page.shot else None]  # fmt: skip
        values += [analysis.get(key) for key in answer_keys]
        table.append([_csv_cell(v) for v in values])
    return fixed + [f"analysis.{key}" for key in answer_keys], table
