"""Submit a run's pages that lack a result for (prompt id, model) as Gemini batch jobs.

Never paying twice: one submitter at a time per (run, prompt id, model) holds
``keys.batch_submit_key`` (a claim, as ``Store.claim`` makes them); inside it, pages already in
an open job's manifest are left out, and every submitted page is claimed under its normal claim
key with a note of its job and a TTL that outlives the job (Google expires a batch after 48 h),
so neither a second submitter nor an interactive invocation asks about it again. A page that
needs no model call is finished here as interactively: a render failure or broken line becomes
its error result, an unchanged page reuses its previous answer (unless ``--fresh``).

The manifest is written before the job is created and updated after; then an entry in the open
index (``keys.open_batch_key``) lets the scheduled collector find the job."""

from __future__ import annotations

import json
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from analyzer_lambda.analyzers.gemini.call import prepare
from analyzer_lambda.analyzers.gemini.text import estimate_tokens
from analyzer_lambda.batches.jobs import BatchApiError
from analyzer_lambda.batches.limits import CONCURRENT_JOBS, inline_room, split_jobs
from analyzer_lambda.batches.manifest import NOT_CREATED, Manifest, PageEntry
from analyzer_lambda.batches.requests import RequestBuilder
from analyzer_lambda.chunks import BadLine, read_pages
from analyzer_lambda.exceptions import StoreError
from analyzer_lambda.reanalyze.plan import chunks_of
from analyzer_lambda.reanalyze.pricing import (
    OUTPUT_TOKENS_PER_PAGE,
    REQUEST_OVERHEAD_TOKENS,
    image_tokens,
)
from rivalscope_core.exit_codes import UsageError
from rivalscope_core.keys import ChunkRef, analysis_key, analysis_prefix
from rivalscope_core.records import ErrorInfo, PageRecord

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeAlias

    from google import genai

    from analyzer_lambda.analyzers.gemini.request import GeminiRequest
    from analyzer_lambda.batches.jobs import BatchJobs
    from analyzer_lambda.batches.limits import Limits
    from analyzer_lambda.batches.store import BatchStore
    from analyzer_lambda.changes.reuser import ChunkReuse, Reuser
    from analyzer_lambda.config import Config
    from analyzer_lambda.prompts.parser import Prompt
    from analyzer_lambda.store import Claim
    from rivalscope_core.keys import RunRef

    #: what became of one page: held by another invocation, finished without the model, left
    #: for the next run (None), or claimed and ready to send
    _Handled: TypeAlias = Literal["held", "finished"] | tuple[PageEntry, GeminiRequest] | None

logger = logging.getLogger(__name__)

#: a submitted page's claim outlives its job: Google expires a batch pending or running 48 h
BATCH_CLAIM_TTL = 50 * 3600.0


class SubmissionBusyError(Exception):
    """Another submitter holds this run's submission for the prompt and model."""


@dataclass
class Submission:
    jobs: list[Manifest] = field(default_factory=list)
    in_open_jobs: int = 0  # pages already in a job not yet collected
    held: int = 0  # pages another invocation is analysing right now
    finished_here: int = 0  # error results and reused answers written without a model call
    input_tokens: int = 0
    output_tokens: int = 0
    failed: list[str] = field(default_factory=list)  # jobs that could not be created

    @property
    def pages(self) -> int:
        return sum(len(job.pages) for job in self.jobs if job.job)


