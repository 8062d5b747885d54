"""``report.html`` from the report's rows: pure, rows and run facts in, one self-contained page
out. No I/O: ``analyzer_lambda.report`` reads S3 and writes files.

Everything that comes from a page or a model (titles, URLs, answers, error messages) is
untrusted and goes through ``html.escape``; links are made only for ``http(s)`` URLs; the page's
script and styles carry a per-report nonce under a Content-Security-Policy, so injected markup
could not run even if an escape were missed. Screenshot paths go through ``asset_url`` so that
the local report links files beside it and the uploaded one links presigned URLs."""

from __future__ import annotations

import html
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from analyzer_lambda.report.rows import counts, groups
from rivalscope_core.keys import chunk_stem

if TYPE_CHECKING:
    from analyzer_lambda.report.rows import Group, ReportMeta, ReportPage, ReportRow
    from rivalscope_core.records import ErrorInfo

_LANG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_MAX_DEPTH = 4
_CHIP_CHARS = 40


def _when(iso: str | None) -> str:
    """``2026-11-23T21:40:12.000000Z`` → ``2026-11-23 21:40:12 UTC``; other text as is."""
    match = re.match(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?(?:Z|\+00:00)$", iso or "")
    return f"{match[1]} {match[2]} UTC" if match else (iso or "?")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _template(name: str) -> str:
    templates = resources.files("analyzer_lambda.report").joinpath("templates")
    return templates.joinpath(name).read_text("utf-8")


def _link(url: str | None, text: str | None = None) -> str:
    """A link for http(s) URLs only (no ``javascript:``); other values stay text."""
    if not url:
        return '<span class="none">—</span>'
    label = _esc(text if text is not None else url)
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return label
    return f'<a href="{_esc(url)}" target="_blank" rel="noopener noreferrer nofollow">{label}</a>'


def _label(key: str) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _scalar(value: Any) -> str:
    if value is None or value == "":
        return '<span class="none">—</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and re.match(r"^https?://\S+$", value):
        return _link(value)
    return _esc(value)


def render_value(value: Any, depth: int = 0) -> str:
    """Any JSON answer as readable HTML: objects as definition lists, lists of objects as
    tables, short lists as chips."""
    if isinstance(value, dict):
        if not value:
            return '<span class="none">none</span>'
        if depth >= _MAX_DEPTH:
            return _esc(json.dumps(value, ensure_ascii=False))
        items = "".join(
            f"<dt>{_esc(_label(k))}</dt><dd>{render_value(v, depth + 1)}</dd>"
            for k, v in value.items()
        )
        return f'<dl class="answer">{items}</dl>'
    if isinstance(value, list):
        if not value:
            return '<span class="none">none</span>'
        if all(isinstance(v, dict) for v in value) and depth < _MAX_DEPTH:
            columns = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f"<th>{_esc(_label(c))}</th>" for c in columns)
            body = "".join(
                "<tr>"
                + "".join(f"<td>{render_value(v.get(c), _MAX_DEPTH)}</td>" for c in columns)
                + "</tr>"
                for v in value
            )
            return (
                f'<table class="items"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
            )
        short = all(not isinstance(v, dict | list) and len(str(v)) <= _CHIP_CHARS for v in value)
        items = "".join(f"<li>{render_value(v, depth + 1)}</li>" for v in value)
        return f'<ul class="{"chips" if short else "list"}">{items}</ul>'
    return _scalar(value)


def _error_box(error: ErrorInfo, prefix: str) -> str:
    return (
        f'<div class="error" role="alert"><b>{_esc(prefix)}: {_esc(error.type)}</b>'
        f"{_esc(error.message)}</div>"
    )


def _wall_box(wall: ErrorInfo) -> str:
    return (
        '<div class="wall" role="note"><b>Blocked by the site</b>'
        f'<span class="reason">{_esc(wall.message)}</span>'
        "The site served a bot check or an access-denied page instead of this page. The"
        " screenshot shows what the crawler was shown; it was not sent to the model.</div>"
    )


def card_id(page: ReportPage) -> str:
    """``page-items.0000003-2``: the chunk stem and line, as screenshot files are named."""
    return f"page-{chunk_stem(page.chunk)}-{page.line}"


