"""Analyse one chunk: the orchestration shared by the Lambda handler and the local re-analysis
(``reanalyze --via local``), with bounded concurrency and a deadline.

Per page: skip if its result exists; claim its key; check again (a concurrent invocation may
have just finished it); ask the analyser; write the result (conditional, last); release the
claim. A page the deadline cut off, that another invocation holds, or that S3 failed on is
*pending*: nothing is written and the next delivery resumes it. Finished pages are never
redone, because their result exists."""

from __future__ import annotations

import dataclasses
import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from analyzer_lambda.analyzers.base import NOT_RECORDED_ERRORS
from analyzer_lambda.chunks import BadLine, read_pages
from analyzer_lambda.exceptions import CorruptChunkError, PromptUnavailableError, StoreError
from rivalscope_core.keys import analysis_key, analysis_prefix, claim_key
from rivalscope_core.records import ErrorInfo, PageRecord, ResultRecord, Usage

if TYPE_CHECKING:
    from collections.abc import Callable

    from analyzer_lambda.analyzers.base import Analyzer
    from analyzer_lambda.changes.reuser import Reuser
    from analyzer_lambda.config import Config
    from analyzer_lambda.prompts.parser import Prompt
    from analyzer_lambda.prompts.resolver import PromptResolver
    from analyzer_lambda.store import Store
    from rivalscope_core.keys import ChunkRef

logger = logging.getLogger(__name__)

PageStatus = Literal["done", "failed", "skipped", "pending"]


