"""The run's report, written part by part so that no invocation needs more than its time and
one chunk's worth of ``/tmp`` (issue #13, SPEC.md "Runs").

The run-complete step holding the run's claim calls ``write_run_report``. Each chunk of the run
(in the sorted order of its markers' chunks) becomes one part (``runs.parts``): its pages read,
its screenshots written and uploaded beside the report, its pages compared with their previous
captures and the crops of the changed ones uploaded too, then the part's JSON stored under
``_parts/``. Parts already stored are skipped, so an invocation goes on where the last one
stopped, or was killed.

Before each part, and before the assembly, the invocation's time is checked: with less left than
``RUN_REPORT_RESERVE`` plus the longest part so far (the assembly: the reserve), it stops and
raises ``ReportPaused``. Every invocation does at least one step, so a run always gets on.

The assembly reads the parts back (page facts and diffs, no bodies nor images), reads the run's
results, and writes what ``python -m analyzer_lambda.report`` writes: ``results.*``,
``changes.jsonl`` (the parts' lines in order, then the pages this run lacks), the digest,
``cost.json`` and ``report.html``, whose images are the files the parts uploaded."""

from __future__ import annotations

import logging
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer_lambda import heap
from analyzer_lambda.changes.rules import ChangeRulesError
from analyzer_lambda.cost import write_cost
from analyzer_lambda.cost.prices import PriceTableError, load_price_table
from analyzer_lambda.exceptions import CorruptChunkError, StoreError
from analyzer_lambda.report.change_model import RunChanges
from analyzer_lambda.report.changes import ChangeLookup, write_changes_jsonl
from analyzer_lambda.report.compose import build_sections, compare_settings, write_digest
from analyzer_lambda.report.outputs import upload, upload_files, write_data_files
from analyzer_lambda.report.rows import ReportMeta, build_rows, counts
from analyzer_lambda.report.source import read_own_results, read_report_pages, s3_call
from analyzer_lambda.runs.parts import Part, part_index, part_key, parts_prefix
from rivalscope_core.exit_codes import UsageError
from rivalscope_core.keys import report_prefix
from rivalscope_core.records import utc_now_iso

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

    from analyzer_lambda.report.change_model import PageChange
    from analyzer_lambda.report.compose import CompareWith
    from analyzer_lambda.report.rows import ReportPage, ReportRow
    from analyzer_lambda.work import Deadline, Deps
    from rivalscope_core.keys import ChunkRef, RunRef
    from rivalscope_core.records import ResultRecord

logger = logging.getLogger(__name__)

REPORT_URL_EXPIRES = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live


class ReportPaused(Exception):  # a pause, not an error: complete.py raises the error
    """Time is nearly up: ``done`` of ``parts`` parts are stored; the next invocation goes on."""

    def __init__(self, done: int, parts: int, assembled: bool = False) -> None:
        super().__init__(f"{done} of {parts} part(s) written")
        self.done = done
        self.parts = parts
        self.assembled = assembled


@dataclass(frozen=True)
class RunReport:
    """What the report's writing needs: the run, its report label, its chunks in order, the
    answers' schema (one prompt's, else None) and the resolver of each page's own prompt."""

    s3: S3Client
    run: RunRef
    label: str
    chunks: Sequence[ChunkRef]
    deps: Deps
    schema: dict[str, Any] | None

    @property
    def prefix(self) -> str:
        return report_prefix(self.run, self.label)


