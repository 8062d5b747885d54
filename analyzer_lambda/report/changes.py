"""What changed in a report's run (SPEC.md, Changes): every page of the run against its previous
capture — text, screenshot and answer diffs — plus the pages of the previous run, on a site of
this run, that this run lacks (``removed``). The first run of a spider has only ``new`` pages.

``compute_changes`` returns them as one value (``RunChanges``: the ``changes.jsonl`` lines and
what the HTML shows beyond them) and writes the crops of the changed screenshots beside the
report while both captures are in memory; ``write_changes_jsonl`` writes the file.

The lookups are ``changes.reuser``'s (manifests, one earlier run read per page set, previous
chunks read once); the diffs are the pure ``changes`` modules'. ``against`` (the command's
``--against RUN_URI``) compares with that run only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analyzer_lambda.changes.answer_diff import diff_answers
from analyzer_lambda.changes.history import page_key, removed_pages, seen_lines
from analyzer_lambda.changes.record import change_record, removed_record
from analyzer_lambda.changes.reuse import compare
from analyzer_lambda.changes.reuser import ChunkReuse, Reuser, image_of
from analyzer_lambda.changes.rules import RuleSet
from analyzer_lambda.report.change_model import PageChange, RunChanges
from analyzer_lambda.report.crops import write_change_shots
from rivalscope_core.keys import ChunkRef, analysis_key

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from analyzer_lambda.changes.reuse import Comparison
    from analyzer_lambda.report.change_model import ChangeShots
    from rivalscope_core.keys import RunRef
    from rivalscope_core.records import PageRecord, ResultRecord

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def compute_changes(
    s3: S3Client,
    chunks: Sequence[ChunkRef],
    results: Sequence[ResultRecord],
    out_dir: Path,
    *,
    against: RunRef | None = None,
    schema: dict[str, Any] | None = None,
    rule_set: RuleSet | None = None,
    text_tokens: int = 8000,
) -> RunChanges:
    """Every page of ``chunks`` compared with its previous capture; crops of the changed
    screenshots go under ``out_dir/changes/``."""
    if not chunks:
        return RunChanges(against=against.time if against else None)
    lookup = ChangeLookup.open(s3, chunks[0], against, rule_set, text_tokens)
    by_page = {(r.chunk, r.line): r for r in results}
    pages: list[PageChange] = []
    for chunk in chunks:
        pages += lookup.chunk_changes(chunk, by_page, out_dir, schema)
    removed, compared_with = lookup.removed([p.url for p in pages], chunks[0].bucket)
    return RunChanges(tuple(pages + removed), compared_with, against.time if against else None)


@dataclass
class ChangeLookup:
    """One run's lookup of previous captures (earlier runs' manifests and chunks read once),
    used chunk by chunk: by ``compute_changes`` in one go, by the run-complete step one part
    per chunk across invocations (``runs.report``)."""

    reuser: Reuser
    lookup: ChunkReuse
    against: RunRef | None

    @classmethod
    def open(
        cls,
        s3: S3Client,
        first: ChunkRef,
        against: RunRef | None = None,
        rule_set: RuleSet | None = None,
        text_tokens: int = 8000,
    ) -> ChangeLookup:
        from analyzer_lambda.analyzers.gemini.text import reduce_html

        reuser = Reuser(s3, rule_set or RuleSet(), lambda p: reduce_html(p.body, text_tokens).text)
        lookup = reuser.for_chunk(first, [against.time] if against is not None else None)
        return cls(reuser, lookup, against)

    def chunk_changes(
        self,
        chunk: ChunkRef,
        by_page: Mapping[tuple[str, int], ResultRecord],
        out_dir: Path,
        schema: dict[str, Any] | None,
    ) -> list[PageChange]:
        """The pages of one chunk against their previous captures, in line order; the chunk's
        records are forgotten after (memory: a few chunks, not the two runs)."""
        reuser, lookup = self.reuser, self.lookup
        pages: list[PageChange] = []
        for line, page in sorted(lookup.page_records(chunk).items()):
            history = lookup.history(page_key(page.url))
            previous = history[0] if history else None
            failed = page.error is not None
            comparison, answer, old = None, None, None
            result = by_page.get((chunk.uri, line))
            if previous is not None and not failed:
                old_chunk = ChunkRef(chunk.bucket, previous.chunk)
                old = lookup.page(old_chunk, previous.line)
                if old is not None:
                    comparison = compare(
                        reuser.capture(old),
                        reuser.capture(page),
                        reuser.rules_for(page),
                        seen_lines(history),
                    )
                if result is not None and result.analysis is not None:
                    key = analysis_key(old_chunk, previous.line, result.prompt_id, result.model)
                    stored = lookup.stored_json(key)
                    if stored is not None and stored.get("analysis") is not None:
                        answer = diff_answers(stored["analysis"], result.analysis, schema)
            record = change_record(
                page.url, bucket=chunk.bucket, failed=failed, previous=previous,
                comparison=comparison, answer=answer, renderers=_renderers(old, page),
            )  # fmt: skip
            shots = None
            if record["status"] == "changed" and old is not None and comparison is not None:
                shots = _shots(old, page, comparison, f"{chunk.stem}-{line}", out_dir)
            text = comparison.text if comparison is not None and record["text"] else None
            pages.append(PageChange(record, chunk.uri, line, text, shots))
        lookup.forget(chunk)
        return pages

    def removed(
        self, seen_urls: Sequence[str], bucket: str
    ) -> tuple[list[PageChange], str | None]:
        """The previous run's pages, on a site of this run, that this run lacks, and the run
        they were looked up in first (None: the first capture of this spider)."""
        previous_run = self.lookup.previous_run()
        compared_with = next(iter(previous_run.values())).run if previous_run else None
        removed = [
            PageChange(removed_record(c, bucket)) for c in removed_pages(seen_urls, previous_run)
        ]
        return removed, compared_with


def _renderers(old: PageRecord | None, page: PageRecord) -> tuple[str | None, str | None]:
    """What drew the previous and this screenshot (``Screenshot.renderer``)."""
    before = old.screenshot.renderer if old is not None and old.screenshot is not None else None
    return before, page.screenshot.renderer if page.screenshot is not None else None


def _shots(
    old: PageRecord, page: PageRecord, comparison: Comparison, name: str, out_dir: Path
) -> ChangeShots | None:
    after = image_of(page)
    if after is None:
        return None
    before_format = old.screenshot.format if old.screenshot is not None else "png"
    safe = _SAFE_NAME.sub("-", name)
    return write_change_shots(
        image_of(old), before_format, after, comparison.visual, safe, out_dir
    )


def write_changes_jsonl(changes: RunChanges, out_dir: Path) -> None:
    """``out_dir/changes.jsonl``, one line per page (SPEC.md)."""
    with (out_dir / "changes.jsonl").open("w", encoding="utf-8") as out:
        for record in changes.records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
