"""The run-complete step: what a shard marker's event starts (SPEC.md "Runs", "Events").

Each marker event re-reads the run's state from S3 (markers are few and small; results are
listed, not read), so events may arrive in any order, any number of times. A page's result is
looked for under its own prompt: the run's, or its watch-list competitor's (the markers'
``page_prompts``); a run whose pages have several prompts is reported under
``reports/{spider}/{run}/own-prompts/``, else under its one prompt id.

- not complete (a marker missing, a page without a result) and still within
  ``RUN_COMPLETE_TIMEOUT`` of the first shard's end: ``RunNotCompleteError``, so that the event
  comes back later — a delay, never a busy loop;
- not complete after the timeout: ``run.json`` says ``incomplete`` and names the missing
  markers, and the event is dropped (a marker arriving later still completes the run);
- complete: one invocation claims ``run.claim`` with a conditional write (the page claims'
  protocol, ``Store.claim``: ``IfNoneMatch``, taken over after ``CLAIM_TTL`` if its holder
  died), checks again that ``run.json`` is not ``done``, writes the report under ``reports/``,
  calls ``on_run_complete`` (the run's notification, ``analyzer_lambda.notify``) and writes
  ``run.json`` ``done``. Every other invocation finds the
  claim held or ``run.json`` done, and does nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from analyzer_lambda.exceptions import RunNotCompleteError, RunReportUnfinishedError, StoreError
from analyzer_lambda.runs.progress import RunProgress, measure_progress
from analyzer_lambda.runs.report import (
    REPORT_URL_EXPIRES,
    ReportPaused,
    RunReport,
    delete_parts,
    write_run_report,
)
from rivalscope_core.keys import (
    MARKERS_DIR,
    OWN_PROMPTS,
    ChunkRef,
    analysis_prefix,
    parse_marker_key,
    report_prefix,
    run_analysis_prefix,
    run_claim_key,
    run_status_key,
)
from rivalscope_core.markers import ShardMarker
from rivalscope_core.records import utc_now_iso

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mypy_boto3_s3 import S3Client

    from analyzer_lambda.work import Deadline, Deps
    from rivalscope_core.keys import MarkerRef, RunRef

__all__ = ["REPORT_URL_EXPIRES", "RunOutcome", "complete_run", "on_run_complete"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOutcome:
    """``done`` (this invocation did the run's work), ``already_done``, ``claimed`` (another
    invocation is doing it), ``gave_up`` (timed out incomplete) or ``ignored``."""

    run: str
    outcome: str
    status: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "outcome": self.outcome, **self.status}


def on_run_complete(
    deps: Deps, run: RunRef, label: str, status: dict[str, Any], report_url: str
) -> dict[str, Any]:
    """Called once per run by the invocation that holds the run's claim, after the report is
    stored and before ``run.json`` says ``done``: sends the run's notification
    (``analyzer_lambda.notify``, itself once per run) when ``NOTIFY_URLS`` or a secret holding
    them is set. Never raises: a failed send is in the returned summary (``run.json``, the
    handler's ``NotificationsFailed`` metric and its alarm), and the run's data is written
    regardless."""
    from analyzer_lambda.deps import resolve_notify_urls
    from analyzer_lambda.notify.once import notify_run

    config = deps.config
    if not config.notifies:
        return {"outcome": "no_urls"}
    try:
        urls = resolve_notify_urls(config)
        outcome = notify_run(deps.store, run.bucket, report_prefix(run, label), run.time,
                             config, urls, link=report_url)  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - nothing may keep the run's data from being written
        logger.error("run %s: notification not sent: %s", status["run"], exc)
        return {"outcome": "failed", "reason": str(exc)}
    return outcome.to_dict()


def complete_run(
    marker: MarkerRef,
    deps: Deps,
    s3: S3Client,
    now: datetime | None = None,
    deadline: Deadline | None = None,
) -> RunOutcome:
    """The step for one marker event. ``deadline``: when the invocation's time is up (None:
    unbounded); the report stops short of it by ``RUN_REPORT_RESERVE``, raising
    ``RunReportUnfinishedError``, and the next delivery of the event goes on from its parts."""
    run = marker.run
    markers = [m for m in _read_markers(s3, run) if m.shard_count == marker.count]
    if not markers:
        logger.warning("%s: no shard marker of %d; ignored", run.uri, marker.count)
        return RunOutcome(run.uri, "ignored")
    # Each page's result counts under its own prompt: the run's (the markers' ``prompt``), or
    # its watch-list competitor's (``page_prompts``), resolved as the analyser resolves them.
    prompts = _resolve_prompts(deps, run, markers)
    ids = sorted({prompt_id for prompt_id, _ in prompts.values()})
    label = ids[0] if len(ids) == 1 else OWN_PROMPTS
    status_key = run_status_key(run, label)
    if _is_done(deps, s3, run, status_key):
        return RunOutcome(run.uri, "already_done")

    listed = deps.store.existing_keys(run.bucket, run_analysis_prefix(run))
    prefixes = {ref: analysis_prefix(run, pid, model) for ref, (pid, model) in prompts.items()}
    progress = measure_progress(run, marker.count, markers, listed, prefixes)
    # the event's own marker, or (the state machine names 1ofN, whose task may have died)
    # another of the run's: they all carry the run's prompt
    reference = ([m for m in markers if m.shard_index == marker.index - 1] or markers)[0]
    status = {
        **progress.to_dict(),
        "run_id": run.time,
        "spider": run.spider,
        "prompt_id": label,
        "model": prompts[reference.prompt][1],
        "prompts": dict(sorted(prompts.values())),  # prompt id → model
    }
    if not progress.complete:
        return _not_complete(deps, s3, progress, status, status_key, now or datetime.now(UTC))

    claim = deps.store.claim(run.bucket, run_claim_key(run, label), deps.config.claim_ttl)
    if claim is None:
        return RunOutcome(run.uri, "claimed", status)
    try:
        if _is_done(deps, s3, run, status_key):  # its holder finished while we looked
            return RunOutcome(run.uri, "already_done")
        chunks = [ChunkRef(run.bucket, key) for m in progress.markers.values() for key in m.chunks]
        report = RunReport(
            s3, run, label, sorted(chunks, key=str), deps, _schema(deps, run, prompts)
        )
        try:
            report_url, tally, digested = write_run_report(report, deadline)
        except ReportPaused as paused:  # the claim is released below: the next one goes on
            status |= {"status": "reporting", "parts": paused.parts, "parts_done": paused.done}
            logger.info("run %s: report paused, %d of %d part(s) written", run.uri,
                        paused.done, paused.parts)  # fmt: skip
            raise RunReportUnfinishedError(status) from None
        reports = f"s3://{run.bucket}/{report_prefix(run, label)}"
        status |= {
            "status": "done",
            "report": f"{reports}report.html",
            "digest": f"{reports}digest.md" if digested else None,
            "counts": tally,
            "completed_at": utc_now_iso(),
        }
        status["notification"] = on_run_complete(deps, run, label, status, report_url)
        run_complete_hooks(status, report_url, deps.run_complete_hooks)
        _put_status(s3, run, status_key, status)
        delete_parts(report)
    finally:
        deps.store.release(claim)
    logger.info("run %s complete: report and run.json written", run.uri)
    return RunOutcome(run.uri, "done", status)


def _not_complete(
    deps: Deps,
    s3: S3Client,
    progress: RunProgress,
    status: dict[str, Any],
    status_key: str,
    now: datetime,
) -> RunOutcome:
    first = progress.first_marker_at
    waited = (now - first).total_seconds() if first is not None else 0.0
    status["waited_seconds"] = round(waited, 1)
    if waited < deps.config.run_complete_timeout:
        raise RunNotCompleteError(status)
    status |= {"status": "incomplete", "checked_at": utc_now_iso()}
    logger.error(
        "run %s still incomplete %.0f s after its first shard ended: gave up; missing shard "
        "marker(s) %s, %d page(s) without a result",
        progress.run.uri,
        waited,
        ", ".join(progress.missing_markers) or "none",
        status["pages_without_result"],
    )
    _put_status(s3, progress.run, status_key, status)
    return RunOutcome(progress.run.uri, "gave_up", status)


def _read_markers(s3: S3Client, run: RunRef) -> list[ShardMarker]:
    prefix = f"{run.raw_prefix}{MARKERS_DIR}"
    markers = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=run.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if parse_marker_key(run.bucket, obj["Key"]) is None:
                    continue
                body = s3.get_object(Bucket=run.bucket, Key=obj["Key"])["Body"].read()
                try:
                    markers.append(ShardMarker.from_json(body))
                except ValueError as exc:
                    logger.error("s3://%s/%s: %s; ignored", run.bucket, obj["Key"], exc)
    except Exception as exc:
        raise StoreError(f"cannot read the markers of {run.uri}: {exc}") from exc
    return markers


def _is_done(deps: Deps, s3: S3Client, run: RunRef, status_key: str) -> bool:
    if not deps.store.exists(run.bucket, status_key):
        return False
    try:
        return bool(
            json.loads(deps.store.read_text(run.bucket, status_key)).get("status") == "done"
        )
    except ValueError:
        return False


def _put_status(s3: S3Client, run: RunRef, key: str, status: dict[str, Any]) -> None:
    try:
        s3.put_object(
            Bucket=run.bucket,
            Key=key,
            Body=json.dumps(status, indent=1, sort_keys=True).encode("utf-8"),
            ContentType="application/json",
        )
    except Exception as exc:
        raise StoreError(f"cannot write s3://{run.bucket}/{key}: {exc}") from exc


def _schema(
    deps: Deps, run: RunRef, prompts: dict[str | None, tuple[str, str]]
) -> dict[str, Any] | None:
    """One prompt: its schema says what an answer field is; several: each answer's own fields."""
    schemas = {}
    for ref in prompts:
        prompt = deps.prompts.resolve(ref, run.bucket)
        schemas[prompt.prompt_id] = prompt.schema
    return next(iter(schemas.values())) if len(schemas) == 1 else None


def _resolve_prompts(
    deps: Deps, run: RunRef, markers: list[ShardMarker]
) -> dict[str | None, tuple[str, str]]:
    """Every prompt reference of the run's pages → (prompt id, model)."""
    refs = {m.prompt for m in markers} | {ref for m in markers for ref in m.page_prompts}
    resolved = {}
    for ref in refs:
        prompt = deps.prompts.resolve(ref, run.bucket)
        resolved[ref] = (prompt.prompt_id, deps.analyzer.model_for(prompt))
    return resolved


def run_complete_hooks(
    status: dict[str, Any], report_url: str, hooks: Sequence[Callable[[dict[str, Any], str], None]]
) -> None:
    """The hooks of a complete run (``Deps.run_complete_hooks``: the Slack answer, and any
    later one), called with the run's status and its report's presigned URL once the report is
    stored and before ``run.json`` says ``done``. Each runs in turn; one that fails is logged
    and keeps neither the others nor ``done`` from happening: each guards its own at-most-once
    effect (the Slack answer claims its post)."""
    for hook in hooks:
        try:
            hook(status, report_url)
        except Exception:
            logger.exception("run-complete hook %r failed", hook)