def write_run_report(
    report: RunReport, deadline: Deadline | None
) -> tuple[str, dict[str, int], bool]:
    """Write what is left of the run's report; returns its presigned URL, the row counts and
    whether a digest was written. Raises ``ReportPaused`` when time runs short first."""
    stored = _stored_parts(report)
    todo = [i for i in range(len(report.chunks)) if i not in stored]
    reserve = report.deps.config.run_report_reserve
    settings = _settings(report)
    lookup: ChangeLookup | None = None
    longest, steps = 0.0, 0
    for index in todo:
        if steps and deadline is not None and deadline.remaining() < reserve + longest:
            raise ReportPaused(len(report.chunks) - len(todo) + steps, len(report.chunks))
        if lookup is None and settings is not None:
            lookup = _open_lookup(report, settings)
        started = time.monotonic()
        _write_part(report, index, settings, lookup)
        heap.release_freed()  # the part's images and bodies: the next part starts small
        longest = max(longest, time.monotonic() - started)
        steps += 1
        logger.info(
            "run %s: report part %d of %d written in %.1f s",
            report.run.uri, index + 1, len(report.chunks), time.monotonic() - started,
        )  # fmt: skip
    if steps and deadline is not None and deadline.remaining() < reserve:
        raise ReportPaused(len(report.chunks), len(report.chunks))
    if lookup is None and settings is not None and report.chunks:
        lookup = _open_lookup(report, settings)
    heap.release_freed()
    return _assemble(report, settings, lookup)


def delete_parts(report: RunReport) -> None:
    """Best effort, once ``run.json`` says done: the parts are not the report."""
    keys = _list(report.s3, report.run.bucket, parts_prefix(report.run, report.label))
    for start in range(0, len(keys), 1000):
        batch: list[ObjectIdentifierTypeDef] = [{"Key": k} for k in keys[start : start + 1000]]
        try:
            report.s3.delete_objects(Bucket=report.run.bucket, Delete={"Objects": batch})
        except Exception as exc:  # noqa: BLE001 - leftover parts cost storage, not the run
            logger.warning("run %s: report parts not deleted: %s", report.run.uri, exc)


def _settings(report: RunReport) -> CompareWith | None:
    try:
        return compare_settings(report.deps.config, report.s3, schema=report.schema)
    except ChangeRulesError as exc:  # the analyser has said so already, page by page
        logger.warning("%s: changes not compared: %s", report.run.uri, exc)
        return None


def _open_lookup(report: RunReport, settings: CompareWith) -> ChangeLookup:
    return ChangeLookup.open(
        report.s3, report.chunks[0], None, settings.rule_set, settings.text_tokens
    )


def _stored_parts(report: RunReport) -> set[int]:
    keys = _list(report.s3, report.run.bucket, parts_prefix(report.run, report.label))
    return {i for i in map(part_index, keys) if i is not None}


def _list(s3: S3Client, bucket: str, prefix: str) -> list[str]:
    pages = s3_call(
        f"list s3://{bucket}/{prefix}",
        list,
        s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix),
    )
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


@contextmanager
def _work_dir(report: RunReport) -> Iterator[Path]:
    """A fresh directory, gone after: in Lambda under ``ANALYZER_WORK_DIR`` (which each
    invocation also wipes at its start, so a killed one leaves nothing to a warm start); else in
    the system's temporary directory (a local run's concurrent invocations share no folder)."""
    config = report.deps.config
    parent = None
    if config.in_lambda:
        config.work_dir.mkdir(parents=True, exist_ok=True)
        parent = str(config.work_dir)
    with tempfile.TemporaryDirectory(prefix="rivalscope-run-report-", dir=parent) as work:
        yield Path(work)


def _prompt_id_of(report: RunReport) -> Any:
    def prompt_id_of(ref: str | None, bucket: str) -> str:
        return report.deps.prompts.resolve(ref, bucket).prompt_id

    return prompt_id_of


def _write_part(
    report: RunReport, index: int, settings: CompareWith | None, lookup: ChangeLookup | None
) -> None:
    """One chunk's part: its files uploaded beside the report first, its JSON last (a part
    that exists is complete)."""
    chunk = report.chunks[index]
    s3, run = report.s3, report.run
    with _work_dir(report) as out:
        pages = read_report_pages(s3, [chunk], out, prompt_id_of=_prompt_id_of(report))
        changes: tuple[PageChange, ...] | None = None
        if lookup is not None and settings is not None:
            results = read_own_results(s3, run, pages, only=chunk)
            by_page = {(r.chunk, r.line): r for r in results}
            try:
                changes = tuple(lookup.chunk_changes(chunk, by_page, out, settings.schema))
            except CorruptChunkError as exc:  # as report_changes: no What changed, a warning
                logger.warning("changes not compared (no changes.jsonl, no What changed): %s", exc)
            except (ValueError, KeyError, TypeError):  # a stored record of an unexpected shape
                logger.exception("changes not compared (no changes.jsonl, no What changed)")
            # An S3 error is not caught: the part is not written, and the event comes back.
        upload_files(s3, out, run.bucket, report.prefix)
    key = part_key(run, report.label, index)
    body = Part(chunk.uri, tuple(pages), changes).to_json()
    s3_call(
        f"write s3://{run.bucket}/{key}",
        s3.put_object,
        Bucket=run.bucket,
        Key=key,
        Body=body,
        ContentType="application/json",
    )