def _card(row: ReportRow, asset_url: Callable[[str], str]) -> str:
    page, result, status = row.page, row.result, row.status
    answer = result.analysis if result is not None and isinstance(result.analysis, dict) else None
    title = (answer or {}).get("title") or page.title or page.final_url or page.url
    language = str((answer or {}).get("language") or "")
    lang = f' lang="{_esc(language)}"' if _LANG.match(language) else ""
    caption = f"{title} — {page.final_url or page.url}"
    wall = row.wall
    if wall is not None:
        caption = f"What the site showed instead of the page — {page.final_url or page.url}"
    if page.shot is not None:
        extent = "top of the page (cut)" if page.shot.truncated else "full page"
        shot = (
            f'<a class="shot" href="{_esc(asset_url(page.shot.full))}" '
            f'data-caption="{_esc(caption)}" target="_blank" rel="noopener">'
            f'<img src="{_esc(asset_url(page.shot.thumb))}" loading="lazy" decoding="async" '
            f'alt="Screenshot of {_esc(page.final_url or page.url)}">'
            f'<span class="zoom">{page.shot.width}×{page.shot.height} · {extent}</span></a>'
        )
    else:
        why = " (the crawl failed)" if page.error is not None else ""
        shot = f'<div class="noshot">no screenshot{why}</div>'
    badge = {
        "done": "Analysed",
        "failed": "Failed",
        "missing": "Not analysed",
        "blocked": "Blocked by site",
    }[status]
    facts = [f'<span class="badge {status}">{badge}</span>']
    if row.competitor is not None:
        facts.append(f'<span class="competitor">{_esc(row.competitor)}</span>')
    facts.append(f"<span>crawled {_esc(_when(page.crawled_at))}</span>")
    if page.status is not None:
        facts.append(f"<span>HTTP {_esc(page.status)}</span>")
    if result is not None and wall is None:  # a wall's result names no model call
        facts.append(f"<span>{_esc(result.analyzer)} · {_esc(result.model)}</span>")
        if result.usage.input_tokens or result.usage.output_tokens:
            usage = f"{result.usage.input_tokens:,} in / {result.usage.output_tokens:,} out"
            facts.append(f"<span>{usage} tokens</span>")
    facts.append(f'<span class="where">{_esc(page.chunk.rsplit("/", 1)[-1])}:{page.line}</span>')
    parts = [f"<h3>{_esc(title)}</h3>", _link(page.url if not page.final_url else page.final_url)]
    parts.append(f'<div class="facts">{"".join(facts)}</div>')
    if wall is not None:
        parts.append(_wall_box(wall))
    if page.error is not None and page.error != wall:
        parts.append(_error_box(page.error, "Crawl error"))
    if result is not None and result.error is not None and result.error != wall:
        parts.append(_error_box(result.error, "Analysis error"))
    if result is None and wall is None:
        parts.append('<div class="notice">Not analysed yet with this prompt.</div>')
    if answer is not None:
        parts.append(render_value(answer))
    return (
        f'<article class="card {status}" data-site="{_esc(row.group)}" data-status="{status}"'
        f' id="{_esc(card_id(page))}"{lang}>'
        f'{shot}<div class="body">{"".join(parts)}</div></article>'
    )


def _hosts(group: Group) -> str:
    """A competitor's hosts under its name; a host group is its own host."""
    if not group.is_competitor:
        return ""
    return f'<span class="hosts">{_esc(" · ".join(group.hosts))}</span>'


