"""``python -m analyzer_lambda.reanalyze RUN_URI [--prompt FILE] [--model M] [--concurrency N]
[--dry-run] [--yes] [--via local|lambda|batch] [--fresh]``: analyse stored pages again, never
fetching a site.

``--prompt`` is used for every page; without it each page gets its own prompt, as the analyser
chose it (the record's — a watch list's per-competitor prompt — else ``ANALYSIS_PROMPT``).
Only pages without a result for their (prompt id, model) are analysed, so a rerun resumes an
interrupted one and a second run makes no model call. ``--dry-run`` prints the pages, the
estimated tokens and cost (``pricing``) and calls nothing. A run estimated above
``RIVALSCOPE_CONFIRM_ABOVE_USD`` (default 1 USD), or whose model has no known price, asks first;
``--yes`` skips that, and without a terminal it is required.

``--via local`` runs ``work.analyze_chunk`` in this process (two chunks at a time, ``N`` pages in
all, with a progress bar; Ctrl-C lets the pages in flight finish and leaves the rest for a
rerun). ``--via lambda`` sends ``{"reanalyze": ...}`` events to the deployed function
(asynchronous invokes, ``--batch`` chunks each; ``--function`` or ``ANALYZER_FUNCTION``); a local
prompt file is first stored as ``s3://BUCKET/prompts/<file stem>.md`` for the function to read.
``--via batch`` submits the pages as Gemini Batch API jobs at half price and, run again, collects
the answers (``reanalyze/batch.py``).

Exit codes: 0 done; 1 some pages failed or were left pending (each is printed); 2 bad usage or
configuration; 130 interrupted.

This module is the command line: what a run would do (and what it costs) is
``plan``, which reads S3 only; carrying it out is ``runners``."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from typing import TYPE_CHECKING

from analyzer_lambda.config import Config
from analyzer_lambda.exceptions import AnalyzerLambdaError, ConfigurationError
from analyzer_lambda.reanalyze.plan import Plan, confirm, make_plan
from analyzer_lambda.reanalyze.pricing import load_prices, price_for
from analyzer_lambda.reanalyze.runners import run_lambda, run_local, stored_prompt_uri
from rivalscope_core.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from rivalscope_core.keys import parse_run_uri

if TYPE_CHECKING:
    from analyzer_lambda.prompts.parser import Prompt
    from analyzer_lambda.work import Deps

FUNCTION_ENV = "ANALYZER_FUNCTION"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m analyzer_lambda.reanalyze",
                                     description=__doc__.split("\n\n")[1])  # fmt: skip
    parser.add_argument("run", metavar="RUN_URI", help="s3://BUCKET/raw/SPIDER/TIME/ or a chunk")
    parser.add_argument("--prompt", default=None,
                        help="prompt file, s3:// URI or name, for every page (default: each "
                             "page's own, e.g. its competitor's from the watch list)")  # fmt: skip
    parser.add_argument("--model", default=None)
    parser.add_argument("--concurrency", type=int, default=4, help="pages at once (local)")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--yes", action="store_true", help="no confirmation before a costly run")
    parser.add_argument("--via", choices=("local", "lambda", "batch"), default="local",
                        help="batch: Gemini Batch API (half price); rerun to collect")  # fmt: skip
    parser.add_argument("--function", default=None, help=f"default: ${FUNCTION_ENV}")
    parser.add_argument("--batch", type=int, default=1, help="chunks per invoke (lambda)")
    parser.add_argument(
        "--fresh", action="store_true", help="ask the model even for pages that did not change"
    )
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
    from analyzer_lambda.deps import build_deps, build_store
    from analyzer_lambda.prompts.resolver import PromptResolver

    target = parse_run_uri(args.run)
    bucket = target.bucket
    config = Config.from_env(
        os.environ, concurrency=args.concurrency, reuse=False if args.fresh else None
    )
    if args.via == "batch":
        from analyzer_lambda.reanalyze.batch import run_batch

        return run_batch(target, args, config)
    store = build_store()
    # without --prompt, each page's own, resolved as the analyser does (ANALYSIS_PROMPT last)
    resolver = PromptResolver(store, None if args.prompt else config.analysis_prompt)
    prompt = resolver.resolve(args.prompt, bucket) if args.prompt else None
    deps: Deps | None = None
    if args.via == "local":
        logging.getLogger("analyzer_lambda").setLevel(logging.WARNING)
        deps = build_deps(config)
        analyzer, model_for = deps.analyzer.name, deps.analyzer.model_for

        def model_of(chosen: Prompt) -> str:  # as analyze_chunk's model_override does
            return model_for(dataclasses.replace(chosen, model=args.model or chosen.model))

    else:
        function = args.function or os.environ.get(FUNCTION_ENV, "")
        if not function:
            raise UsageError(f"--via lambda needs --function NAME or {FUNCTION_ENV}")
        analyzer = config.analyzer or "gemini"

        def model_of(chosen: Prompt) -> str:
            return str(args.model or chosen.model or config.gemini_model)

    model = model_of(prompt or resolver.resolve(None, bucket))  # own prompts: the default's
    plan = Plan(prompt, model, analyzer, own=lambda ref: resolver.resolve(ref, bucket),
                model_of=model_of)  # fmt: skip
    plan = make_plan(store, target, plan, config)
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
    prompt_uri = stored_prompt_uri(store, args.prompt, bucket) if args.prompt else None
    model = plan.model if prompt else args.model
    return run_lambda(plan, function, prompt_uri, args.batch, model, fresh=args.fresh)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
