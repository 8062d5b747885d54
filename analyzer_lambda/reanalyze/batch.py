"""``reanalyze RUN --prompt P --via batch``: the Gemini Batch API at half price.

Each run of the command first collects (polls every open job of the run for the prompt and
model, stores the answers of those that succeeded, releases the pages of those that failed or
expired), then submits every page still without a result and not in an open job — so the same
command both starts the work and, run again later, finishes it. ``--dry-run`` prints the plan
and the batch-priced estimate and calls nothing. Exit codes as the other modes: 1 when a job
failed, expired or could not be created, or when answers became error results."""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import TYPE_CHECKING

from analyzer_lambda.reanalyze.plan import Plan, confirm, make_plan
from analyzer_lambda.reanalyze.pricing import load_prices, price_for
from rivalscope_core.exit_codes import EXIT_FAILED, EXIT_OK, UsageError
from rivalscope_core.keys import ChunkRef

if TYPE_CHECKING:
    import argparse

    from analyzer_lambda.config import Config
    from analyzer_lambda.reanalyze.pricing import Price
    from rivalscope_core.keys import RunRef


def run_batch(target: RunRef | ChunkRef, args: argparse.Namespace, config: Config) -> int:
    from analyzer_lambda.analyzers.gemini.analyzer import gemini_client
    from analyzer_lambda.batches.collect import Collector
    from analyzer_lambda.batches.jobs import BatchJobs
    from analyzer_lambda.batches.store import BatchStore
    from analyzer_lambda.batches.submit import SubmissionBusyError, Submitter
    from analyzer_lambda.deps import build_deps

    if not args.prompt:
        raise UsageError("--via batch needs --prompt: one batch job serves one prompt and model")
    if config.analyzer not in (None, "gemini"):
        raise UsageError("--via batch is Gemini's Batch API: unset ANALYZER or set it to gemini")
    deps = build_deps(config.replace(analyzer="gemini"))
    run = target.run if isinstance(target, ChunkRef) else target
    prompt = deps.prompts.resolve(args.prompt, run.bucket)
    prompt = dataclasses.replace(prompt, model=args.model or prompt.model)
    model = deps.analyzer.model_for(prompt)
    client = gemini_client(deps.config)
    store, jobs = BatchStore(deps.store), BatchJobs(client)
    price = price_for(model, load_prices(os.environ))
    trouble = False
    if not args.dry_run:
        for collected in Collector(store, jobs).collect_run(run, prompt.prompt_id, model):
            _say(collected.describe())
            trouble |= bool(collected.failed or collected.error or collected.released)
    plan = make_plan(deps.store, target, Plan(prompt, model, "gemini"), deps.config)
    plan.price = price
    in_jobs = len(store.keys_in_open_jobs(run, prompt.prompt_id, model))
    _say(plan.describe())
    _say(f"estimated cost at Batch API prices: "
         f"{_cost(price, plan.input_tokens, plan.output_tokens)}; "
         f"{in_jobs} page(s) already in open batch jobs")  # fmt: skip
    if args.dry_run:
        return EXIT_OK
    if plan.todo_pages <= in_jobs:
        _say("nothing to submit" + ("; run again later to collect" if in_jobs else ""))
        return EXIT_FAILED if trouble else EXIT_OK
    batch_cost = None if price is None else price.batch_cost(plan.input_tokens,
                                                               plan.output_tokens)  # fmt: skip
    confirm(plan, args.yes, os.environ, cost=batch_cost)
    submitter = Submitter(store, jobs, client, deps.config, prompt, model,
                          deps.config.batch_limits, deps.reuse, _progress)  # fmt: skip
    try:
        submission = submitter.submit(target)
    except SubmissionBusyError as exc:
        _say(str(exc))
        return EXIT_FAILED if trouble else EXIT_OK
    for manifest in submission.jobs:
        if manifest.job:
            tokens_in, tokens_out = manifest.estimated_tokens
            _say(f"submitted {manifest.job} ({manifest.source}): {len(manifest.pages)} pages, "
                 f"batch-priced estimate {_cost(price, tokens_in, tokens_out)}")  # fmt: skip
    for failure in submission.failed:
        _say(f"not submitted: {failure}")
    _say(f"{submission.pages} page(s) submitted; {submission.finished_here} finished without "
         f"the model; {submission.in_open_jobs} already in open jobs; {submission.held} held by "
         "another invocation. Run the same command again to collect the answers (in AWS the "
         "scheduled collector does it).")  # fmt: skip
    return EXIT_FAILED if trouble or submission.failed else EXIT_OK


def _cost(price: Price | None, tokens_in: int, tokens_out: int) -> str:
    if price is None:
        return "unknown (no price for this model: see RIVALSCOPE_PRICES_FILE)"
    return f"${price.batch_cost(tokens_in, tokens_out):.4f} (prices as of {price.as_of})"


def _progress(chunks_done: int, chunks: int, requests: int) -> None:
    end = "" if sys.stderr.isatty() and chunks_done < chunks else "\n"
    print(f"\rread {chunks_done}/{chunks} chunk(s): {requests} request(s) to submit", end=end,
          file=sys.stderr, flush=True)  # fmt: skip


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
