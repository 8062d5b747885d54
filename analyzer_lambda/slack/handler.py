"""The Slack command's Lambda entry point (``analyzer_lambda.slack.handler.lambda_handler``,
the analyser image with another ``Command``; infra/template.yaml, ``SlackFunction``), behind a
function URL whose auth type is NONE: Slack cannot sign with SigV4, it signs with the app's
signing secret, which ``app.py`` checks on every request before anything else happens.

Bolt's AWS adapter runs the lazy listener by invoking this function again asynchronously with
the same request and the header ``x-slack-bolt-lazy-only``, and marks that event with a
top-level ``"method": "NONE"``, which no function URL event has. A request arriving over HTTP
has any lazy header removed here: a replayed request cannot pass itself off as our own second
invocation and skip the replay guard."""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from slack_bolt.adapter.aws_lambda import SlackRequestHandler

from analyzer_lambda.config import Config
from analyzer_lambda.deps import shared_s3_client
from analyzer_lambda.exceptions import ConfigurationError
from analyzer_lambda.slack.endpoint import LAZY_HEADERS, PATH

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from analyzer_lambda.slack.starter import RunStarter

logger = Logger(service="rivalscope-slack", stream=sys.stderr)
# the package's module loggers (Bolt's included) print through the same JSON handler
logging.getLogger("analyzer_lambda")
copy_config_to_registered_loggers(source_logger=logger, include={"analyzer_lambda"})
_lock = threading.Lock()
_handler: SlackRequestHandler | None = None


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("method") != "NONE":  # over HTTP, not our own lazy invocation
        headers = event.get("headers") or {}
        event = {
            **event,
            "headers": {k: v for k, v in headers.items() if k.lower() not in LAZY_HEADERS},
        }
        if event.get("rawPath", PATH) not in {PATH, "/"}:
            return {"statusCode": 404, "headers": {}, "body": "Not Found"}
    try:
        handler = _current()
    except ConfigurationError as exc:  # e.g. the signing secret not set yet: refuse, loudly
        logger.error("the Slack command is not configured: %s", exc)
        return {"statusCode": 503, "headers": {}, "body": "the Slack command is not configured"}
    answer: dict[str, Any] = handler.handle(event, context)  # type: ignore[no-untyped-call]
    return answer


def _current() -> SlackRequestHandler:
    """Built on the first request of a container (the signing secret is read then)."""
    global _handler
    with _lock:
        if _handler is None:
            from analyzer_lambda.slack.wiring import build_command_app, signing_secret

            config = Config.from_env(os.environ)
            signing_secret(config.slack)  # a missing secret is the first thing to say
            app = build_command_app(config, _starter(config), shared_s3_client())
            _handler = SlackRequestHandler(app)
        return _handler


def _starter(config: Config) -> RunStarter:
    """The HTTP API's own way of starting a run (``analyzer_lambda.frontdoor``: validation,
    the private-address guard, the crawl state machine), built from the environment."""
    from analyzer_lambda.slack.http import lambda_starter

    del config  # the front door reads its own settings (analyzer_lambda.frontdoor.config)
    return lambda_starter()
