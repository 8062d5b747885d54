"""The Lambda entry point: ``analyzer_lambda.handler.lambda_handler`` (the image's CMD), also
what ``python -m analyzer_lambda`` calls.

Powertools does the Lambda plumbing instead of hand-written equivalents: event data classes
(``events.py``), ``BatchProcessor`` for SQS partial batch failures, the JSON ``Logger``
(to stderr, so the local CLI's stdout carries only the return value) and EMF ``Metrics``
(``deps.py`` reads the Gemini key with its parameters utility).

What each event returns:
- SQS: ``{"batchItemFailures": [...]}``; a message fails when one of its chunks is not complete
  (redelivered after the visibility timeout; after ``maxReceiveCount`` it lands in the DLQ);
- direct S3 and EventBridge (asynchronous invocations): a summary; an unfinished chunk raises
  ``ChunksIncompleteError`` instead, so Lambda's asynchronous retry delivers the event again;
- ``reanalyze`` (called synchronously, e.g. ``reanalyze --via lambda``): the summary, always;
  the caller reads ``complete`` and decides;
- ``collect_batches`` (the schedule of ``infra/template.yaml``): the jobs polled and the pages
  stored, released or failed.

A shard marker's event (``raw/{spider}/{run}/_done/*.json``) starts the run-complete step
(``analyzer_lambda/runs/``); its outcome is in the summary's ``runs``. A run not complete yet
raises ``RunNotCompleteError`` (SQS: a batch item failure, so the message is retried after the
queue's visibility timeout — the delay between two looks; direct S3/EventBridge: Lambda's
asynchronous retry), until ``RUN_COMPLETE_TIMEOUT`` after the first shard ended. A complete
run's report is written part by part within the invocation's time (``runs/report.py``); one
that must stop first raises ``RunReportUnfinishedError`` (SQS: the message is made visible again
after ``RUN_REPORT_REQUEUE_DELAY`` seconds, then a batch item failure; the state machine retries
it within seconds), and the next invocation goes on from the stored parts.

Each chunk analysis that wrote a result also leaves its measured duration and the function's
memory in a runtime record beside the results, for the cost ledger (``cost/runtime.py``).

This module is only the Lambda adapter: the clients, store and analyser come from the
composition root ``deps.py`` (built on the first invocation, rebuilt only if the configuration
changes)."""

from __future__ import annotations

import dataclasses
import logging
import platform
import shutil
import sys
import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from analyzer_lambda import events, heap
from analyzer_lambda.cost.runtime import ChunkRuntime, runtime_key
from analyzer_lambda.deps import current_deps, shared_s3_client, sqs_client
from analyzer_lambda.exceptions import (
    ChunksIncompleteError,
    RunNotCompleteError,
    RunReportUnfinishedError,
    StoreError,
)
from analyzer_lambda.work import ChunkOutcome, Deadline, PageOutcome, analyze_chunk
from rivalscope_core.records import utc_now_iso

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from analyzer_lambda.config import Config
    from analyzer_lambda.work import Deps
    from rivalscope_core.keys import ChunkRef, MarkerRef, S3Uri

logger = Logger(service="rivalscope-analyzer", stream=sys.stderr)
# The package's module loggers (logging.getLogger(__name__)) print through the same JSON handler.
logging.getLogger("analyzer_lambda")
copy_config_to_registered_loggers(source_logger=logger, include={"analyzer_lambda"})
metrics = Metrics(namespace="rivalscope", service="analyzer")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

heap.limit_heap()  # before any thread pool: see analyzer_lambda/heap.py

_WRITE_MARGIN = 2.0  # seconds kept after the deadline to write results and flush metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="Invocations", unit=MetricUnit.Count, value=1)
    kind = events.event_kind(event)
    deps = current_deps()
    _clean_work_dir(deps.config)
    deadline = Deadline.after(context.get_remaining_time_in_millis() / 1000 - _WRITE_MARGIN)
    if kind == "sqs":
        return _handle_sqs(event, context, deps, deadline)
    if kind == "collect_batches":
        return _collect_batches(deps, deadline)
    if kind == "reanalyze":
        request = events.reanalyze_request(event)
        if request.fresh:
            deps = dataclasses.replace(deps, reuse=None)
        outcomes = _analyze(request.chunks, deps, deadline, context, request.prompt, request.model)
        return _summary(outcomes)
    objects = (
        events.objects_from_s3_notification(event)
        if kind == "s3"
        else events.objects_from_eventbridge(event)
    )
    return _handle_objects(objects, deps, deadline, context)


