"""The page record (one JSON line of a raw chunk) and the result record (one analysis).

Both sides of the system read and write these, so the format lives here once. Readers ignore
fields they do not know (SPEC.md), which lets either side add fields without breaking the other.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rivalscope_core.change_rules import ChangeRules


def utc_now_iso() -> str:
    """ISO 8601 UTC with a trailing ``Z``, the form every record uses."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# The error type of a bot wall served in place of the page (SPEC.md, "Page record"): the crawler
# records it, the analyser never analyses it, the report shows it as its own state.
BLOCKED_BY_SITE = "blocked_by_site"


@dataclass(frozen=True)
class ErrorInfo:
    """Why a page could not be rendered or analysed: ``type`` is a stable short name
    (``timeout``, ``dns``, ``http_status``, ``blocked_address``, ``browser_crash``,
    ``blocked_by_site`` for a bot wall served in place of the page, ...)."""

    type: str
    message: str

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ErrorInfo | None:
        if not data:
            return None
        return cls(type=str(data.get("type", "error")), message=str(data.get("message", "")))


@dataclass(frozen=True)
class Screenshot:
    """A full-page screenshot; ``data`` is base64 of the encoded image. ``truncated`` is true
    when the page was taller than ``SELENIUM_MAX_SCREENSHOT_HEIGHT`` and the capture was cut;
    ``page_height`` is the document height in CSS pixels, whatever was captured. ``renderer``
    names the browser build and its rendering flags (``crawler.browser.session.renderer_of``):
    a new Chromium or flag draws the same page a little differently, and the change report
    says so rather than pass such pixels off as the competitor's change."""

    format: str
    width: int
    height: int
    data: str
    truncated: bool = False
    page_height: int | None = None
    renderer: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Screenshot | None:
        if not data:
            return None
        return cls(
            format=str(data["format"]),
            width=int(data["width"]),
            height=int(data["height"]),
            data=str(data["data"]),
            truncated=bool(data.get("truncated", False)),
            page_height=data.get("page_height"),
            renderer=_optional_text(data.get("renderer")),
        )


@dataclass(frozen=True)
class PageRecord:
    """One crawled page. ``body`` keeps the name of ``s3pipeline.Page`` so that chunks stay
    readable by tools that know that item. ``competitor`` is the watch-list name the page was
    listed (or found) under, None for ``-a urls``/``urls_file``; ``change_rules`` are that
    competitor's noise rules, carried with the page for change tracking (issue #12).
    ``ignored_boxes`` are the screen boxes ``[x, y, w, h]`` (screenshot pixels, document
    coordinates) of the elements the page's ``ignore_selectors`` matched when the screenshot
    was taken: the visual diff masks them."""

    url: str
    final_url: str | None
    status: int | None
    crawled_at: str
    body: str
    title: str | None = None
    screenshot: Screenshot | None = None
    prompt: str | None = None
    competitor: str | None = None
    change_rules: ChangeRules | None = None
    error: ErrorInfo | None = None
    ignored_boxes: tuple[tuple[int, int, int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if self.change_rules is not None:
            data["change_rules"] = self.change_rules.to_dict()
        data["ignored_boxes"] = [list(box) for box in self.ignored_boxes]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PageRecord:
        """Build from a decoded chunk line. Unknown fields are ignored; ``url`` is required."""
        if not isinstance(data, dict) or "url" not in data:
            raise ValueError("a page record is a JSON object with at least a 'url'")
        status = data.get("status")
        return cls(
            url=str(data["url"]),
            final_url=data.get("final_url"),
            status=int(status) if status is not None else None,
            crawled_at=str(data.get("crawled_at") or ""),
            body=str(data.get("body") or ""),
            title=data.get("title"),
            screenshot=Screenshot.from_dict(data.get("screenshot")),
            prompt=data.get("prompt"),
            competitor=_optional_text(data.get("competitor")),
            change_rules=ChangeRules.from_dict(data.get("change_rules")),
            error=ErrorInfo.from_dict(data.get("error")),
            ignored_boxes=_boxes(data.get("ignored_boxes")),
        )


def _boxes(value: Any) -> tuple[tuple[int, int, int, int], ...]:
    """Lenient, as every reader of stored records: what is not four whole numbers is left out."""
    if not isinstance(value, list):
        return ()
    return tuple(
        (box[0], box[1], box[2], box[3])
        for box in value
        if isinstance(box, list) and len(box) == 4 and all(type(v) is int for v in box)
    )


def _optional_text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class ResultRecord:
    """One analysis of one page with one prompt and model (SPEC.md, ``results.jsonl``);
    ``competitor`` is copied from the page record (None when the page had none)."""

    url: str
    final_url: str | None
    crawled_at: str
    chunk: str
    line: int
    prompt_id: str
    model: str
    analyzer: str
    analysis: dict[str, Any] | None
    usage: Usage = field(default_factory=Usage)
    error: ErrorInfo | None = None
    analyzed_at: str = field(default_factory=utc_now_iso)
    competitor: str | None = None
    # ``{chunk, line}`` of the capture whose answer this reuses (the page did not change), or
    # None: the model was asked (SPEC.md, Result record)
    reused_from: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResultRecord:
        usage = data.get("usage") or {}
        return cls(
            url=str(data["url"]),
            final_url=data.get("final_url"),
            crawled_at=str(data.get("crawled_at") or ""),
            chunk=str(data["chunk"]),
            line=int(data["line"]),
            prompt_id=str(data["prompt_id"]),
            model=str(data["model"]),
            analyzer=str(data.get("analyzer") or ""),
            analysis=data.get("analysis"),
            usage=Usage(
                input_tokens=int(usage.get("input_tokens") or 0),
                output_tokens=int(usage.get("output_tokens") or 0),
            ),
            error=ErrorInfo.from_dict(data.get("error")),
            analyzed_at=str(data.get("analyzed_at") or ""),
            competitor=_optional_text(data.get("competitor")),
            reused_from=data.get("reused_from") or None,
        )
