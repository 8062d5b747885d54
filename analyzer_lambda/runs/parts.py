"""The run report's parts: what the run-complete step keeps in S3 between invocations while it
writes a run's report chunk by chunk (``runs.report``).

One part per chunk of the run, ``reports/{spider}/{run}/{label}/_parts/{NNNNN}.json`` (the
chunk's place in the run's sorted chunk list): the chunk's report pages (page facts, the names
of its screenshot files) and its changes (each ``changes.jsonl`` line, the word-level text diff,
the crop files). The screenshots and crops themselves are uploaded to their final keys beside
the report before the part is written, so a part that exists is complete: an invocation killed
mid-part leaves no part, and the next one writes it again, to the same keys. Parts hold no page
body and no image, so the assembly reads them all in little memory.

Pure JSON both ways (no pickle: a part is read back from a bucket)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analyzer_lambda.changes.text_diff import LineEdit, TextDiff
from analyzer_lambda.report.change_model import ChangeShots, CropPair, PageChange
from analyzer_lambda.report.rows import ReportPage, ShotFiles
from rivalscope_core.keys import report_prefix
from rivalscope_core.records import ErrorInfo

if TYPE_CHECKING:
    from rivalscope_core.keys import RunRef

PARTS_DIR = "_parts/"
PART_VERSION = 1


def parts_prefix(run: RunRef, label: str) -> str:
    return f"{report_prefix(run, label)}{PARTS_DIR}"


def part_key(run: RunRef, label: str, index: int) -> str:
    return f"{parts_prefix(run, label)}{index:05d}.json"


def part_index(key: str) -> int | None:
    """The chunk index of a part's key, None for anything else under ``_parts/``."""
    name = key.rsplit("/", 1)[-1]
    stem = name.removesuffix(".json")
    return int(stem) if name.endswith(".json") and stem.isdigit() else None


@dataclass(frozen=True)
class Part:
    """One chunk's share of the run's report. ``chunk``: its URI (a part found for another
    chunk at that index — the chunk list changed — is not used)."""

    chunk: str
    pages: tuple[ReportPage, ...]
    changes: tuple[PageChange, ...] | None  # None: the chunk was not compared

    def to_json(self) -> bytes:
        body = {
            "version": PART_VERSION,
            "chunk": self.chunk,
            "pages": [dataclasses.asdict(page) for page in self.pages],
            "changes": None
            if self.changes is None
            else [_change_dict(change) for change in self.changes],
        }
        return json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, body: bytes) -> Part:
        """Raises ``ValueError`` for a body that is not a part of this version."""
        try:
            data = json.loads(body)
            if data.get("version") != PART_VERSION:
                raise ValueError(f"part version {data.get('version')!r}, not {PART_VERSION}")
            changes = data["changes"]
            return cls(
                chunk=str(data["chunk"]),
                pages=tuple(_page(p) for p in data["pages"]),
                changes=None if changes is None else tuple(_change(c) for c in changes),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a run report part: {exc!r}") from exc


def _change_dict(change: PageChange) -> dict[str, Any]:
    text = None
    if change.text is not None:
        text = dataclasses.asdict(change.text) | {"variants": sorted(change.text.variants)}
    return {
        "record": change.record,
        "chunk": change.chunk,
        "line": change.line,
        "text": text,
        "shots": dataclasses.asdict(change.shots) if change.shots is not None else None,
    }


def _page(data: dict[str, Any]) -> ReportPage:
    shot = data.get("shot")
    return ReportPage(
        chunk=data["chunk"],
        line=int(data["line"]),
        url=data["url"],
        final_url=data["final_url"],
        status=data["status"],
        crawled_at=data["crawled_at"],
        title=data["title"],
        error=ErrorInfo.from_dict(data.get("error")),
        shot=ShotFiles(**shot) if shot is not None else None,
        competitor=data.get("competitor"),
        prompt_id=data.get("prompt_id"),
    )


def _change(data: dict[str, Any]) -> PageChange:
    text, shots = data.get("text"), data.get("shots")
    return PageChange(
        record=data["record"],
        chunk=data.get("chunk"),
        line=data.get("line"),
        text=_text_diff(text) if text is not None else None,
        shots=ChangeShots(
            crops=tuple(CropPair(**crop) for crop in shots["crops"]),
            more=int(shots["more"]),
            before_full=shots["before_full"],
        )
        if shots is not None
        else None,
    )


def _text_diff(data: dict[str, Any]) -> TextDiff:
    return TextDiff(
        added=tuple(data["added"]),
        removed=tuple(data["removed"]),
        edits=tuple(
            LineEdit(
                before=edit["before"],
                after=edit["after"],
                segments=tuple((op, text) for op, text in edit["segments"]),
            )
            for edit in data["edits"]
        ),
        moved=int(data["moved"]),
        rotated=int(data["rotated"]),
        variants=frozenset(data["variants"]),
    )