@dataclass(frozen=True)
class Submitter:
    store: BatchStore
    jobs: BatchJobs
    client: genai.Client
    config: Config
    prompt: Prompt
    model: str
    limits: Limits
    reuser: Reuser | None = None
    #: called after each chunk with (chunks done, chunks in all, requests built so far)
    progress: Callable[[int, int, int], None] | None = None

    def submit(self, target: RunRef | ChunkRef) -> Submission:
        """Raises ``SubmissionBusyError`` when another submitter is at it."""
        run = target.run if isinstance(target, ChunkRef) else target
        lock = self.store.lock_submission(run, self.prompt.prompt_id, self.model,
                                          self.config.claim_ttl)  # fmt: skip
        if lock is None:
            raise SubmissionBusyError(
                "another submission of these pages is under way; run the command again later "
                "to collect"
            )
        try:
            return self._submit(run, target)
        finally:
            self.store.store.release(lock)

    def _submit(self, run: RunRef, target: RunRef | ChunkRef) -> Submission:
        outcome = Submission()
        submission = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        in_jobs = self.store.keys_in_open_jobs(run, self.prompt.prompt_id, self.model)
        builder = RequestBuilder(self.client, self.config, self.model, inline_room(self.limits))
        entries: list[PageEntry] = []
        tokens: list[tuple[int, int]] = []
        try:
            chunks = chunks_of(self.store.store, target)
            for number, chunk in enumerate(chunks, 1):
                for entry, request in self._chunk(chunk, in_jobs, submission, outcome):
                    builder.add(entry.key, request, self.prompt)
                    entries.append(entry)
                    estimate = self._estimate(request)
                    outcome.input_tokens += estimate[0]
                    outcome.output_tokens += estimate[1]
                    tokens.append(estimate)
                if self.progress is not None:
                    self.progress(number, len(chunks), len(entries))
            self._create_jobs(run, submission, builder, entries, tokens, outcome)
        except BaseException:
            # claims last 50 h: a submission that stops half-way must not strand its pages
            sent = {page.key for job in outcome.jobs if job.job for page in job.pages}
            self.store.release_pages(run.bucket, [e for e in entries if e.key not in sent])
            raise
        finally:
            builder.file.close()
        return outcome

    def _chunk(
        self, chunk: ChunkRef, in_jobs: set[str], submission: str, outcome: Submission
    ) -> list[tuple[PageEntry, GeminiRequest]]:
        """This chunk's pages to send, claimed; the others finished or counted."""
        store, prompt_id = self.store.store, self.prompt.prompt_id
        prefix = f"{analysis_prefix(chunk.run, prompt_id, self.model)}{chunk.stem}/"
        done = store.existing_keys(chunk.bucket, prefix)
        reuse = self.reuser.for_chunk(chunk) if self.reuser is not None else None
        todo: list[tuple[int, PageRecord | BadLine, str]] = []
        with store.open_chunk(chunk, self.config.work_dir) as stream:
            for line, record in read_pages(stream, key=chunk.key):
                if isinstance(record, PageRecord) and reuse is not None:
                    reuse.note(line, record)
                key = analysis_key(chunk, line, prompt_id, self.model)
                if key in done:
                    continue
                if key in in_jobs:
                    outcome.in_open_jobs += 1
                    continue
                todo.append((line, record, key))
        note = {"batch_submission": submission}

        def one(item: tuple[int, PageRecord | BadLine, str]) -> _Handled:
            line, record, key = item
            return self._page(chunk, line, record, key, reuse, note)

        with ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="batch") as pool:
            handled = list(pool.map(one, todo))
        send: list[tuple[PageEntry, GeminiRequest]] = []
        for result in handled:
            if result == "held":
                outcome.held += 1
            elif result == "finished":
                outcome.finished_here += 1
            elif result is not None:
                send.append(result)
        return send

    def _page(
        self, chunk: ChunkRef, line: int, record: PageRecord | BadLine, key: str,
        reuse: ChunkReuse | None, note: dict[str, Any],
    ) -> _Handled:  # fmt: skip
        """``"held"``, ``"finished"``, None (left for later: S3 trouble) or what to send."""
        page = record if isinstance(record, PageRecord) else None
        entry = PageEntry(key, chunk.uri, line, page.url if page else "",
                          page.final_url if page else None, page.crawled_at if page else "",
                          page.competitor if page else None, "")  # fmt: skip
        if page is None or page.error is not None:
            error = (
                page.error
                if page
                else ErrorInfo("corrupt_record", f"{chunk.uri}: {getattr(record, 'message', '')}")
            )
            return self._finish(chunk, entry, analysis=None, error=error)
        reused = reuse.reused_fields(line, page, self.prompt, self.model) if reuse else None
        if reused is not None:
            return self._finish(chunk, entry, analysis=reused["analysis"],
                                reused_from=reused["reused_from"])  # fmt: skip
        claim = self.store.claim_page(chunk.bucket, key, BATCH_CLAIM_TTL, note)
        if claim is None:
            return "held"
        try:
            if self.store.store.exists(chunk.bucket, key):  # finished while we looked
                self.store.store.release(claim)
                return "finished"
            request = prepare(page, self.prompt, self.config)
        except Exception:  # S3 trouble or a bug: the page waits for the next run, unclaimed
            logger.exception("%s line %d: left for the next submission", chunk.uri, line)
            self.store.store.release(claim)
            return None
        if isinstance(request, ErrorInfo):
            self.store.store.release(claim)
            return self._finish(chunk, entry, analysis=None, error=request)
        return _with_claim(entry, claim), request

    def _estimate(self, request: GeminiRequest) -> tuple[int, int]:
        """The tokens of a request, as ``pricing.estimate_page_tokens`` counts them but from
        the text and image already prepared (no second reduction of the page)."""
        tokens = REQUEST_OVERHEAD_TOKENS + estimate_tokens(self.prompt.text)
        tokens += estimate_tokens(json.dumps(self.prompt.schema))
        tokens += estimate_tokens(request.page_text)
        if request.image is not None:
            tokens += image_tokens(request.image.width, request.image.height,
                                   self.config.screenshot_max_side)  # fmt: skip
        return tokens, min(OUTPUT_TOKENS_PER_PAGE, self.config.gemini_max_output_tokens)

    def _finish(
        self, chunk: ChunkRef, entry: PageEntry, **fields: Any
    ) -> Literal["finished"] | None:
        result = entry.result(self.prompt.prompt_id, self.model, **fields)
        try:
            self.store.store.put_result(chunk.bucket, entry.key, result)
        except StoreError as exc:
            logger.warning("%s line %d: %s", chunk.uri, entry.line, exc)
            return None  # left for the next run
        return "finished"

    def _create_jobs(
        self, run: RunRef, submission: str, builder: RequestBuilder, entries: list[PageEntry],
        tokens: list[tuple[int, int]], outcome: Submission,
    ) -> None:  # fmt: skip
        file = builder.file
        if not entries:
            return
        slices = split_jobs(file.sizes, self.limits)
        if len(slices) > CONCURRENT_JOBS:
            self.store.release_pages(run.bucket, entries)
            raise UsageError(f"{len(entries)} pages need {len(slices)} batch jobs, over the "
                             f"{CONCURRENT_JOBS} the Batch API runs at once: submit part of "
                             "the run (a chunk URI) first")  # fmt: skip
        for index, part in enumerate(slices):
            pages = entries[part.start : part.end]
            manifest = Manifest(
                job_id=f"{submission}-{index}", bucket=run.bucket,
                prompt_id=self.prompt.prompt_id, prompt_name=self.prompt.name,
                schema=self.prompt.schema, model=self.model, pages=pages,
                source="inline" if part.inline else "file",
                estimated_tokens=[sum(t[0] for t in tokens[part.start : part.end]),
                                  sum(t[1] for t in tokens[part.start : part.end])],
            )  # fmt: skip
            self.store.save(run, manifest, create=True)
            try:
                if part.inline and file.inlined is not None:
                    status = self.jobs.create_inline(self.model, file.inlined, manifest.job_id)
                else:
                    jsonl = file.lines(part.start, part.end)
                    status = self.jobs.create_from_file(self.model, jsonl, manifest.job_id)
            except BatchApiError as exc:
                logger.error("batch %s not created: %s", manifest.job_id, exc)
                manifest.touch(state=NOT_CREATED, collected=True, error=str(exc))
                self.store.save(run, manifest)
                self.store.release_pages(run.bucket, pages)
                outcome.failed.append(f"{manifest.job_id}: {exc}")
                outcome.jobs.append(manifest)
                continue
            manifest.touch(job=status.name, state=status.state)
            self.store.save(run, manifest)
            self.store.mark_open(run, manifest)
            outcome.jobs.append(manifest)


def _with_claim(entry: PageEntry, claim: Claim) -> PageEntry:
    from dataclasses import replace

    return replace(entry, claim_etag=claim.etag)