def _collect_batches(deps: Deps, deadline: Deadline) -> dict[str, Any]:
    """Poll every open Gemini batch job of the bucket and store the answers of finished ones
    (``analyzer_lambda/batches/collect.py``): ``--via batch`` finishes without the laptop."""
    from analyzer_lambda.analyzers.gemini.analyzer import gemini_client
    from analyzer_lambda.batches.collect import Collector
    from analyzer_lambda.batches.jobs import BatchJobs
    from analyzer_lambda.batches.store import BatchStore
    from analyzer_lambda.exceptions import ConfigurationError

    bucket = deps.config.pages_bucket
    if not bucket:
        raise ConfigurationError("collect_batches needs PAGES_BUCKET")
    jobs = BatchJobs(gemini_client(deps.config))
    collector = Collector(BatchStore(deps.store), jobs, deadline)
    outcomes = collector.collect_open(bucket)
    for outcome in outcomes:
        logger.info(outcome.describe())
    stored = sum(o.stored for o in outcomes)
    metrics.add_metric(name="BatchPagesStored", unit=MetricUnit.Count, value=stored)
    return {
        "jobs": [
            {
                "job": o.job or o.job_id,
                "state": o.state,
                "pages": o.pages,
                "stored": o.stored,
                "failed": o.failed,
                "skipped": o.skipped,
                "released": o.released,
                "error": o.error,
            }
            for o in outcomes
        ],
        "stored": stored,
        "failed": sum(o.failed for o in outcomes),
        "released": sum(o.released for o in outcomes),
    }


def _handle_objects(
    objects: list[S3Uri], deps: Deps, deadline: Deadline, context: LambdaContext
) -> dict[str, Any]:
    """Chunks are analysed; markers start the run-complete step. Raises when something must
    come back later (an unfinished chunk first: its run cannot be complete either)."""
    summary = _summary(_analyze(events.chunks_of(objects), deps, deadline, context))
    if not summary["complete"]:
        raise ChunksIncompleteError(summary)
    markers = events.markers_of(objects)
    if markers:
        summary["runs"] = _complete_runs(markers, deps, deadline)
    return summary


def _complete_runs(
    markers: list[MarkerRef], deps: Deps, deadline: Deadline
) -> list[dict[str, Any]]:
    from analyzer_lambda.runs.complete import complete_run

    outcomes: list[dict[str, Any]] = []
    waiting: list[RunNotCompleteError | RunReportUnfinishedError] = []
    for marker in markers:
        try:
            outcome = complete_run(marker, deps, shared_s3_client(), deadline=deadline)
        except RunNotCompleteError as exc:
            logger.info("run not complete yet", extra=exc.status)
            metrics.add_metric(name="RunsWaiting", unit=MetricUnit.Count, value=1)
            waiting.append(exc)
            continue
        except RunReportUnfinishedError as exc:
            logger.info("run report unfinished: the next invocation goes on", extra=exc.status)
            metrics.add_metric(name="RunReportsPaused", unit=MetricUnit.Count, value=1)
            waiting.append(exc)
            continue
        logger.info("run-complete step", extra=outcome.to_dict())
        metric = {"done": "RunsCompleted", "gave_up": "RunsGaveUp"}.get(outcome.outcome)
        if metric:
            metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
        notified = outcome.status.get("notification", {}).get("outcome")
        metric = {"sent": "NotificationsSent", "failed": "NotificationsFailed"}.get(notified or "")
        if metric:  # NotificationsFailed has an alarm (infra/template.yaml)
            metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
        outcomes.append(outcome.to_dict())
    if waiting:
        raise waiting[0]
    return outcomes


def _handle_sqs(
    event: dict[str, Any], context: LambdaContext, deps: Deps, deadline: Deadline
) -> dict[str, Any]:
    def record_handler(record: SQSRecord) -> dict[str, Any]:
        objects = events.objects_from_sqs_body(record.body)
        if not objects:
            logger.info("message %s: nothing to analyse (test event?)", record.message_id)
        try:
            return _handle_objects(objects, deps, deadline, context)
        except RunReportUnfinishedError:
            _see_again_soon(record, deps.config.run_report_requeue_delay)
            raise

    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)


