"""``changes.jsonl`` of a report (SPEC.md, Changes): every page of the run against its previous
capture — text, screenshot and answer diffs — plus the pages of the previous run, on a site of
this run, that this run lacks (``removed``). The first run of a spider has only ``new`` pages.

The lookups are ``changes.reuser``'s (manifests, one earlier run read per page set, previous
chunks read once); the diffs are the pure ``changes`` modules'. ``against`` (the command's
``--against RUN_URI``) compares with that run only.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from analyzer_lambda.changes.answer_diff import diff_answers
from analyzer_lambda.changes.history import page_key, removed_pages, seen_lines
from analyzer_lambda.changes.record import change_record, removed_record
from analyzer_lambda.changes.reuse import compare
from analyzer_lambda.changes.reuser import Reuser
from analyzer_lambda.changes.rules import RuleSet
from rivalscope_core.keys import ChunkRef, analysis_key

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from rivalscope_core.keys import RunRef
    from rivalscope_core.records import ResultRecord


def write_changes(
    s3: S3Client,
    chunks: Sequence[ChunkRef],
    results: Sequence[ResultRecord],
    out_dir: Path,
    *,
    against: RunRef | None = None,
    schema: dict[str, Any] | None = None,
    rule_set: RuleSet | None = None,
    text_tokens: int = 8000,
) -> Counter[str]:
    """Write ``out_dir/changes.jsonl``; returns the count of each status."""
    from analyzer_lambda.analyzers.gemini.text import reduce_html

    reuser = Reuser(s3, rule_set or RuleSet(), lambda p: reduce_html(p.body, text_tokens).text)
    by_page = {(r.chunk, r.line): r for r in results}
    lines: list[dict[str, Any]] = []
    seen_urls: list[str] = []
    if not chunks:
        (out_dir / "changes.jsonl").write_text("", encoding="utf-8")
        return Counter()
    # one lookup for the whole run: earlier runs' manifests and chunks are read once
    lookup = reuser.for_chunk(chunks[0], [against.time] if against is not None else None)
    for chunk in chunks:
        current = lookup.page_records(chunk)
        for line, page in sorted(current.items()):
            seen_urls.append(page.url)
            history = lookup.history(page_key(page.url))
            previous = history[0] if history else None
            failed = page.error is not None
            comparison, answer = None, None
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
            lines.append(
                change_record(
                    page.url, bucket=chunk.bucket, failed=failed, previous=previous,
                    comparison=comparison, answer=answer,
                )
            )  # fmt: skip
    previous_run = dict(lookup.previous_run())
    bucket = chunks[0].bucket
    lines += [removed_record(c, bucket) for c in removed_pages(seen_urls, previous_run)]
    with (out_dir / "changes.jsonl").open("w", encoding="utf-8") as out:
        for record in lines:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return Counter(record["status"] for record in lines)
