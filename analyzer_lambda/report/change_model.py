"""The changes of a run as the report holds them: each page's ``changes.jsonl`` line plus what
the HTML needs beyond it (the word-level text diff, the screenshot crops written beside the
report). Pure values: ``report.changes`` computes them, ``changes_section`` and ``side_by_side``
render them, and the digest (issue #13) reads ``RunChanges.records``.

Kept apart from the computation so that a renderer, a test or the digest can build one without
S3 or Pillow."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer_lambda.changes.text_diff import TextDiff

# An answer field that holds plans or prices (``pricing``, ``plans``, ``prices``, ``料金``): what a
# user compares competitors on first, in the side-by-side table and among the changed pages.
PRICED_FIELD = re.compile(r"pric|plan|tarif|料金", re.IGNORECASE)


@dataclass(frozen=True)
class CropPair:
    """One changed area: its crop in the previous capture (None when that capture had no
    screenshot) and in this one, boxes drawn; paths relative to the report. ``cut``: the area
    was taller than a crop shows, so the crops show its top only."""

    before: str | None
    after: str
    cut: bool = False


@dataclass(frozen=True)
class ChangeShots:
    """The screenshot side of a changed page: its crops, how many changed areas the crops leave
    out, and the previous full capture (a file beside the report; this capture's is the card's
    own ``screenshots/`` file)."""

    crops: tuple[CropPair, ...] = ()
    more: int = 0
    before_full: str | None = None


@dataclass(frozen=True)
class PageChange:
    """One page of the comparison. ``chunk``/``line`` name this run's page (None for a page
    that only the previous run has: ``removed``)."""

    record: dict[str, Any]  # the changes.jsonl line (SPEC.md)
    chunk: str | None = None
    line: int | None = None
    text: TextDiff | None = None
    shots: ChangeShots | None = None

    @property
    def status(self) -> str:
        return str(self.record["status"])

    @property
    def url(self) -> str:
        return str(self.record["url"])

    @property
    def answer(self) -> dict[str, dict[str, Any]]:
        return dict(self.record.get("answer") or {})


@dataclass(frozen=True)
class RunChanges:
    """Every page of a run against its previous capture. ``compared_with``: the earlier run the
    pages were looked up in first (None: no earlier run — the first capture of this spider);
    ``against``: the run ``--against`` named, if any."""

    pages: tuple[PageChange, ...] = ()
    compared_with: str | None = None
    against: str | None = None

    @property
    def records(self) -> list[dict[str, Any]]:
        """The ``changes.jsonl`` lines, in the file's order: what the digest summarises."""
        return [page.record for page in self.pages]

    @property
    def first_capture(self) -> bool:
        return self.compared_with is None and all(
            p.status in ("new", "failed") for p in self.pages
        )

    def counts(self) -> Counter[str]:
        return Counter(page.status for page in self.pages)

    def by_page(self) -> dict[tuple[str, int], PageChange]:
        """This run's pages by (chunk URI, line), as report rows name them."""
        return {
            (page.chunk, page.line): page
            for page in self.pages
            if page.chunk is not None and page.line is not None
        }
