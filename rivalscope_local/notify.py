"""``make run``'s notification: sent at the end, when ``NOTIFY_URLS`` is set, by the same code
as in AWS (``analyzer_lambda.notify``: once per run, retried, a failure reported), but with the
local report's ``file://`` link and the facts of the report command's output directory
(``out/<run>/``: its ``changes.jsonl``, digest and crops).

The in-process run-complete step must then not send it with a presigned link to the embedded
endpoint, which dies with ``make run``: ``hold_settings`` takes the notification settings out
of the environment the handler reads, before anything starts, and checks them (a bad URL or
``NOTIFY_ON`` is a usage error before any browser starts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer_lambda.config import (
    NOTIFY_URLS,
    NOTIFY_URLS_PARAMETER,
    NOTIFY_URLS_SECRET_ARN,
    Config,
)
from analyzer_lambda.deps import resolve_notify_urls
from analyzer_lambda.notify.facts import LocalFolder
from analyzer_lambda.notify.once import notify_run
from analyzer_lambda.notify.sender import check_urls
from analyzer_lambda.store import Store
from rivalscope_core.exit_codes import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from collections.abc import Mapping, MutableMapping
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from rivalscope_core.keys import RunRef


def checked_settings(environ: Mapping[str, str]) -> tuple[Config, tuple[str, ...]]:
    """(the notification settings, the URLs); ConfigurationError when they are wrong, so a
    command stops at its start rather than after a run (``make run``, ``make serve``)."""
    config = Config.from_env(environ)
    urls = resolve_notify_urls(config) if config.notifies else ()
    if urls:
        check_urls(urls)
    return config, urls


def hold_settings(environ: MutableMapping[str, str]) -> tuple[Config, tuple[str, ...]]:
    """``checked_settings``, then taken out of ``environ`` (module docstring)."""
    config, urls = checked_settings(environ)
    for name in (NOTIFY_URLS, NOTIFY_URLS_SECRET_ARN, NOTIFY_URLS_PARAMETER):
        environ.pop(name, None)
    return config, urls


def notify(
    s3: S3Client,
    run: RunRef,
    folder: str,
    report_dir: Path,
    config: Config,
    urls: tuple[str, ...],
) -> tuple[list[str], int]:
    """(lines to show, exit code) of sending the run's notification."""
    if not urls:
        return [], EXIT_OK
    outcome = notify_run(Store(s3), run.bucket, folder, run.time, config, urls,
                         link=(report_dir / "report.html").resolve().as_uri(),
                         facts_from=LocalFolder(report_dir))  # fmt: skip
    if outcome.outcome == "sent" and outcome.result is not None:
        return [f"notification sent to {outcome.result.sent} service(s)"], EXIT_OK
    if outcome.outcome == "failed":
        later = f"python -m analyzer_lambda.notify {run.uri}"
        return [
            f"notification not sent: {outcome.reason}",
            f"the run's data and report are kept; `{later}` sends it later (local endpoint)",
        ], EXIT_FAILED
    reason = f": {outcome.reason}" if outcome.reason else ""
    return [f"notification: {outcome.outcome.replace('_', ' ')}{reason}"], EXIT_OK
