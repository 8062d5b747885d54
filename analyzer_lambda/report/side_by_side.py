"""The report's **Side by side** table (issue #12): one row per competitor (a competitor's hosts
are one row; pages of no competitor are one row per host, as the report groups them), one column
per top-level answer field of the prompt's schema, and the values that changed since the
previous run marked. Competitors whose answers hold plans or prices come first: those are the
rows a user compares.

A competitor with several pages shows each distinct value once, the page it came from beside it
when the pages disagree. Columns are the schema's top-level properties that some answer has;
without a schema (a report by prompt id) or when no answer follows it (the offline ``extract``
analyser answers with its own fields), the answers' own top-level keys, in first-seen order.

Pure: report rows, the run's changes and the schema in, HTML out; values render through the
cards' ``render_value`` (escaped there)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from analyzer_lambda.report.change_model import PRICED_FIELD
from analyzer_lambda.report.html import _esc, _label, render_value
from analyzer_lambda.report.rows import groups

if TYPE_CHECKING:
    from collections.abc import Mapping

    from analyzer_lambda.report.change_model import RunChanges
    from analyzer_lambda.report.rows import Group, ReportRow


def answer_columns(rows: list[ReportRow], schema: Mapping[str, Any] | None) -> list[str]:
    """The schema's top-level fields that some answer fills (else the answers' own), plans and
    prices first: the columns a user compares competitors on come before the scroll."""
    answers = [_answer(row) for row in rows]
    present: dict[str, None] = {}
    for answer in answers:
        present.update(dict.fromkeys(k for k, v in answer.items() if _filled(v)))
    properties = list((schema or {}).get("properties") or {})
    columns = [key for key in properties if key in present] or list(present)
    return sorted(columns, key=lambda key: not PRICED_FIELD.search(key))


def render_side_by_side(
    rows: list[ReportRow],
    changes: RunChanges | None,
    schema: Mapping[str, Any] | None,
) -> str:
    """The whole ``<section>``, or "" when no page has an answer."""
    columns = answer_columns(rows, schema)
    if not columns:
        return ""
    changed = _changed_fields(changes)
    found = groups(rows)
    found.sort(key=lambda group: not _has_prices(group))  # stable: the report's order otherwise
    head = "".join(f'<th scope="col">{_esc(_label(c))}</th>' for c in columns)
    lines = []
    for group in found:
        cells = "".join(_cell(group, column, changed) for column in columns)
        hosts = (
            f'<span class="hosts">{_esc(" · ".join(group.hosts))}</span>'
            if group.is_competitor
            else ""
        )
        lines.append(f'<tr><th scope="row">{_esc(group.name)}{hosts}</th>{cells}</tr>')
    marked = (
        ' Values marked <span class="changed-mark">changed</span> differ from the previous run.'
        if changed
        else ""
    )
    return (
        '<section class="side-by-side" aria-labelledby="side-title">'
        '<h2 id="side-title">Side by side</h2>'
        f'<p class="muted">One row per competitor, one column per answer field.{marked}</p>'
        f'<div class="table-scroll"><table class="compare"><thead><tr><th scope="col">Competitor'
        f"</th>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table></div></section>"
    )


def _answer(row: ReportRow) -> dict[str, Any]:
    if row.result is None or row.wall is not None or not isinstance(row.result.analysis, dict):
        return {}
    return row.result.analysis


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {})


def _has_prices(group: Group) -> bool:
    return any(
        PRICED_FIELD.search(key) and _filled(value)
        for row in group.rows
        for key, value in _answer(row).items()
    )


def _changed_fields(changes: RunChanges | None) -> dict[tuple[str, int], set[str]]:
    """(chunk, line) → the top-level answer fields that changed on that page."""
    if changes is None:
        return {}
    found: dict[tuple[str, int], set[str]] = {}
    for (chunk, line), page in changes.by_page().items():
        tops = {re.split(r"[.\[]", path, maxsplit=1)[0] for path in page.answer}
        if tops:
            found[(chunk, line)] = tops
    return found


def _cell(group: Group, column: str, changed: dict[tuple[str, int], set[str]]) -> str:
    values: list[tuple[str, Any]] = []
    seen: set[str] = set()
    is_changed = False
    for row in group.rows:
        value = _answer(row).get(column)
        if column in changed.get((row.page.chunk, row.page.line), set()):
            is_changed = True
        if not _filled(value):
            continue
        key = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
        if key in seen:
            continue
        seen.add(key)
        values.append((_page_label(row), value))
    mark = '<span class="changed-mark">changed</span>' if is_changed else ""
    if not values:
        return (
            f'<td class="{"changed" if is_changed else ""}">{mark}<span class="none">—</span></td>'
        )
    if len(values) == 1:
        body = _value(values[0][1])
    else:
        body = "".join(
            f'<div class="from"><span class="page-label">{_esc(label)}</span>{_value(value)}</div>'
            for label, value in values
        )
    return (
        f'<td class="{"changed" if is_changed else ""}">{mark}<div class="cell">{body}</div></td>'
    )


def _value(value: Any) -> str:
    """A list of objects (plans) one line each, its values joined — ``Starter · $49 · month`` —
    so that it fits a column; anything else as the cards show it."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        lines = "".join(
            "<li>"
            + " · ".join(_esc(_scalar_text(v)) for v in item.values() if _filled(v))
            + "</li>"
            for item in value
        )
        return f'<ul class="list plans">{lines}</ul>'
    return render_value(value, 1)


def _scalar_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _page_label(row: ReportRow) -> str:
    parts = urlsplit(row.page.final_url or row.page.url)
    return (parts.hostname or "") + (parts.path if parts.path not in ("", "/") else "/")
