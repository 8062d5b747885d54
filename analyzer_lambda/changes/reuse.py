"""Whether a page's previous answer can be reused instead of calling the model (SPEC.md,
Changes; issue #12: "unchanged pages cost nothing").

The model input is the reduced text after the noise rules and, when the prompt includes it, the
top of the screenshot the model is shown. A page may reuse its previous capture's answer (same
prompt id and model) when

- its text did not change: the model-input fingerprints are equal (the fast path, no diff:
  dates, ignored lines and the order of lines do not count), or the text diff finds no change
  (moves and rotations among variants seen before are not changes); and
- the prompt includes no screenshot, or the part of the screenshot the model sees changed by at
  most ``tolerance`` of its area (``visual_diff.visually_unchanged``, ignored boxes left out).

Pure: texts, screenshot bytes and records in; the caller reads them and writes the result.
``ANALYZER_REUSE=false`` and ``reanalyze --fresh`` are the caller's to honour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analyzer_lambda.changes.text_diff import TextDiff, diff_text, model_input_fingerprint
from analyzer_lambda.changes.visual_diff import (
    DEFAULT_TOLERANCE,
    VisualDiff,
    diff_screenshots,
    image_size,
    visually_unchanged,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from analyzer_lambda.changes.rules import ChangeRules
    from analyzer_lambda.changes.visual_diff import Box


@dataclass(frozen=True)
class PageCapture:
    """What the comparison needs of one capture: its reduced text and its decoded screenshot
    (image bytes, or None) with the boxes of its ``ignore_selectors`` elements."""

    text: str
    screenshot: bytes | None = None
    ignore_boxes: tuple[Box, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Comparison:
    text: TextDiff
    visual: VisualDiff | None  # None: neither capture has a screenshot, or it was not needed
    screenshots_differ_in_presence: bool = False

    @property
    def text_changed(self) -> bool:
        return self.text.changed


def compare(
    previous: PageCapture,
    current: PageCapture,
    rules: ChangeRules,
    seen: Iterable[str] = (),
    *,
    with_screenshots: bool = True,
) -> Comparison:
    """The text diff and (``with_screenshots``) the screenshot diff of two captures. A
    screenshot that cannot be decoded counts as missing."""
    text = diff_text(previous.text, current.text, rules, seen)
    if not with_screenshots or (previous.screenshot is None and current.screenshot is None):
        return Comparison(text, None)
    if previous.screenshot is None or current.screenshot is None:
        return Comparison(text, None, screenshots_differ_in_presence=True)
    try:
        if previous.screenshot == current.screenshot:  # the same bytes: nothing to decode
            width, height = image_size(current.screenshot)
            return Comparison(text, VisualDiff(0.0, (), (), width, height))
        visual = diff_screenshots(
            previous.screenshot, current.screenshot, previous.ignore_boxes, current.ignore_boxes
        )
    except ValueError:
        return Comparison(text, None, screenshots_differ_in_presence=True)
    return Comparison(text, visual)


def same_model_text(
    previous_fingerprint: str | None, current_text: str, rules: ChangeRules
) -> bool:
    """The fast path: the stored fingerprint of the previous capture (computed under the same
    rules) equals this text's."""
    return previous_fingerprint is not None and previous_fingerprint == model_input_fingerprint(
        current_text, rules
    )


def can_reuse(
    comparison: Comparison,
    *,
    include_screenshot: bool,
    screenshot_top: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """``screenshot_top``: the rows the model is shown (the analyser keeps the top of the page,
    ``MAX_ASPECT`` x its width); None compares the whole page."""
    if comparison.text_changed:
        return False
    if not include_screenshot:
        return True
    if comparison.screenshots_differ_in_presence:
        return False
    if comparison.visual is None:
        return True
    return visually_unchanged(comparison.visual, tolerance, screenshot_top)


def reused_result_fields(previous_result: dict[str, Any]) -> dict[str, Any]:
    """The fields of a result that reuses ``previous_result`` (a stored result record): its
    ``analysis``, usage 0, and ``reused_from`` naming the capture whose answer it is. A result
    reused in turn names the capture the model actually answered for."""
    origin = previous_result.get("reused_from") or {
        "chunk": previous_result["chunk"],
        "line": previous_result["line"],
    }
    return {
        "analysis": previous_result.get("analysis"),
        "usage": {"input_tokens": 0, "output_tokens": 0},
        "error": None,
        "reused_from": {"chunk": origin["chunk"], "line": int(origin["line"])},
    }


def reusable_result(previous_result: dict[str, Any] | None, prompt_id: str, model: str) -> bool:
    """A previous result can be reused only when it answered this prompt id and model, with an
    analysis and without an error."""
    return (
        previous_result is not None
        and previous_result.get("prompt_id") == prompt_id
        and previous_result.get("model") == model
        and previous_result.get("analysis") is not None
        and not previous_result.get("error")
    )