def _read_part(report: RunReport, index: int) -> Part:
    key = part_key(report.run, report.label, index)
    bucket = report.run.bucket
    body = s3_call(f"read s3://{bucket}/{key}", report.s3.get_object, Bucket=bucket, Key=key)
    part = Part.from_json(body["Body"].read())
    if part.chunk != report.chunks[index].uri:
        raise ValueError(f"s3://{bucket}/{key} is the part of {part.chunk}, not of this chunk")
    return part


def _assemble(
    report: RunReport, settings: CompareWith | None, lookup: ChangeLookup | None
) -> tuple[str, dict[str, int], bool]:
    s3, run, deps = report.s3, report.run, report.deps
    pages: list[ReportPage] = []
    compared: list[PageChange] | None = [] if settings is not None else None
    for index in range(len(report.chunks)):
        part = _read_part(report, index)
        pages += part.pages
        if compared is not None and part.changes is None:
            compared = None  # a chunk not compared: no What changed for the run
        elif compared is not None and part.changes is not None:
            compared += part.changes  # in place: a copy per part is quadratic in the parts
    changes: RunChanges | None = None
    if compared is not None:
        if lookup is None:  # no chunk: nothing to compare
            changes = RunChanges()
        else:
            removed, compared_with = lookup.removed([p.url for p in compared], run.bucket)
            changes = RunChanges(tuple(compared + removed), compared_with)
    with _work_dir(report) as out:
        results = read_own_results(s3, run, pages)
        rows = build_rows(pages, results)
        prompt_ids = ", ".join(sorted({str(p.prompt_id) for p in pages if p.prompt_id}))
        meta = ReportMeta(
            run=run.uri, prompt_id=prompt_ids or report.label, generated_at=utc_now_iso()
        )
        if changes is not None:
            write_changes_jsonl(changes, out)
        digest = write_digest(s3, run, rows, out, changes, deps.config)
        # after the digest: the ledger counts the digest's tokens from digest.json
        cost = cost_section(s3, run, results, list(report.chunks), rows, meta, deps, out)
        sections = replace(build_sections(rows, changes, report.schema, digest), cost=cost)
        write_data_files(rows, meta, out)  # report.html: rendered once, by upload
        url = upload(s3, out, rows, meta, run.bucket, report.prefix, REPORT_URL_EXPIRES, sections)
    return url, dict(counts(rows)), digest is not None


def cost_section(
    s3: S3Client,
    run: RunRef,
    results: list[ResultRecord],
    chunks: list[ChunkRef],
    rows: list[ReportRow],
    meta: ReportMeta,
    deps: Deps,
    out: Path,
) -> str:
    """``cost.json`` and the Cost section, as ``report`` writes them. A bad prices file or an S3
    refusal costs the ledger, logged, not the run's report and notification."""
    try:
        prices = load_price_table(deps.config.prices_file)
    except PriceTableError as exc:
        logger.error("run %s: no cost ledger: %s", run.uri, exc)
        return ""
    try:
        _, section = write_cost(
            s3, run, results, chunks, pages=len({(r.page.chunk, r.page.line) for r in rows}),
            prices=prices, config=deps.config, out_dir=out, prompt_id=meta.prompt_id,
            generated_at=meta.generated_at,
        )  # fmt: skip
    except (UsageError, StoreError) as exc:  # S3 refused a listing or a read of the ledger's
        logger.error("run %s: no cost ledger: %s", run.uri, exc)
        return ""
    return section
