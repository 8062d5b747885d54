"""One line of ``changes.jsonl`` (SPEC.md, Changes), from the comparison of a page with its
previous capture.

``status`` is ``failed`` when this capture has an error, ``new`` without a previous capture,
``changed`` when its text changed, its screenshot changed beyond the tolerance or an answer
field changed, else ``unchanged``; ``removed`` lines come from ``history.removed_pages``.
A page compared with a capture another browser build or flag set drew (``Screenshot.renderer``)
carries ``renderer: {before, after}``, beyond SPEC's fields (readers ignore what they do not
know): its screenshot may differ by rendering alone, which the digest says.
Pure: plain values in, a JSON-ready dict out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from analyzer_lambda.changes.visual_diff import DEFAULT_TOLERANCE, visually_unchanged

if TYPE_CHECKING:
    from analyzer_lambda.changes.history import Capture
    from analyzer_lambda.changes.reuse import Comparison

Status = Literal["new", "changed", "unchanged", "failed", "removed"]


def page_status(
    *,
    failed: bool,
    previous: Capture | None,
    comparison: Comparison | None,
    answer: dict[str, Any] | None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Status:
    if failed:
        return "failed"
    if previous is None or comparison is None:
        return "new"
    visual_changed = comparison.screenshots_differ_in_presence or (
        comparison.visual is not None and not visually_unchanged(comparison.visual, tolerance)
    )
    if comparison.text_changed or visual_changed or answer:
        return "changed"
    return "unchanged"


def change_record(
    url: str,
    *,
    bucket: str,
    failed: bool,
    previous: Capture | None,
    comparison: Comparison | None,
    answer: dict[str, Any] | None,
    tolerance: float = DEFAULT_TOLERANCE,
    renderers: tuple[str | None, str | None] = (None, None),
) -> dict[str, Any]:
    """A ``changes.jsonl`` line for a page of this run; ``renderers``: what drew the previous
    and this screenshot (None when a record does not say: captures before it was recorded)."""
    status = page_status(
        failed=failed, previous=previous, comparison=comparison, answer=answer, tolerance=tolerance
    )
    compared = comparison is not None and previous is not None and not failed
    record: dict[str, Any] = {
        "url": url,
        "status": status,
        "previous": previous.previous(bucket) if previous is not None else None,
        "text": comparison.text.to_record() if compared and comparison else None,
        "visual": (
            comparison.visual.to_record()
            if compared and comparison and comparison.visual is not None
            else None
        ),
        "answer": (answer or None) if compared else None,
    }
    before, after = renderers
    if compared and before and after and before != after:
        record["renderer"] = {"before": before, "after": after}
    return record


def removed_record(previous: Capture, bucket: str) -> dict[str, Any]:
    """A page of the previous run, on a site of this run, that this run lacks."""
    return {
        "url": previous.url,
        "status": "removed",
        "previous": previous.previous(bucket),
        "text": None,
        "visual": None,
        "answer": None,
    }
