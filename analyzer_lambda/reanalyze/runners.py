"""Carrying out a re-analysis plan: ``--via local`` runs ``work.analyze_chunk`` in this process
with a progress bar; ``--via lambda`` sends ``{"reanalyze": ...}`` events to the deployed
function, after storing a local prompt file where the function can read it. Each runner returns
the command's exit code.

Kept apart from planning because this is where pages are actually analysed, and money spent:
Ctrl-C must let the pages in flight finish and write nothing half-done (``_StopDeadline`` makes
``work.py`` leave the rest pending for a rerun), and progress must stay readable both on a
terminal and in a log."""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer_lambda.work import Deadline
from rivalscope_core.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError
from rivalscope_core.keys import prompt_key

if TYPE_CHECKING:
    from analyzer_lambda.reanalyze.plan import Plan
    from analyzer_lambda.store import Store
    from analyzer_lambda.work import ChunkOutcome, Deps, PageOutcome

CHUNKS_AT_ONCE = 2


class _StopDeadline(Deadline):
    """No time limit until Ctrl-C; then none left, so no new page starts (work.py leaves
    those pending, unwritten, for a rerun)."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__(float("inf"))
        object.__setattr__(self, "_stop", stop)

    def remaining(self) -> float:
        stop: threading.Event = object.__getattribute__(self, "_stop")
        return 0.0 if stop.is_set() else 1e9


class Progress:
    """Pages done/failed, tokens and elapsed time: redrawn in place on a terminal, a line every
    few seconds otherwise (logs, CI)."""

    def __init__(self, total: int, stream: Any = None) -> None:
        self.total, self.stream = total, stream or sys.stderr
        self.counts = dict.fromkeys(("done", "failed", "skipped", "pending"), 0)
        self.tokens = [0, 0]
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0

    def page(self, outcome: PageOutcome) -> None:
        with self._lock:
            self.counts[outcome.status] += 1
            self.tokens[0] += outcome.usage.input_tokens
            self.tokens[1] += outcome.usage.output_tokens
        if outcome.status == "failed" and outcome.error is not None:
            self.say(f"failed: {outcome.chunk} line {outcome.line} {outcome.url}: "
                        f"{outcome.error.type}: {outcome.error.message}")  # fmt: skip
        self.draw()

    def line(self) -> str:
        c = self.counts
        finished = c["done"] + c["failed"] + c["skipped"]
        width = 24
        filled = width * finished // self.total if self.total else width
        return (f"[{'#' * filled}{'.' * (width - filled)}] {finished}/{self.total} pages, "
                f"{c['failed']} failed, {c['pending']} pending | tokens {self.tokens[0]:,} in "
                f"{self.tokens[1]:,} out | {time.monotonic() - self.started:.0f}s")  # fmt: skip

    def draw(self, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and not self._tty and now - self._last < 5.0:
            return
        self._last = now
        end = "\n" if final or not self._tty else ""
        print(f"\r{self.line()}", end=end, file=self.stream, flush=True)

    def say(self, text: str) -> None:
        """A line of its own, over the bar being redrawn on a terminal."""
        print(f"\r{text}" if self._tty else text, file=self.stream, flush=True)


def run_local(
    plan: Plan, deps: Deps, prompt_ref: str | None, model: str | None, concurrency: int
) -> int:
    """``prompt_ref`` None: each page's own prompt (``analyze_chunk`` without an override)."""
    from analyzer_lambda.work import analyze_chunk

    at_once = max(1, min(CHUNKS_AT_ONCE, concurrency, len(plan.todo)))
    config = deps.config.replace(concurrency=max(1, concurrency // at_once))
    deps = dataclasses.replace(deps, config=config)
    stop = threading.Event()
    deadline = _StopDeadline(stop)
    progress = Progress(plan.todo_pages)
    outcomes: list[ChunkOutcome] = []
    interrupted = False
    with ThreadPoolExecutor(at_once, thread_name_prefix="reanalyze") as pool:
        pending: set[Future[ChunkOutcome]] = {
            pool.submit(
                analyze_chunk,
                chunk,
                deps,
                deadline,
                prompt_override=prompt_ref,
                model_override=model,
                progress=progress.page,
            )
            for chunk in plan.todo
        }
        while pending:
            try:
                finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                interrupted = True
                stop.set()
                for future in pending:
                    future.cancel()
                progress.say("interrupted: finishing the pages in flight, then stopping")
                continue
            outcomes.extend(f.result() for f in finished if not f.cancelled())
            progress.draw()
    progress.draw(final=True)
    for outcome in outcomes:
        if outcome.error:
            print(f"chunk failed: {outcome.chunk}: {outcome.error}", file=sys.stderr)
    if interrupted:
        print("stopped; rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    incomplete = any(not o.complete for o in outcomes) or progress.counts["failed"]
    return EXIT_FAILED if incomplete else EXIT_OK


def run_lambda(
    plan: Plan,
    function: str,
    prompt_uri: str | None,
    batch: int,
    model: str | None,
    fresh: bool = False,
) -> int:
    """``prompt_uri`` None: the function analyses each page with its own prompt."""
    import boto3

    client = boto3.client("lambda")
    chunks = [chunk.uri for chunk in plan.todo]
    failed = 0
    for start in range(0, len(chunks), batch):
        request = {"chunks": chunks[start : start + batch], "prompt": prompt_uri,
                   "model": model, **({"fresh": True} if fresh else {})}  # fmt: skip
        payload = {"reanalyze": request}
        response = client.invoke(FunctionName=function, InvocationType="Event",
                                 Payload=json.dumps(payload).encode())  # fmt: skip
        if response["StatusCode"] != 202:  # "accepted": asynchronous invokes
            failed += 1
            print(f"not accepted ({response['StatusCode']}): {payload}", file=sys.stderr)
        print(f"\rsent {min(start + batch, len(chunks))}/{len(chunks)} chunk(s) to {function}",
              end="", file=sys.stderr, flush=True)  # fmt: skip
    print(f"\n{plan.todo_pages} page(s) queued; run again with --dry-run to see what is left",
          file=sys.stderr)  # fmt: skip
    return EXIT_FAILED if failed else EXIT_OK


def stored_prompt_uri(store: Store, ref: str, bucket: str) -> str:
    """An ``s3://`` reference the function can read: a local file goes to ``prompts/<stem>.md``
    (its prompt id is unchanged: same text, same fallback name), unless another text is there."""
    if ref.startswith("s3://") or not Path(ref).is_file():
        return ref
    text = Path(ref).read_text("utf-8")
    key = prompt_key(Path(ref).name.removesuffix(".md"))
    if store.exists(bucket, key):
        if store.read_text(bucket, key) != text:
            raise UsageError(f"s3://{bucket}/{key} holds another prompt: rename {ref} "
                             "or pass --prompt s3://...")  # fmt: skip
    else:
        store.put_text(bucket, key, text, content_type="text/markdown")
    return f"s3://{bucket}/{key}"
