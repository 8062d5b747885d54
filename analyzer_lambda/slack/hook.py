"""The run-complete hook that answers a Slack command: called by the run-complete step
(``analyzer_lambda.runs.complete``) once the run's report is stored, for every run; it acts
only on a run that has a reply record (it came from Slack).

At most once per run: the hook claims ``slack/posted.json`` (a conditional write) before it
posts, so a run-complete step that is retried after the hook ran does not post the pages
twice. A fault here (Slack down, the token unreadable) is logged, never raised: the run is
complete whatever Slack says, and its report link stays in ``run.json``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from analyzer_lambda.exceptions import AnalyzerLambdaError
from analyzer_lambda.slack.answer import read_answer
from analyzer_lambda.slack.poster import post_answer
from analyzer_lambda.slack.store import SlackStore
from rivalscope_core.keys import RunRef, parse_s3_uri

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_s3 import S3Client
    from slack_sdk import WebClient

logger = logging.getLogger(__name__)


class SlackAnswerHook:
    def __init__(self, s3: S3Client, client: Callable[[], WebClient], *, max_pages: int) -> None:
        self._s3 = s3
        self._client = client  # built on the first answer: most runs never need the token
        self._max_pages = max_pages

    def __call__(self, status: dict[str, Any], report_url: str) -> None:
        run = RunRef(parse_s3_uri(status["run"]).bucket, status["spider"], status["run_id"])
        store = SlackStore(self._s3, run.bucket)
        try:
            reply = store.reply_of(run)
            if reply is None:
                return
            if not store.claim_post(run):
                logger.info("run %s: its Slack answer was posted already", run.uri)
                return
            pages = read_answer(store, status["report"])
            outcome = post_answer(
                self._client(), store, reply, pages, report_url, max_pages=self._max_pages
            )
        except (AnalyzerLambdaError, ValueError, OSError) as exc:
            logger.error("run %s: not answered in Slack: %s", run.uri, exc)
            return
        logger.info(
            "run %s answered in Slack channel %s: %d message(s), %d image(s), %d page(s) failed%s",
            run.uri,
            reply.channel_id,
            outcome.messages,
            outcome.images,
            len(outcome.failed),
            f", fell back to response_url ({outcome.fallback})" if outcome.fallback else "",
        )