@dataclass(frozen=True)
class Deadline:
    """A point on the monotonic clock; ``remaining()`` satisfies the analyser protocol."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()


@dataclass(frozen=True)
class Deps:
    """What ``analyze_chunk`` needs, built once per process (``deps.build_deps``)."""

    config: Config
    store: Store
    analyzer: Analyzer
    prompts: PromptResolver
    reuse: Reuser | None = None  # None: every page goes to the model (ANALYZER_REUSE=false)
    #: called once per complete run (``analyzer_lambda.runs.complete.on_run_complete``)
    run_complete_hooks: tuple[Callable[[dict[str, Any], str], None], ...] = ()


@dataclass(frozen=True)
class PageOutcome:
    chunk: str
    line: int
    url: str
    status: PageStatus
    result_key: str | None = None
    usage: Usage = field(default_factory=Usage)
    error: ErrorInfo | None = None


@dataclass
class ChunkOutcome:
    """``done``: results written now with an analysis; ``failed``: results written now with an
    error (recorded for good, not retried); ``skipped``: results that existed; ``pending``:
    pages left for the next delivery; ``cut_off``: reading stopped because time ran low (the
    lines after were not even counted); ``error``: the chunk itself failed (corrupt, unreadable,
    prompt unavailable)."""

    chunk: str
    done: int = 0
    failed: int = 0
    skipped: int = 0
    pending: int = 0
    cut_off: bool = False
    error: str | None = None
    usage: Usage = field(default_factory=Usage)

    @property
    def complete(self) -> bool:
        """Every page of the chunk has a result: a redelivery would do nothing."""
        return self.pending == 0 and not self.cut_off and self.error is None

    def add(self, page: PageOutcome) -> None:
        setattr(self, page.status, getattr(self, page.status) + 1)
        self.usage = Usage(
            self.usage.input_tokens + page.usage.input_tokens,
            self.usage.output_tokens + page.usage.output_tokens,
        )

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "complete": self.complete}


def analyze_chunk(
    chunk: ChunkRef,
    deps: Deps,
    deadline: Deadline,
    *,
    prompt_override: str | None = None,
    model_override: str | None = None,
    progress: Callable[[PageOutcome], None] | None = None,
) -> ChunkOutcome:
    """Analyse every page of ``chunk`` that has no result yet; never raises for a page's or the
    chunk's problem (see ``ChunkOutcome``). ``prompt_override`` (a prompt reference) beats the
    records' ``prompt`` and ``ANALYSIS_PROMPT``; ``model_override`` beats the prompt's model and
    ``GEMINI_MODEL``. Up to ``config.concurrency`` pages run at once; no page starts once less
    than ``config.stop_margin`` seconds remain. ``progress`` is called in the caller's thread
    once per page."""
    return _ChunkRun(chunk, deps, deadline, prompt_override, model_override, progress).run()


class _ChunkRun:
    def __init__(
        self,
        chunk: ChunkRef,
        deps: Deps,
        deadline: Deadline,
        prompt_override: str | None,
        model_override: str | None,
        progress: Callable[[PageOutcome], None] | None,
    ) -> None:
        self.chunk, self.deps, self.deadline = chunk, deps, deadline
        self.prompt_override, self.model_override = prompt_override, model_override
        self.progress = progress
        self.outcome = ChunkOutcome(chunk.uri)
        self._existing: dict[str, set[str]] = {}  # analysis prefix → keys listed at start
        # A run's records share one prompt; a line too broken to name its own is filed under
        # the prompt of the line before it, so the run's report shows it.
        self._last_record_prompt: str | None = None
        self._reuse = deps.reuse.for_chunk(chunk) if deps.reuse is not None else None

    def run(self) -> ChunkOutcome:
        config = self.deps.config
        in_flight: set[Future[PageOutcome]] = set()
        with ThreadPoolExecutor(config.concurrency, thread_name_prefix="analyse") as pool:
            try:
                with self.deps.store.open_chunk(self.chunk, config.work_dir) as stream:
                    for line, record in read_pages(stream, key=self.chunk.key):
                        if self.deadline.remaining() < config.stop_margin:
                            logger.warning("%s: time is short, stopping at line %d",
                                           self.chunk.uri, line)  # fmt: skip
                            self.outcome.cut_off = True
                            break
                        task = self._plan(line, record)
                        if isinstance(task, PageOutcome):
                            self._record(task)
                            continue
                        while len(in_flight) >= config.concurrency:
                            in_flight = self._collect(in_flight)
                        in_flight.add(pool.submit(*task))
            except CorruptChunkError as exc:
                logger.error("%s", exc)  # names the key and the first line lost
                self.outcome.error = str(exc)
            except (StoreError, PromptUnavailableError) as exc:
                logger.error("%s: %s", self.chunk.uri, exc)
                self.outcome.error = str(exc)
            while in_flight:
                in_flight = self._collect(in_flight)
        if self._reuse is not None and self.outcome.complete:
            self._reuse.finish()  # the next run finds this chunk's pages through it
        return self.outcome

    def _collect(self, in_flight: set[Future[PageOutcome]]) -> set[Future[PageOutcome]]:
        finished, rest = wait(in_flight, return_when=FIRST_COMPLETED)
        for future in finished:
            self._record(future.result())
        return rest

    def _record(self, page: PageOutcome) -> None:
        self.outcome.add(page)
        if self.progress is not None:
            self.progress(page)

    def _plan(self, line: int, record: PageRecord | BadLine) -> PageOutcome | tuple[Any, ...]:
        """A finished outcome (already done), or the work to submit."""
        if isinstance(record, PageRecord):
            self._last_record_prompt = record.prompt
            if self._reuse is not None:
                self._reuse.note(line, record)
        ref = self.prompt_override or self._last_record_prompt
        prompt = self.deps.prompts.resolve(ref, self.chunk.bucket)
        if self.model_override:
            prompt = dataclasses.replace(prompt, model=self.model_override)
        model = self.deps.analyzer.model_for(prompt)
        key = analysis_key(self.chunk, line, prompt.prompt_id, model)
        url = record.url if isinstance(record, PageRecord) else ""
        if key in self._listed(prompt.prompt_id, model):
            return PageOutcome(self.chunk.uri, line, url, "skipped", key)
        if isinstance(record, BadLine):
            logger.error("%s: %s", self.chunk.uri, record.message)
            error = ErrorInfo("corrupt_record", f"{self.chunk.uri}: {record.message}")
            return (self._write_error, line, key, prompt, model, None, error)
        if record.error is not None:  # the crawler could not render it: nothing to ask about
            return (self._write_error, line, key, prompt, model, record, record.error)
        return (self._analyze, line, key, prompt, model, record)

    def _listed(self, prompt_id: str, model: str) -> set[str]:
        prefix = f"{analysis_prefix(self.chunk.run, prompt_id, model)}{self.chunk.stem}/"
        if prefix not in self._existing:
            self._existing[prefix] = self.deps.store.existing_keys(self.chunk.bucket, prefix)
        return self._existing[prefix]

    def _result(
        self, line: int, prompt: Prompt, model: str, page: PageRecord | None, **fields: Any
    ) -> ResultRecord:
        return ResultRecord(
            url=page.url if page else "",
            final_url=page.final_url if page else None,
            crawled_at=page.crawled_at if page else "",
            chunk=self.chunk.uri,
            line=line,
            prompt_id=prompt.prompt_id,
            model=model,
            analyzer=self.deps.analyzer.name,
            competitor=page.competitor if page else None,
            **fields,
        )

    def _write_error(
        self, line: int, key: str, prompt: Prompt, model: str, page: PageRecord | None,
        error: ErrorInfo,
    ) -> PageOutcome:  # fmt: skip
        url = page.url if page else ""
        result = self._result(line, prompt, model, page, analysis=None, error=error)
        try:
            written = self.deps.store.put_result(self.chunk.bucket, key, result)
        except StoreError as exc:
            logger.warning("%s line %d: %s", self.chunk.uri, line, exc)
            return PageOutcome(self.chunk.uri, line, url, "pending", key)
        return PageOutcome(self.chunk.uri, line, url, "failed" if written else "skipped", key,
                           error=error)  # fmt: skip

    def _analyze(
        self, line: int, key: str, prompt: Prompt, model: str, page: PageRecord
    ) -> PageOutcome:
        def pending(why: str) -> PageOutcome:
            logger.info("%s line %d (%s) left for a retry: %s", self.chunk.uri, line, page.url,
                        why)  # fmt: skip
            return PageOutcome(self.chunk.uri, line, page.url, "pending", key)

        if self.deadline.remaining() < self.deps.config.stop_margin:
            return pending("time is short")
        store, bucket = self.deps.store, self.chunk.bucket
        try:
            claim = store.claim(bucket, claim_key(key), self.deps.config.claim_ttl)
            if claim is None:
                return pending("another invocation is analysing it")
        except StoreError as exc:
            return pending(str(exc))
        try:
            if store.exists(bucket, key):
                return PageOutcome(self.chunk.uri, line, page.url, "skipped", key)
            reused = self._reuse.reused_fields(line, page, prompt, model) if self._reuse else None
            if reused is not None:  # the page did not change: its previous answer stands
                result = self._result(line, prompt, model, page, analysis=reused["analysis"],
                                      reused_from=reused["reused_from"])  # fmt: skip
                done: PageStatus = "done" if store.put_result(bucket, key, result) else "skipped"
                return PageOutcome(self.chunk.uri, line, page.url, done, key)
            try:
                analysis = self.deps.analyzer.analyze(page, prompt, self.deadline)
            except Exception:  # an analyser bug must not stop the other pages
                logger.exception("%s line %d: analyser %s raised", self.chunk.uri, line,
                                 self.deps.analyzer.name)  # fmt: skip
                return pending("the analyser raised")
            if analysis.error is not None and analysis.error.type in NOT_RECORDED_ERRORS:
                return pending(f"{analysis.error.type}: {analysis.error.message}")
            result = self._result(line, prompt, model, page, analysis=analysis.answer,
                                  usage=analysis.usage, error=analysis.error)  # fmt: skip
            if not store.put_result(bucket, key, result):
                return PageOutcome(self.chunk.uri, line, page.url, "skipped", key)
        except StoreError as exc:
            return pending(str(exc))
        finally:
            store.release(claim)
        status: PageStatus = "failed" if analysis.error else "done"
        if analysis.error:
            logger.warning("%s line %d (%s): %s: %s", self.chunk.uri, line, page.url,
                           analysis.error.type, analysis.error.message)  # fmt: skip
        return PageOutcome(self.chunk.uri, line, page.url, status, key, analysis.usage,
                           analysis.error)  # fmt: skip
