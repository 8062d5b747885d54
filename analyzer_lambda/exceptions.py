"""The analyser's error hierarchy. Adapters (store, analysers) translate ``ClientError`` and
HTTP errors into these, always ``raise ... from exc``, so callers never match message text.

Exit codes of the CLI follow from the class: ``ConfigurationError`` and ``UnsupportedEventError``
are bad usage (exit 2); ``ChunksIncompleteError`` means the job ran but work is left (exit 1)."""

from __future__ import annotations

from typing import Any


class AnalyzerLambdaError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(AnalyzerLambdaError, ValueError):
    """A setting is missing or wrong; the message names the environment variable to fix."""


class UnsupportedEventError(AnalyzerLambdaError, ValueError):
    """The event is none of the shapes the handler takes (``events.py``): S3 ``ObjectCreated``,
    SQS carrying S3 or EventBridge events, EventBridge ``Object Created``, ``reanalyze``."""


class StoreError(AnalyzerLambdaError):
    """S3 failed (network, permissions, missing object); the work can be retried. ``code`` is
    S3's error code (``NoSuchKey``, ``PreconditionFailed``...), empty when S3 never answered."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class PromptUnavailableError(AnalyzerLambdaError):
    """A prompt reference cannot be read or parsed. Without the prompt there is no prompt id,
    hence no result key: the chunk fails and is retried once the prompt is fixed."""


class CorruptChunkError(AnalyzerLambdaError):
    """The chunk's gzip stream cannot be read to its end; ``line`` is the first line lost."""

    def __init__(self, key: str, line: int, reason: str) -> None:
        super().__init__(f"corrupt chunk {key}: cannot read line {line} or after: {reason}")
        self.key = key
        self.line = line
        self.reason = reason


class ChunksIncompleteError(AnalyzerLambdaError):
    """Some chunk of a direct S3/EventBridge event was not finished (time ran out, a page is
    claimed by a concurrent invocation, S3 failed, the chunk is corrupt). Raised so that Lambda's
    asynchronous retry delivers the event again; finished pages are skipped then. ``summary`` is
    what the handler would have returned."""

    def __init__(self, summary: dict[str, Any]) -> None:
        unfinished = [c["chunk"] for c in summary.get("chunks", []) if not c.get("complete")]
        super().__init__(f"unfinished chunks (retry resumes them): {', '.join(unfinished)}")
        self.summary = summary


class RunNotCompleteError(AnalyzerLambdaError):
    """A shard marker arrived but its run is not complete yet (a shard's marker is missing, or a
    page has no result yet), and the wait is not over: raised so that the event comes back
    later (SQS: a batch item failure, visible again after the queue's visibility timeout;
    direct S3/EventBridge: Lambda's asynchronous retry). ``status`` says what is missing."""

    def __init__(self, status: dict[str, Any]) -> None:
        super().__init__(
            f"run {status.get('run')} not complete yet: missing shard marker(s) "
            f"{status.get('missing_markers')}, {status.get('pages_without_result')} page(s) "
            "without a result"
        )
        self.status = status


class RunReportUnfinishedError(AnalyzerLambdaError):
    """The run is complete and this invocation holds its claim, but its report is written part
    by part and the invocation's time is nearly up: what is done is stored (the report's
    ``_parts/``), the claim is released, and this is raised so that the event comes back soon
    (SQS: visible again after ``RUN_REPORT_REQUEUE_DELAY``; the state machine: its Retry) and
    the next invocation goes on from the parts. ``status`` says how far it got."""

    def __init__(self, status: dict[str, Any]) -> None:
        super().__init__(
            f"run {status.get('run')} report unfinished: {status.get('parts_done')} of "
            f"{status.get('parts')} part(s) written; the next invocation goes on"
        )
        self.status = status
