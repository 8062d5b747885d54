"""The report's **What changed** section (issue #12): the changed pages first, each with the
answer fields that changed (``before → after``), the text diff (removed and added lines,
words highlighted inside an edited line) and before/after crops of the changed areas of the
screenshot, the full captures a click away in the report's lightbox; then the new, removed,
failed and unchanged pages, counted and collapsed. The first run of a spider says "first
capture" instead of showing empty diffs.

Pure: ``RunChanges`` and the report rows in, HTML out. Text from pages and models is untrusted
and goes through ``html.escape``; image paths go through ``asset_url`` (the uploaded report
links presigned URLs); no inline style or script (the report's CSP)."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from analyzer_lambda.changes.text_diff import word_segments
from analyzer_lambda.report.change_model import PRICED_FIELD
from analyzer_lambda.report.html import _LANG, _esc, _link, _when, card_id
from analyzer_lambda.report.rows import groups

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from analyzer_lambda.changes.text_diff import TextDiff
    from analyzer_lambda.report.change_model import ChangeShots, PageChange, RunChanges
    from analyzer_lambda.report.rows import ReportRow

MAX_OPEN = 25  # changed pages shown open; the others are collapsed below them
MAX_LINES = 30  # text diff lines shown before "N more"
MAX_LINE_CHARS = 600  # an added or removed line longer than this is cut
CONTEXT = 80  # unchanged characters kept on each side of a change inside an edited line
MAX_VALUE_CHARS = 240  # an answer value longer than this is cut (the full one is in the card)
_OTHERS = (
    ("new", "new page", "new pages", "No previous capture: compared from the next run on."),
    ("removed", "removed page", "removed pages", "In the previous run, missing from this one."),
    ("failed", "failed page", "failed pages", "This capture failed: nothing to compare."),
    ("unchanged", "unchanged page", "unchanged pages", "Same text, screenshot and answer."),
)


def render_changes_section(
    changes: RunChanges, rows: list[ReportRow], asset_url: Callable[[str], str]
) -> str:
    """The whole ``<section>``."""
    row_of = {(r.page.chunk, r.page.line): r for r in rows}
    order = {(r.page.chunk, r.page.line): i for i, r in enumerate(_report_order(rows))}
    tally = changes.counts()
    parts = ['<section class="changes" id="what-changed" aria-labelledby="changes-title">',
             '<h2 id="changes-title">What changed</h2>']  # fmt: skip
    if changes.first_capture:
        parts.append(
            '<p class="first-capture"><b>First capture.</b> No earlier run of this spider to '
            f"compare with: {len(changes.pages)} page(s) captured; the next run is compared "
            "with this one.</p></section>"
        )
        return "".join(parts)
    basis = (
        f"Compared with run <code>{_esc(changes.against)}</code> (--against)"
        if changes.against
        else "Each page compared with its previous capture"
        + (
            f" (latest earlier run <code>{_esc(changes.compared_with)}</code>)"
            if changes.compared_with
            else ""
        )
    )
    parts.append(f'<p class="muted">{basis}.</p><div class="totals">{_tally(tally)}</div>')
    changed = [p for p in changes.pages if p.status == "changed"]
    changed.sort(key=lambda p: (_rank(p), order.get((p.chunk or "", p.line or 0), 1 << 30)))
    if not changed:
        parts.append('<p class="no-change">No page changed since its previous capture.</p>')
    shown = [
        _changed_page(p, row_of.get((p.chunk or "", p.line or 0)), asset_url) for p in changed
    ]
    parts += shown[:MAX_OPEN]
    if shown[MAX_OPEN:]:  # the most telling ones open, the rest a click away
        parts.append(
            f'<details class="others more-changed"><summary><b>{len(shown) - MAX_OPEN}</b> more'
            f" changed pages</summary>{''.join(shown[MAX_OPEN:])}</details>"
        )
    for status, one, many, why in _OTHERS:
        listed = [p for p in changes.pages if p.status == status]
        if listed:
            parts.append(_others(listed, one, many, why, status, row_of))
    parts.append("</section>")
    return "\n".join(parts)


def _report_order(rows: list[ReportRow]) -> list[ReportRow]:
    return [row for group in groups(rows) for row in group.rows]


def _rank(page: PageChange) -> int:
    """Plans and prices that changed first, then other answer fields, then text, then the
    screenshot alone."""
    if any(PRICED_FIELD.search(path) for path in page.answer):
        return 0
    if page.answer:
        return 1
    return 2 if page.text is not None and page.text.changed else 3


def _tally(tally: Counter[str]) -> str:
    labels = (("changed", "changed"), ("new", "new"), ("removed", "removed"),
              ("failed", "failed"), ("unchanged", "unchanged"))  # fmt: skip
    return "".join(
        f'<div class="stat ch-{status}"><b>{tally.get(status, 0)}</b>{label}</div>'
        for status, label in labels
    )


def _changed_page(page: PageChange, row: ReportRow | None, asset_url: Callable[[str], str]) -> str:
    answer = (
        row.result.analysis if row and row.result and isinstance(row.result.analysis, dict) else {}
    )
    title = (answer or {}).get("title") or (row.page.title if row else None) or page.url
    language = str((answer or {}).get("language") or "")
    lang = f' lang="{_esc(language)}"' if _LANG.match(language) else ""
    previous = page.record.get("previous") or {}
    facts = []
    if row is not None and row.competitor:
        facts.append(f'<span class="competitor">{_esc(row.competitor)}</span>')
    when = _when(row.page.crawled_at) if row is not None else "?"
    facts.append(f"<span>{_esc(_when(previous.get('crawled_at')))} → {_esc(when)}</span>")
    visual = page.record.get("visual") or {}
    if visual.get("changed_fraction"):
        facts.append(f"<span>{visual['changed_fraction'] * 100:.1f} % of the screenshot</span>")
    if row is not None:
        facts.append(f'<a href="#{_esc(card_id(row.page))}">page card</a>')
    body = [
        f"<h3>{_esc(title)}</h3>",
        _link(page.url),
        f'<div class="facts">{"".join(facts)}</div>',
        _answer_changes(page.answer),
        _text_diff(page.text),
        _screenshots(page.shots, row, str(title), asset_url),
    ]
    return (
        f'<article class="change" data-status="changed"{lang}>{"".join(b for b in body if b)}'
        "</article>"
    )


def _inline(value: Any) -> str:
    """An answer value on one line, escaped: objects as ``key: value`` pairs, lists joined."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        text = "; ".join(f"{k}: {_plain(v)}" for k, v in value.items() if v not in (None, ""))
    elif isinstance(value, list):
        text = " · ".join(_plain(v) for v in value)
    else:
        text = str(value)
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    return _esc(text)