def _summary(rows: list[ReportRow]) -> tuple[str, str, str, str]:
    """(totals, one table row per competitor — or host of no competitor — with its hosts, the
    all-pages row, the filter's options)."""
    found = groups(rows)
    lines: list[str] = []
    total = ""
    for group in [*found, None]:
        subset = list(group.rows) if group is not None else rows
        c = counts(subset)
        tokens_in = sum(r.result.usage.input_tokens for r in subset if r.result)
        tokens_out = sum(r.result.usage.output_tokens for r in subset if r.result)
        cells = (
            f"<td>{len({(r.page.chunk, r.page.line) for r in subset})}</td><td>{c['done']}</td>"
            f'<td class="{"bad" if c["failed"] else ""}">{c["failed"]}</td>'
            f'<td class="{"wait" if c["missing"] else ""}">{c["missing"]}</td>'
            f'<td class="{"blk" if c["blocked"] else ""}">{c["blocked"]}</td>'
            f"<td>{tokens_in:,} / {tokens_out:,}</td>"
        )
        if group is None:
            total = f"<tr><td>All pages</td>{cells}</tr>"
        else:
            name = _esc(group.name)
            lines.append(f'<tr data-site="{name}"><td>{name}{_hosts(group)}</td>{cells}</tr>')
    c = counts(rows)
    pages = len({(r.page.chunk, r.page.line) for r in rows})
    competitors = sum(1 for g in found if g.is_competitor)
    hosts = len({r.site for r in rows})
    totals = (
        f'<div class="stat"><b>{pages}</b>pages</div>'
        + (f'<div class="stat"><b>{competitors}</b>competitors</div>' if competitors else "")
        + f'<div class="stat"><b>{hosts}</b>sites</div>'
        f'<div class="stat done"><b>{c["done"]}</b>analysed</div>'
        f'<div class="stat failed"><b>{c["failed"]}</b>failed</div>'
        f'<div class="stat missing"><b>{c["missing"]}</b>not analysed</div>'
        f'<div class="stat blocked"><b>{c["blocked"]}</b>blocked by site</div>'
    )
    options = "".join(f'<option value="{_esc(g.name)}">{_esc(g.name)}</option>' for g in found)
    return totals, "\n".join(lines), total, options


def _cards(rows: list[ReportRow], asset_url: Callable[[str], str]) -> str:
    """The cards, group by group, each group under a heading that names its hosts."""
    parts = []
    for group in groups(rows):
        parts.append(
            f'<div class="group-title" role="heading" aria-level="3" '
            f'data-site="{_esc(group.name)}">{_esc(group.name)}{_hosts(group)}</div>'
        )
        parts.extend(_card(row, asset_url) for row in group.rows)
    return "\n".join(parts)


# A section's HTML, or a function of ``asset_url`` giving it: a section that shows files beside
# the report (the changes' crops) must link presigned URLs in the uploaded copy, as cards do.
Section = str | Callable[[Callable[[str], str]], str]


@dataclass(frozen=True)
class ReportSections:
    """Ready-made HTML sections that other packages render (each escapes its own input): the
    digest heads the page, then what changed and the side-by-side table, the cost ledger last.
    An empty string leaves its section out."""

    digest: Section = ""
    changes: Section = ""
    side_by_side: Section = ""
    cost: Section = ""


def _section(section: Section, asset_url: Callable[[str], str]) -> str:
    return section if isinstance(section, str) else section(asset_url)


NO_SECTIONS = ReportSections()


def render_report(
    rows: list[ReportRow],
    meta: ReportMeta,
    asset_url: Callable[[str], str] = lambda p: p,
    sections: ReportSections = NO_SECTIONS,
) -> str:
    """The whole self-contained ``report.html`` (CSS and script inline; images by URL)."""
    totals, summary_rows, summary_total, options = _summary(rows)
    models = sorted({r.result.model for r in rows if r.result is not None}) or ["—"]
    return Template(_template("report.html")).substitute(
        nonce=secrets.token_urlsafe(16),
        title=_esc(f"Report · {meta.prompt_id}"),
        run=_esc(meta.run),
        prompt_id=_esc(meta.prompt_id),
        models=_esc(", ".join(models)),
        generated_at=_esc(_when(meta.generated_at)),
        csv_href=_esc(asset_url("results.csv")),
        jsonl_href=_esc(asset_url("results.jsonl")),
        totals=totals,
        summary_rows=summary_rows,
        summary_total=summary_total,
        site_options=options,
        cards=_cards(rows, asset_url),
        digest_section=_section(sections.digest, asset_url),
        changes_section=_section(sections.changes, asset_url),
        side_by_side_section=_section(sections.side_by_side, asset_url),
        cost_section=_section(sections.cost, asset_url),
        css=_template("report.css"),
        js=_template("report.js"),
    )
