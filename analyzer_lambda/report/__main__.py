"""``python -m analyzer_lambda.report RUN_URI [--prompt FILE_OR_ID] --out DIR [--upload]``
(issue 4): the command. Reads a run's raw chunks (for page facts and screenshots) and its
stored results from S3 — without ``--prompt``, each page's result for the prompt it was
analysed with (a watch list gives competitors prompts of their own, #17) — writes
``results.jsonl``, ``results.csv``, ``report.html``, ``changes.jsonl`` (against each page's
previous capture, ``--against RUN_URI``, or not with ``--no-compare``: ``report.changes``) and
``screenshots/`` into DIR, and with ``--upload`` copies them, private, under ``reports/…`` in
the bucket and prints a presigned URL.

This module is only the command line and its exit codes, so that each job stays testable on
its own: reading S3 is ``source``, screenshot files ``screenshots``, the rows
``rows``, rendering ``html`` (both pure), writing and uploading
``outputs``. Exit codes (SPEC.md): 0 all pages analysed, 1 some failed or not analysed
yet, 2 bad usage (unknown run, prompt without results, unreadable prompt, bad option)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from analyzer_lambda.config import Config
from analyzer_lambda.exceptions import CorruptChunkError
from analyzer_lambda.report.outputs import upload, write_outputs
from analyzer_lambda.report.rows import ReportMeta, build_rows, counts
from analyzer_lambda.report.source import (
    list_chunks,
    own_prompt_ids,
    read_own_results,
    read_report_pages,
    read_results,
    resolve_prompt_id,
)
from rivalscope_core.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from rivalscope_core.keys import OWN_PROMPTS, ChunkRef, RunRef, parse_run_uri, report_prefix
from rivalscope_core.records import utc_now_iso
from rivalscope_core.s3 import make_s3_client

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mypy_boto3_s3 import S3Client

    from rivalscope_core.records import ResultRecord

logger = logging.getLogger("analyzer_lambda.report")

MAX_EXPIRES = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m analyzer_lambda.report",
        description="Write results.jsonl, results.csv and report.html (with screenshots).",
    )
    parser.add_argument(
        "run_uri", metavar="RUN_URI", help="s3://BUCKET/raw/SPIDER/TIME/ or one chunk URI"
    )
    parser.add_argument(
        "--prompt",
        default=None,
        metavar="FILE_OR_ID",
        help="the prompt file the run was analysed with, or its prompt id (default: each "
        "page's own prompt, as the analyser chose it: a watch list's per-competitor prompt, "
        "else the run's, else ANALYSIS_PROMPT)",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    parser.add_argument(
        "--upload",
        action="store_true",
        help="also upload to s3://BUCKET/reports/... and print a presigned URL",
    )
    parser.add_argument(
        "--expires",
        type=int,
        default=MAX_EXPIRES,
        metavar="SECONDS",
        help=f"presigned URL lifetime (1..{MAX_EXPIRES}, default 7 days)",
    )
    parser.add_argument(
        "--against",
        metavar="RUN_URI",
        default=None,
        help="compare with this run (default: each page's previous capture)",
    )
    parser.add_argument(
        "--no-compare", action="store_true", help="write no changes.jsonl, compare nothing"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.expires <= MAX_EXPIRES:
        parser.error(f"--expires must be between 1 and {MAX_EXPIRES} seconds")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)
    try:
        target = parse_run_uri(args.run_uri)
        run = target if isinstance(target, RunRef) else target.run
        s3 = make_s3_client()
        chunks = list_chunks(s3, target)
        only = target if isinstance(target, ChunkRef) else None
        args.out.mkdir(parents=True, exist_ok=True)
        if args.prompt is not None:
            prompt_id = resolve_prompt_id(s3, run, args.prompt)
            results = read_results(s3, run, prompt_id, only)
            pages = read_report_pages(s3, chunks, args.out)
        else:  # each page with the prompt it was analysed with
            own = own_prompt_ids(s3, Config.from_env(os.environ).analysis_prompt)
            pages = read_report_pages(s3, chunks, args.out, prompt_id_of=own)
            results = read_own_results(s3, run, pages, only)
            prompt_id = ", ".join(sorted({str(p.prompt_id) for p in pages if p.prompt_id}))
        logger.info("%d chunks, %d results for %s", len(chunks), len(results), prompt_id)
        rows = build_rows(pages, results)
        meta = ReportMeta(run=(only or run).uri, prompt_id=prompt_id, generated_at=utc_now_iso())
        write_outputs(rows, meta, args.out)
        if not args.no_compare:
            _write_changes(s3, chunks, results, args)
        url = None
        if args.upload:
            label = prompt_id if args.prompt is not None else OWN_PROMPTS
            prefix = report_prefix(run, label) + (f"{only.stem}/" if only else "")
            url = upload(s3, args.out, rows, meta, run.bucket, prefix, args.expires)
    except (UsageError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    tally = counts(rows)
    print(
        f"{len(rows)} results: {tally['done']} analysed, {tally['failed']} failed, "
        f"{tally['missing']} not analysed, {tally['blocked']} blocked by site"
    )
    print(f"report: {args.out / 'report.html'}")
    if url is not None:
        print(
            f"uploaded to s3://{run.bucket}/{prefix} (private);"
            f" presigned URL, valid {args.expires} s:"
        )
        print(url)
    return EXIT_OK if tally["failed"] == tally["missing"] == tally["blocked"] == 0 else EXIT_FAILED


def _write_changes(
    s3: S3Client, chunks: list[ChunkRef], results: list[ResultRecord], args: argparse.Namespace
) -> None:
    """``changes.jsonl``; a comparison that S3 cannot complete costs that file, not the
    report (a warning says so)."""
    from analyzer_lambda.changes.reuser import load_rule_set
    from analyzer_lambda.changes.rules import ChangeRulesError
    from analyzer_lambda.exceptions import StoreError
    from analyzer_lambda.prompts.parser import PromptError, parse_prompt
    from analyzer_lambda.report.changes import write_changes

    against = None
    if args.against:
        target = parse_run_uri(args.against)
        against = target if isinstance(target, RunRef) else target.run
    schema = None
    if args.prompt is not None and Path(args.prompt).is_file():
        try:
            schema = parse_prompt(Path(args.prompt).read_text("utf-8")).schema
        except PromptError:
            schema = None
    config = Config.from_env(os.environ)
    try:
        rule_set = load_rule_set(config.change_rules, s3, config.pages_bucket)
    except ChangeRulesError as exc:
        raise UsageError(str(exc)) from exc
    try:
        tally = write_changes(s3, chunks, results, args.out, against=against, schema=schema,
                              rule_set=rule_set, text_tokens=config.text_tokens)  # fmt: skip
    except (StoreError, ClientError, BotoCoreError, CorruptChunkError) as exc:
        logger.warning("changes.jsonl not written: %s", exc)
        return
    print("changes: " + ", ".join(f"{n} {status}" for status, n in sorted(tally.items())))


if __name__ == "__main__":
    sys.exit(main())