def _marked(tag: str, value: Any) -> str:
    """A value that went (``del``) or came (``ins``); an empty one is said so, unmarked."""
    if value is None or value in ("", [], {}):
        return '<span class="none">none</span>'
    return f'<{tag} class="val">{_inline(value)}</{tag}>'


def _plain(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _answer_changes(answer: dict[str, dict[str, Any]]) -> str:
    if not answer:
        return ""
    lines = []
    for path, change in answer.items():
        if "added" in change or "removed" in change:  # a list of scalars: say which items
            items = [_marked("del", v) for v in change.get("removed", [])]
            value = " ".join(items + [_marked("ins", v) for v in change.get("added", [])])
        elif _long_texts(change.get("before"), change.get("after")):  # say which words
            words = _segments(word_segments(change["before"], change["after"]))
            value = f'<span class="words">{words}</span>'
        else:
            value = (
                f"{_marked('del', change.get('before'))}"
                ' <span class="arrow" aria-label="became">→</span> '
                f"{_marked('ins', change.get('after'))}"
            )
        lines.append(f'<tr><th scope="row"><code>{_esc(path)}</code></th><td>{value}</td></tr>')
    return (
        '<div class="change-part"><h4>Answer</h4><table class="fields">'
        f"{''.join(lines)}</table></div>"
    )


def _long_texts(before: Any, after: Any) -> bool:
    return isinstance(before, str) and isinstance(after, str) and len(before) + len(after) > 80


def _segments(segments: Sequence[tuple[str, str]]) -> str:
    """Word-level segments, removed words struck through and added ones marked; the unchanged
    text of a long paragraph is cut to ``CONTEXT`` characters around each change."""
    marks = {"-": "<del>{}</del>", "+": "<ins>{}</ins>", "=": "{}"}
    out = []
    for i, (op, text) in enumerate(segments):
        if op == "=" and len(text) > 2 * CONTEXT + 20:
            head = text[:CONTEXT].rsplit(" ", 1)[0] if i > 0 else ""  # whole words where
            tail = text[-CONTEXT:].split(" ", 1)[-1] if i < len(segments) - 1 else ""  # any
            text = f"{head} … {tail}".strip()
        out.append(marks[op].format(_esc(text)))
    return "".join(out)


def _cut(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 1] + "…"


def _text_diff(text: TextDiff | None) -> str:
    """Edited lines with their words marked, then lines removed, then lines added."""
    if text is None or not text.changed:
        return ""
    items: list[str] = []
    edited_before = Counter(edit.before for edit in text.edits)
    edited_after = Counter(edit.after for edit in text.edits)
    for edit in text.edits:
        words = _segments(edit.segments)
        items.append(
            f'<li class="edit"><span class="sign" aria-hidden="true">~</span>{words}</li>'
        )
    for line in text.removed:
        if _take(edited_before, line):
            continue
        items.append(
            f'<li class="del"><span class="sign">−</span><del>{_esc(_cut(line))}</del></li>'
        )
    for line in text.added:
        if _take(edited_after, line):
            continue
        items.append(
            f'<li class="ins"><span class="sign">+</span><ins>{_esc(_cut(line))}</ins></li>'
        )
    shown, rest = items[:MAX_LINES], items[MAX_LINES:]
    more = (
        f'<details class="more"><summary>{len(rest)} more line(s)</summary>'
        f'<ul class="diff">{"".join(rest)}</ul></details>'
        if rest
        else ""
    )
    notes = []
    if text.moved:
        notes.append(f"{text.moved} line(s) only moved")
    if text.rotated:
        notes.append(f"{text.rotated} line(s) rotated among variants seen before")
    note = f'<p class="muted small">Not counted: {_esc(", ".join(notes))}.</p>' if notes else ""
    return (
        '<div class="change-part"><h4>Text</h4>'
        f'<ul class="diff">{"".join(shown)}</ul>{more}{note}</div>'
    )


def _take(budget: Counter[str], line: str) -> bool:
    if budget[line] <= 0:
        return False
    budget[line] -= 1
    return True


def _screenshots(
    shots: ChangeShots | None, row: ReportRow | None, title: str, asset_url: Callable[[str], str]
) -> str:
    after_full = row.page.shot.full if row is not None and row.page.shot is not None else None
    if shots is None and after_full is None:
        return ""
    parts = ['<div class="change-part"><h4>Screenshot</h4>']
    for crop in shots.crops if shots else ():
        before = (
            _zoom(
                shots.before_full if shots else None, crop.before, f"Before — {title}", asset_url
            )
            if crop.before
            else '<div class="noshot">no previous screenshot</div>'
        )
        after = _zoom(after_full, crop.after, f"After — {title}", asset_url)
        cut = (
            '<p class="muted small">The area is taller: its top is shown.</p>' if crop.cut else ""
        )
        parts.append(
            '<div class="crop-pair">'
            f"<figure><figcaption>Before</figcaption>{before}</figure>"
            f"<figure><figcaption>After</figcaption>{after}</figure></div>{cut}"
        )
    links = []
    if shots is not None and shots.more:
        links.append(f"{shots.more} more changed area(s) in the full capture.")
    if shots is not None and shots.before_full:
        links.append(
            _full_link(shots.before_full, f"Before — {title}", "previous capture", asset_url)
        )
    if after_full:
        links.append(_full_link(after_full, f"After — {title}", "this capture", asset_url))
    if shots is not None and not shots.crops:
        links.insert(0, "No changed area in the screenshot.")
    legend = (
        '<p class="muted small">Boxes mark what differs; a line marks where content went in'
        " (before) or went away (after). Click a crop for the full page.</p>"
        if shots is not None and shots.crops
        else ""
    )
    parts.append(f'{legend}<p class="full-shots">Full page: {" · ".join(links)}</p></div>')
    return "".join(parts)


def _zoom(full: str | None, crop: str, caption: str, asset_url: Callable[[str], str]) -> str:
    image = (
        f'<img src="{_esc(asset_url(crop))}" loading="lazy" decoding="async"'
        f' alt="{_esc(caption)}">'
    )
    if full is None:
        return image
    return (
        f'<a class="zoomable" href="{_esc(asset_url(full))}" data-caption="{_esc(caption)}" '
        f'target="_blank" rel="noopener">{image}</a>'
    )


def _full_link(path: str, caption: str, label: str, asset_url: Callable[[str], str]) -> str:
    return (
        f'<a class="zoomable" href="{_esc(asset_url(path))}" data-caption="{_esc(caption)}" '
        f'target="_blank" rel="noopener">{_esc(label)}</a>'
    )


def _others(
    pages: list[PageChange],
    one: str,
    many: str,
    why: str,
    status: str,
    row_of: dict[tuple[str, int], ReportRow],
) -> str:
    items = []
    for page in sorted(pages, key=lambda p: p.url):
        row = row_of.get((page.chunk or "", page.line or 0))
        who = (
            f' <span class="muted">{_esc(row.competitor)}</span>' if row and row.competitor else ""
        )
        items.append(f"<li>{_link(page.url)}{who}</li>")
    label = one if len(pages) == 1 else many
    return (
        f'<details class="others" data-status="{status}"><summary><b>{len(pages)}</b> {label}'
        f'</summary><p class="muted small">{_esc(why)}</p><ul>{"".join(items)}</ul></details>'
    )
