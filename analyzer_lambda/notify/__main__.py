"""``python -m analyzer_lambda.notify RUN_URI [--prompt FILE_OR_ID] [--dry-run] [--link URL]``:
send a complete run's notification to ``NOTIFY_URLS`` once (a repeat sends nothing; after a
failed send, a repeat tries the services that did not take it). ``--dry-run`` prints what would
be sent, to which services, and sends nothing.

The run's report folder is the run-complete step's (``reports/{spider}/{run}/{prompt id}/``,
``own-prompts/`` when a watch list gave competitors prompts of their own): ``--prompt`` names
it by prompt file or id (or ``own-prompts``); without it, the run's one report folder.

Exit codes (SPEC.md): 0 sent, already sent, or nothing to send (``NOTIFY_ON``); 1 the send
failed after its retries (the run's data is untouched); 2 bad usage or configuration (no such
run or report, ``NOTIFY_URLS`` unset or not understood)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING

from analyzer_lambda.config import Config
from analyzer_lambda.deps import resolve_notify_urls
from analyzer_lambda.exceptions import ConfigurationError, StoreError
from analyzer_lambda.notify.facts import NoReportError
from analyzer_lambda.notify.once import notify_run
from analyzer_lambda.notify.sender import check_urls, redact
from analyzer_lambda.report.source import resolve_prompt_id, s3_call
from analyzer_lambda.store import Store
from rivalscope_core.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from rivalscope_core.keys import OWN_PROMPTS, REPORTS_PREFIX, RunRef, parse_run_uri, report_prefix
from rivalscope_core.s3 import make_s3_client

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mypy_boto3_s3 import S3Client

    from analyzer_lambda.notify.once import NotifyOutcome

logger = logging.getLogger("analyzer_lambda.notify")


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m analyzer_lambda.notify",
        description="Send a complete run's digest to NOTIFY_URLS, once.",
    )
    parser.add_argument("run_uri", metavar="RUN_URI", help="s3://BUCKET/raw/SPIDER/TIME/")
    parser.add_argument(
        "--prompt", metavar="FILE_OR_ID", default=None,
        help=f"the prompt file or id of the run's report, or {OWN_PROMPTS} (default: the "
        "run's one report)",
    )  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="print, send nothing")
    parser.add_argument(
        "--link", metavar="URL", default=None,
        help="the report link in the message (default: a presigned URL, valid 7 days)",
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("analyzer_lambda").setLevel(logging.INFO)
    try:
        target = parse_run_uri(args.run_uri)
        if not isinstance(target, RunRef):
            raise UsageError(
                f"{args.run_uri} is a chunk: pass the run (s3://BUCKET/raw/SPIDER/TIME/)"
            )
        config = Config.from_env(os.environ)
        urls = resolve_notify_urls(config)
        if urls:
            check_urls(urls)
        elif not args.dry_run:
            raise ConfigurationError(
                "NOTIFY_URLS is not set (Apprise URLs, space- or comma-separated; in AWS "
                "NOTIFY_URLS_SECRET_ARN or NOTIFY_URLS_PARAMETER)"
            )
        s3 = make_s3_client()
        label = _label(s3, target, args.prompt)
        outcome = notify_run(Store(s3), target.bucket, report_prefix(target, label), target.time,
                             config, urls, link=args.link, dry_run=args.dry_run)  # fmt: skip
    except (UsageError, ConfigurationError, NoReportError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"error: {exc} (check AWS_ENDPOINT_URL and the credentials)", file=sys.stderr)
        return EXIT_USAGE
    return _show(outcome, urls)


def _label(s3: S3Client, run: RunRef, prompt: str | None) -> str:
    """The report folder's prompt part: ``--prompt``, else the run's one report folder."""
    if prompt == OWN_PROMPTS:
        return OWN_PROMPTS
    if prompt is not None:
        return resolve_prompt_id(s3, run, prompt)
    base = f"{REPORTS_PREFIX}{run.spider}/{run.time}/"
    listing = s3.get_paginator("list_objects_v2").paginate(
        Bucket=run.bucket, Prefix=base, Delimiter="/"
    )
    pages = s3_call(f"list s3://{run.bucket}/{base}", list, listing)
    folders = sorted(
        p["Prefix"][len(base) :].strip("/")
        for page in pages
        for p in page.get("CommonPrefixes", [])
    )
    if len(folders) != 1:
        found = ", ".join(folders) or "none"
        raise UsageError(
            f"{'several' if folders else 'no'} reports for {run.uri} (found: {found}): "
            "pass --prompt the prompt file or id (or own-prompts); the run-complete step "
            "writes the report once the run is complete"
        )
    return str(folders[0])


def _show(outcome: NotifyOutcome, urls: tuple[str, ...]) -> int:
    message = outcome.message
    if outcome.outcome == "dry_run" and message is not None:
        to = ", ".join(redact(url) for url in urls) or "nobody (NOTIFY_URLS is not set)"
        print(f"would send to {to}:")
        print(f"title: {message.title}")
        for path in message.attachments:
            print(f"attachment: {path.name}")
        print(message.body)
        return EXIT_OK
    if outcome.outcome == "sent" and outcome.result is not None and message is not None:
        print(f"notification sent to {outcome.result.sent} service(s): {message.title}")
        return EXIT_OK
    if outcome.outcome == "failed":
        print(f"error: notification not sent: {outcome.reason}", file=sys.stderr)
        return EXIT_FAILED
    said = {
        "already_sent": "already sent for this run: nothing sent",
        "claimed": "another process is sending this run's notification: nothing sent",
        "skipped": f"nothing sent: {outcome.reason}",
    }
    print(said.get(outcome.outcome, outcome.outcome))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
