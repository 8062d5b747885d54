"""``python -m analyzer_lambda.reanalyze RUN_URI --prompt FILE [--model M] [--concurrency N]
[--dry-run] [--yes] [--via local|lambda]``: analyse stored pages again, never fetching a site.

Only pages without a result for this (prompt id, model) are analysed, so a rerun resumes an
interrupted one and a second run makes no model call. ``--dry-run`` prints the pages, the
estimated tokens and cost (``pricing.py``) and calls nothing. A run estimated above
``RIVALSCOPE_CONFIRM_ABOVE_USD`` (default 1 USD), or whose model has no known price, asks first;
``--yes`` skips that, and without a terminal it is required.

``--via local`` runs ``work.analyze_chunk`` in this process (two chunks at a time, ``N`` pages in
all, with a progress bar; Ctrl-C lets the pages in flight finish and leaves the rest for a
rerun). ``--via lambda`` sends ``{"reanalyze": ...}`` events to the deployed function
(asynchronous invokes, ``--batch`` chunks each; ``--function`` or ``ANALYZER_FUNCTION``); a local
prompt file is first stored as ``s3://BUCKET/prompts/<file stem>.md`` for the function to read.

Exit codes: 0 done; 1 some pages failed or were left pending (each is printed); 2 bad usage or
configuration; 130 interrupted."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer_lambda.chunks import read_pages
from analyzer_lambda.config import Config
from analyzer_lambda.exceptions import AnalyzerLambdaError, ConfigurationError
from analyzer_lambda.pricing import (
    CONFIRM_ABOVE_ENV,
    DEFAULT_CONFIRM_ABOVE,
    Price,
    estimate_page_tokens,
    load_prices,
    price_for,
)
from analyzer_lambda.work import Deadline
from rivalscope_core.keys import (
    ChunkRef,
    RunRef,
    analysis_key,
    analysis_prefix,
    is_raw_chunk_key,
    parse_run_uri,
    prompt_key,
)
from rivalscope_core.records import PageRecord

if TYPE_CHECKING:
    from analyzer_lambda.prompts import Prompt
    from analyzer_lambda.store import Store
    from analyzer_lambda.work import ChunkOutcome, Deps, PageOutcome

FUNCTION_ENV = "ANALYZER_FUNCTION"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
CHUNKS_AT_ONCE = 2


class UsageError(AnalyzerLambdaError):
    """Bad arguments; exit 2 with this message."""


@dataclass
class Plan:
    """What a re-analysis would do: the pages without a result, per chunk, and their cost."""

    prompt: Prompt
    model: str
    analyzer: str
    chunks: int = 0
    pages: int = 0
    todo: dict[ChunkRef, int] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    price: Price | None = None

    @property
    def todo_pages(self) -> int:
        return sum(self.todo.values())

    @property
    def cost(self) -> float | None:
        return (
            None if self.price is None else self.price.cost(self.input_tokens, self.output_tokens)
        )

    def describe(self) -> str:
        cost = "unknown (no price for this model: see RIVALSCOPE_PRICES_FILE)"
        if self.price is not None:
            cost = f"${self.cost:.4f} (prices as of {self.price.as_of})"
        return (
            f"prompt {self.prompt.prompt_id}, model {self.model} ({self.analyzer})\n"
            f"pages: {self.pages} in {self.chunks} chunk(s); {self.pages - self.todo_pages} "
            f"already analysed; {self.todo_pages} to analyse in {len(self.todo)} chunk(s)\n"
            f"estimated tokens: {self.input_tokens:,} input, {self.output_tokens:,} output\n"
            f"estimated cost: {cost}"
        )


def make_plan(store: Store, target: RunRef | ChunkRef, plan: Plan, config: Config) -> Plan:
    """Read every chunk (S3 only, no site, no model) and count the pages left to analyse."""
    run = target.run if isinstance(target, ChunkRef) else target
    if isinstance(target, ChunkRef):
        chunks = [target]
    else:
        keys = store.existing_keys(run.bucket, run.raw_prefix)
        chunks = [ChunkRef(run.bucket, key) for key in sorted(keys) if is_raw_chunk_key(key)]
    done = store.existing_keys(run.bucket, analysis_prefix(run, plan.prompt.prompt_id, plan.model))
    free = plan.analyzer == "extract"
    for chunk in chunks:
        plan.chunks += 1
        with store.open_chunk(chunk, config.work_dir) as stream:
            for line, record in read_pages(stream, key=chunk.key):
                plan.pages += 1
                if analysis_key(chunk, line, plan.prompt.prompt_id, plan.model) in done:
                    continue
                plan.todo[chunk] = plan.todo.get(chunk, 0) + 1
                if isinstance(record, PageRecord) and not free:
                    tokens_in, tokens_out = estimate_page_tokens(
                        record, plan.prompt, text_budget=config.text_tokens,
                        image_max_side=config.screenshot_max_side,
                        max_output=config.gemini_max_output_tokens,
                    )  # fmt: skip
                    plan.input_tokens += tokens_in
                    plan.output_tokens += tokens_out
    return plan


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
            self._print(f"failed: {outcome.chunk} line {outcome.line} {outcome.url}: "
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

    def _print(self, text: str) -> None:
        print(f"\r{text}" if self._tty else text, file=self.stream, flush=True)


def run_local(plan: Plan, deps: Deps, prompt_ref: str, model: str | None, concurrency: int) -> int:
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
                progress._print("interrupted: finishing the pages in flight, then stopping")
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


def run_lambda(plan: Plan, function: str, prompt_uri: str, batch: int) -> int:
    import boto3

    client = boto3.client("lambda")
    chunks = [chunk.uri for chunk in plan.todo]
    failed = 0
    for start in range(0, len(chunks), batch):
        payload = {"reanalyze": {"chunks": chunks[start : start + batch], "prompt": prompt_uri,
                                 "model": plan.model}}  # fmt: skip
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


def stored_prompt_uri(store: Store, s3: Any, ref: str, bucket: str) -> str:
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
        s3.put_object(Bucket=bucket, Key=key, Body=text.encode(), ContentType="text/markdown")
    return f"s3://{bucket}/{key}"


def confirm(plan: Plan, yes: bool, environ: dict[str, str] | os._Environ[str]) -> None:
    """Raise UsageError when a costly run is neither confirmed nor allowed with ``--yes``."""
    try:
        limit = float(environ.get(CONFIRM_ABOVE_ENV) or DEFAULT_CONFIRM_ABOVE)
    except ValueError:
        raise ConfigurationError(f"{CONFIRM_ABOVE_ENV} must be a number of USD") from None
    cost = plan.cost
    if yes or (cost is not None and cost <= limit) or plan.analyzer == "extract":
        return
    why = "an unknown cost" if cost is None else f"an estimated ${cost:.2f} (over ${limit:.2f})"
    if not sys.stdin.isatty():
        raise UsageError(f"this run has {why}: pass --yes to run it without a terminal")
    answer = input(f"This run has {why}. Proceed? [y/N] ").strip().lower()
    if answer not in {"y", "yes"}:
        raise UsageError("not confirmed")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m analyzer_lambda.reanalyze",
                                     description=__doc__.split("\n\n")[1])  # fmt: skip
    parser.add_argument("run", metavar="RUN_URI", help="s3://BUCKET/raw/SPIDER/TIME/ or a chunk")
    parser.add_argument("--prompt", required=True, help="prompt file, s3:// URI or name")
    parser.add_argument("--model", default=None)
    parser.add_argument("--concurrency", type=int, default=4, help="pages at once (local)")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--yes", action="store_true", help="no confirmation before a costly run")
    parser.add_argument("--via", choices=("local", "lambda"), default="local")
    parser.add_argument("--function", default=None, help=f"default: ${FUNCTION_ENV}")
    parser.add_argument("--batch", type=int, default=1, help="chunks per invoke (lambda)")
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.batch < 1:
        parser.error("--concurrency and --batch must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    package_logger = logging.getLogger("analyzer_lambda")
    level = package_logger.level
    try:
        return _main(args)
    except (UsageError, ConfigurationError, ValueError) as exc:
        print(f"reanalyze: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AnalyzerLambdaError as exc:  # S3 unreachable, prompt unreadable, corrupt chunk
        print(f"reanalyze: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        package_logger.setLevel(level)  # _main quiets the per-page INFO logs under the bar


def _main(args: argparse.Namespace) -> int:
    import boto3

    from analyzer_lambda.prompt_refs import PromptResolver
    from analyzer_lambda.store import Store

    target = parse_run_uri(args.run)
    bucket = target.bucket
    config = Config.from_env(os.environ, concurrency=args.concurrency)
    s3 = boto3.client("s3")
    store = Store(s3)
    prompt = PromptResolver(store, None).resolve(args.prompt, bucket)
    if args.model:
        prompt = dataclasses.replace(prompt, model=args.model)
    deps: Deps | None = None
    if args.via == "local":
        from analyzer_lambda.handler import build_deps

        logging.getLogger("analyzer_lambda").setLevel(logging.WARNING)
        deps = build_deps(config)
        analyzer, model = deps.analyzer.name, deps.analyzer.model_for(prompt)
    else:
        function = args.function or os.environ.get(FUNCTION_ENV, "")
        if not function:
            raise UsageError(f"--via lambda needs --function NAME or {FUNCTION_ENV}")
        analyzer, model = config.analyzer or "gemini", prompt.model or config.gemini_model
    plan = make_plan(store, target, Plan(prompt, model, analyzer), config)
    plan.price = price_for(model, load_prices(os.environ))
    print(plan.describe(), file=sys.stderr)
    if args.dry_run:
        return EXIT_OK
    if not plan.todo:
        print("nothing to do: every page has a result for this prompt and model", file=sys.stderr)
        return EXIT_OK
    confirm(plan, args.yes, os.environ)
    if deps is not None:
        return run_local(plan, deps, args.prompt, args.model, args.concurrency)
    return run_lambda(
        plan, function, stored_prompt_uri(store, s3, args.prompt, bucket), args.batch
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
