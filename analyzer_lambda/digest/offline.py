"""The deterministic digest: the same ranked changes Gemini is given, written as sentences from
``phrases`` — no key, no network, the same text for the same changes on every machine. It is
what a run gets without ``GEMINI_API_KEY`` and whenever Gemini's answer cannot be used. Pure."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from analyzer_lambda.digest.markdown import fit
from analyzer_lambda.digest.model import Digest, Point, State
from analyzer_lambda.digest.phrases import clip, offline_language, phrase
from analyzer_lambda.digest.rank import field_kind, states_price

if TYPE_CHECKING:
    from collections.abc import Sequence

    from analyzer_lambda.digest.rank import FieldChange, RankedChange

_FIELDS_SHOWN = 3
_LINES_SHOWN = 2
_VALUE_CHARS = 60
_LINE_CHARS = 90


def run_state(changes: Sequence[RankedChange], counts: dict[str, int]) -> State:
    """``quiet`` when nothing changed; ``first`` when nothing had a previous capture."""
    if not changes:
        return "quiet"
    if counts["new"] and not (counts["changed"] or counts["removed"] or counts["unchanged"]):
        return "first"
    return "changes"


def newsworthy(changes: Sequence[RankedChange], state: State) -> list[RankedChange]:
    """A first capture's pages are all new: that is the headline, not one point per page."""
    return [c for c in changes if not (state == "first" and c.kind == "new")]


def _value(value: Any, lang: str) -> str:
    if value is None:
        return phrase(lang, "none")
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return phrase(lang, "quote", text=clip(value, _VALUE_CHARS))
    return clip(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")), _VALUE_CHARS)


def _around_change(before: str, after: str, limit: int) -> tuple[str, str]:
    """Both texts on one line, each cut to the same window around where they first differ: a
    reworded sentence clipped from its start alone would read "same…" → "same…"."""
    old, new = " ".join(before.split()), " ".join(after.split())
    if len(old) <= limit and len(new) <= limit:
        return old, new
    same = next(
        (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
        min(len(old), len(new)),
    )
    # the window ends with the longer text when it can: one "…" (at the front) is enough
    start = max(0, min(same - limit // 3, max(len(old), len(new)) - (limit - 1)))
    if start == 0:
        return clip(old, limit), clip(new, limit)
    # the window starts at a word, so that no word is shown cut at its front
    space = old.rfind(" ", 0, start + 1)
    start = space + 1 if space > 0 else start
    return "…" + clip(old[start:], limit - 1), "…" + clip(new[start:], limit - 1)


def _field(change: FieldChange, lang: str) -> str:
    if change.added or change.removed:
        items = [phrase(lang, "item_added", value=_value(v, lang)) for v in change.added]
        items += [phrase(lang, "item_removed", value=_value(v, lang)) for v in change.removed]
        return phrase(lang, "items", path=change.path, changes=phrase(lang, "sep").join(items))
    before, after = _value(change.before, lang), _value(change.after, lang)
    if isinstance(change.before, str) and isinstance(change.after, str):
        old, new = _around_change(change.before, change.after, _VALUE_CHARS)
        before, after = phrase(lang, "quote", text=old), phrase(lang, "quote", text=new)
    if change.before is None:
        return phrase(lang, "field_added", path=change.path, after=after)
    if change.after is None:
        return phrase(lang, "field_removed", path=change.path, before=before)
    return phrase(lang, "field", path=change.path, before=before, after=after)


def _fields(fields: Sequence[FieldChange], lang: str) -> str:
    shown = [_field(f, lang) for f in fields[:_FIELDS_SHOWN]]
    if len(fields) > _FIELDS_SHOWN:
        shown.append(phrase(lang, "and_more", n=len(fields) - _FIELDS_SHOWN))
    return phrase(lang, "sep").join(shown)


def _lines(lines: Sequence[str], lang: str) -> str:
    return phrase(lang, "sep").join(
        phrase(lang, "quote", text=clip(line, _LINE_CHARS)) for line in lines[:_LINES_SHOWN]
    )


def describe(change: RankedChange, lang: str) -> str:
    """One sentence about one page's change."""
    kind = change.kind
    if kind in ("price", "plan", "answer") and change.fields:
        wanted = [f for f in change.fields if field_kind(f) == kind] or list(change.fields)
        rest = [f for f in change.fields if f not in wanted]
        return phrase(lang, kind, fields=_fields([*wanted, *rest], lang))
    if kind == "price":  # from the text: the lines that state a price, before then after
        removed = [x for x in change.removed if states_price(x)]
        added = [x for x in change.added if states_price(x)]
        if removed and added:
            lines = f"{_lines(removed[:1], lang)} → {_lines(added[:1], lang)}"
        else:
            lines = _lines(added or removed, lang)
        return phrase(lang, "price_text", lines=lines)
    if kind == "wording":
        return phrase(lang, "wording", added=len(change.added), removed=len(change.removed),
                      lines=_lines([*change.added, *change.removed], lang))  # fmt: skip
    if kind == "visual":
        percent = round(100 * (change.visual_fraction or 0.0), 1)
        if change.renderer is not None:
            before, after = change.renderer
            return phrase(lang, "visual_renderer", percent=f"{percent:g}", before=before,
                          after=after)  # fmt: skip
        return phrase(lang, "visual", percent=f"{percent:g}")
    if kind == "removed":
        return phrase(lang, "removed_page", when=(change.last_seen or "?")[:10])
    if kind == "failed":
        return phrase(lang, "failed", error=change.error_type or "error")
    if kind == "new" and change.title:
        return phrase(lang, "new_titled", title=phrase(lang, "quote", text=clip(change.title, 80)))
    return phrase(lang, kind)  # new, blocked


def deterministic_digest(
    run: str,
    changes: Sequence[RankedChange],
    counts: dict[str, int],
    language: str,
    *,
    fallback: str | None = None,
) -> Digest:
    """The digest of ``changes`` (ranked) in ``language`` (a BCP 47 tag), capped in length."""
    lang, _ = offline_language(language)
    state = run_state(changes, counts)
    points = tuple(
        Point(c.importance, c.competitor, c.url, describe(c, lang), c.kind)
        for c in newsworthy(changes, state)
    )
    digest = Digest(
        run=run, state=state, counts=counts, points=points, language=lang, frame=lang,
        requested_language=language, fallback=fallback,
    )  # fmt: skip
    return fit(digest)
