"""Collect batch jobs: poll each open job and, once it succeeded, store every answer under its
page's normal result key — in the interactive path's format, with the usage of the response,
validated against the prompt's schema (an answer that fails becomes an ``invalid_output``
error result, as interactively).

Idempotent and resumable: results are written with ``IfNoneMatch`` and pages that have one are
skipped, so collecting twice (the CLI and the scheduled collector at once, or a rerun after a
crash) stores nothing new; the manifest is marked collected only after every page is handled. A
job that failed, expired or was cancelled is reported and its pages' claims are released, so the
next submission includes them; so is a page the job answered with a transient error (429, 5xx)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from analyzer_lambda.analyzers.gemini.call import AnswerValidator, text_of, usage_of
from analyzer_lambda.batches.jobs import BatchApiError
from analyzer_lambda.batches.manifest import CREATING, NOT_CREATED
from analyzer_lambda.prompts.parser import Prompt
from rivalscope_core.keys import BATCHES_DIR
from rivalscope_core.records import ErrorInfo, Usage

if TYPE_CHECKING:
    from collections.abc import Iterable

    from analyzer_lambda.analyzers.base import Deadline
    from analyzer_lambda.batches.jobs import Answer, BatchJobs
    from analyzer_lambda.batches.manifest import Manifest, PageEntry
    from analyzer_lambda.batches.store import BatchStore
    from rivalscope_core.keys import RunRef

logger = logging.getLogger(__name__)

#: a manifest still ``creating`` after this long belongs to a submitter that died around the
#: create call: the job it may have created is found by its display name (the manifest's job
#: id), else its pages are released
ABANDONED_AFTER = 3600.0
TIME_MARGIN = 10.0  # seconds kept to save the manifest before the Lambda's time is up


@dataclass
class Collected:
    job_id: str
    job: str | None
    state: str
    pages: int
    stored: int = 0  # results written now with an analysis
    failed: int = 0  # error results written now
    skipped: int = 0  # pages that had a result
    released: int = 0  # pages left for a new submission
    usage: Usage = field(default_factory=Usage)
    error: str | None = None

    def describe(self) -> str:
        name = self.job or self.job_id
        text = f"batch {name}: {self.state.removeprefix('JOB_STATE_').lower()}, {self.pages} pages"
        if self.stored or self.failed or self.skipped:
            text += (f"; stored {self.stored}, {self.failed} error results, "
                     f"{self.skipped} already had one")  # fmt: skip
        if self.usage.input_tokens or self.usage.output_tokens:
            text += (f"; tokens {self.usage.input_tokens:,} in, {self.usage.output_tokens:,} "
                     "out (billed at batch prices)")  # fmt: skip
        if self.released:
            text += f"; {self.released} released for a new submission"
        if self.error:
            text += f" ({self.error})"
        return text


class Collector:
    """``deadline`` (the Lambda's remaining time): no job is started, and no page stored,
    with less than ``TIME_MARGIN`` seconds left; the job stays open and the next poll goes on
    where this one stopped (stored pages are skipped)."""

    def __init__(self, store: BatchStore, jobs: BatchJobs, deadline: Deadline | None = None):
        self.store = store
        self.jobs = jobs
        self.deadline = deadline
        self._answers = AnswerValidator()

    def _out_of_time(self) -> bool:
        return self.deadline is not None and self.deadline.remaining() < TIME_MARGIN

    def collect_run(self, run: RunRef, prompt_id: str, model: str) -> list[Collected]:
        """Every open job of a run for (prompt id, model): what the CLI polls."""
        return [self.collect(run.bucket, key, manifest)
                for key, manifest in self.store.manifests(run, prompt_id, model)
                if manifest.open]  # fmt: skip

    def collect_open(self, bucket: str) -> list[Collected]:
        """Every job in the bucket's open index: what the scheduled collector polls."""
        outcomes = []
        for key in self.store.open_manifest_keys(bucket):
            manifest = self.store.load(bucket, key)
            if manifest is None:
                continue
            if not manifest.open:
                self.store.mark_closed(bucket, manifest.job_id)
                continue
            if self._out_of_time():
                logger.warning("time is short: %s and later jobs wait for the next poll", key)
                break
            outcomes.append(self.collect(bucket, key, manifest))
        return outcomes

    def collect(self, bucket: str, key: str, manifest: Manifest) -> Collected:
        outcome = Collected(manifest.job_id, manifest.job, manifest.state, len(manifest.pages))
        if manifest.job is None:
            if manifest.state != CREATING or _age(manifest.created_at) < ABANDONED_AFTER:
                return outcome
            try:  # its submitter died: did it create the job before it did?
                found = self.jobs.find(manifest.job_id)
            except BatchApiError as exc:
                outcome.error = str(exc)
                return outcome
            if found is None:
                self._release(bucket, key, manifest, outcome, NOT_CREATED, "submitter died")
                return outcome
            manifest.touch(job=found.name, state=found.state)
            self.store.store.put_json(bucket, key, manifest.to_dict())
            outcome.job = found.name
        try:
            status, job = self.jobs.get(outcome.job or manifest.job or "")
        except BatchApiError as exc:
            outcome.error = str(exc)
            return outcome
        outcome.state = status.state
        if status.failed:
            self._release(bucket, key, manifest, outcome, status.state, status.error)
        elif status.succeeded:
            if not self._store_answers(bucket, key, manifest, self.jobs.answers(job), outcome):
                outcome.error = "time ran out: the next poll stores the rest"
                return outcome
            self.store.release_pages(bucket, manifest.pages)
            manifest.touch(state=status.state, collected=True)
            self.store.store.put_json(bucket, key, manifest.to_dict())
            self.store.mark_closed(bucket, manifest.job_id)
        elif status.state != manifest.state:
            manifest.touch(state=status.state)
            self.store.store.put_json(bucket, key, manifest.to_dict())
        return outcome

    def _release(
        self, bucket: str, key: str, manifest: Manifest, outcome: Collected, state: str,
        error: str | None,
    ) -> None:  # fmt: skip
        logger.warning("batch %s %s: its %d pages can be submitted again", manifest.job or
                       manifest.job_id, state, len(manifest.pages))  # fmt: skip
        self.store.release_pages(bucket, manifest.pages)
        manifest.touch(state=state, collected=True, error=error)
        self.store.store.put_json(bucket, key, manifest.to_dict())
        self.store.mark_closed(bucket, manifest.job_id)
        outcome.state, outcome.error, outcome.released = state, error, len(manifest.pages)

    def _store_answers(
        self, bucket: str, key: str, manifest: Manifest, answers: Iterable[Answer],
        outcome: Collected,
    ) -> bool:  # fmt: skip
        """False when time ran out before every page was handled."""
        prompt = Prompt(manifest.prompt_name, "", manifest.prompt_id, schema=manifest.schema)
        by_key = {answer.key: answer for answer in answers}
        # one listing of the results beside the manifest, not a request per page
        done = self.store.store.existing_keys(bucket, key.split(BATCHES_DIR, 1)[0])
        for page in manifest.pages:
            if page.key in done:
                outcome.skipped += 1
                continue
            if self._out_of_time():
                return False
            answer = by_key.get(page.key)
            fields = self._fields(page, answer, prompt)
            if fields is None:
                outcome.released += 1
                continue
            result = page.result(manifest.prompt_id, manifest.model, **fields)
            if not self.store.store.put_result(bucket, page.key, result):
                outcome.skipped += 1
                continue
            if result.error is not None:
                outcome.failed += 1
            else:
                outcome.stored += 1
            outcome.usage = Usage(  # an answer that failed the schema was paid for too
                outcome.usage.input_tokens + result.usage.input_tokens,
                outcome.usage.output_tokens + result.usage.output_tokens,
            )
        return True

    def _fields(
        self, page: PageEntry, answer: Answer | None, prompt: Prompt
    ) -> dict[str, object] | None:
        """The result fields for an answer; None: no verdict, submit the page again."""
        if answer is None:
            logger.warning("%s line %d: the job returned no answer for it", page.chunk, page.line)
            return None
        if answer.response is None:
            code = answer.error_code
            if code in (0, 408, 429) or code >= 500:
                return None
            error = ErrorInfo("gemini_request_rejected", f"HTTP {code}: {answer.error_message}")
            return {"analysis": None, "error": error}
        usage = usage_of(answer.response)
        parsed, problem = self._answers.validate(text_of(answer.response), prompt)
        if parsed is None:
            return {
                "analysis": None,
                "usage": usage,
                "error": ErrorInfo("invalid_output", problem),
            }
        return {"analysis": parsed, "usage": usage}


def _age(iso: str) -> float:
    try:
        then = datetime.fromisoformat(iso)
    except ValueError:
        return 0.0
    return (datetime.now(UTC) - then).total_seconds()