def _see_again_soon(record: SQSRecord, delay: int) -> None:
    """A paused run report's message is seen again after ``delay`` seconds, not after the
    queue's visibility timeout (which is the wait between two looks at an incomplete run).
    Best effort: if this fails, the timeout brings it back all the same."""
    try:
        sqs_client(record.aws_region).change_message_visibility(
            QueueUrl=record.queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=delay
        )
    except Exception as exc:  # noqa: BLE001 - the visibility timeout redelivers it anyway
        logger.warning("message %s: visibility not shortened: %s", record.message_id, exc)


def _analyze(
    chunks: tuple[ChunkRef, ...] | list[ChunkRef],
    deps: Deps,
    deadline: Deadline,
    context: LambdaContext,
    prompt: str | None = None,
    model: str | None = None,
) -> list[ChunkOutcome]:
    outcomes = []
    for chunk in chunks:
        written: list[str] = []

        def note(page: PageOutcome, written: list[str] = written) -> None:
            if page.status in ("done", "failed") and page.result_key:
                written.append(page.result_key)

        started, clock = utc_now_iso(), time.monotonic()
        outcome = analyze_chunk(
            chunk, deps, deadline, prompt_override=prompt, model_override=model, progress=note
        )
        _record_runtime(deps, chunk, outcome, written, started, time.monotonic() - clock, context)
        logger.info("chunk analysed", extra=outcome.to_dict())
        for name, value in (
            ("PagesAnalysed", outcome.done),
            ("PagesFailed", outcome.failed),
            ("PagesSkipped", outcome.skipped),
            ("PagesPending", outcome.pending),
            ("ChunksIncomplete", 0 if outcome.complete else 1),
        ):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        metrics.add_metric(
            name="InputTokens", unit=MetricUnit.Count, value=outcome.usage.input_tokens
        )
        metrics.add_metric(
            name="OutputTokens", unit=MetricUnit.Count, value=outcome.usage.output_tokens
        )
        outcomes.append(outcome)
    return outcomes


def _record_runtime(
    deps: Deps,
    chunk: ChunkRef,
    outcome: ChunkOutcome,
    written: list[str],
    started: str,
    seconds: float,
    context: LambdaContext,
) -> None:
    """The chunk's runtime record for the cost ledger (``cost/runtime.py``), named after the
    first result written; nothing when none was (a duplicate event). Never fails the chunk."""
    if not written:
        return
    memory = getattr(context, "memory_limit_in_mb", None)
    source = "lambda" if deps.config.in_lambda else "configured"
    record = ChunkRuntime(
        chunk=chunk.uri,
        invocation=str(getattr(context, "aws_request_id", "") or "unknown"),
        started_at=started,
        duration_seconds=round(seconds, 3),
        memory_mb=int(memory) if memory else None,
        memory_source=source if memory else "not measured",
        architecture=_architecture(deps),
        done=outcome.done,
        failed=outcome.failed,
        skipped=outcome.skipped,
        pending=outcome.pending,
    )
    key = runtime_key(min(written))
    try:
        deps.store.put_new(chunk.bucket, key, record.to_json(), content_type="application/json")
    except StoreError as exc:
        logger.warning("runtime record s3://%s/%s not written: %s", chunk.bucket, key, exc)


def _architecture(deps: Deps) -> str:
    """In Lambda, the machine says (``aarch64`` is AWS's ``arm64``); elsewhere the configured
    one (the template's), since this machine is not what would be billed."""
    if deps.config.in_lambda:
        return "arm64" if platform.machine().lower() in {"aarch64", "arm64"} else "x86_64"
    return deps.config.analyzer_architecture


def _summary(outcomes: list[ChunkOutcome]) -> dict[str, Any]:
    return {
        "chunks": [outcome.to_dict() for outcome in outcomes],
        **{
            name: sum(getattr(outcome, name) for outcome in outcomes)
            for name in ("done", "failed", "skipped", "pending")
        },
        "complete": all(outcome.complete for outcome in outcomes),
        "usage": {
            "input_tokens": sum(o.usage.input_tokens for o in outcomes),
            "output_tokens": sum(o.usage.output_tokens for o in outcomes),
        },
    }


def _clean_work_dir(config: Config) -> None:
    """A warm start may find what a crashed or timed-out earlier invocation left in /tmp (one
    invocation at a time runs in a sandbox, so all of it is stale)."""
    if config.work_dir.exists():
        shutil.rmtree(config.work_dir, ignore_errors=True)
