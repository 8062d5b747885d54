"""The Lambda entry point: ``analyzer_lambda.handler.lambda_handler`` (the image's CMD), also
what ``python -m analyzer_lambda`` calls.

Powertools does the Lambda plumbing instead of hand-written equivalents: event data classes
(``events.py``), ``BatchProcessor`` for SQS partial batch failures, the JSON ``Logger``
(to stderr, so the local CLI's stdout carries only the return value), EMF ``Metrics`` and the
parameters utility for the Gemini key from Secrets Manager or SSM.

What each event returns:
- SQS: ``{"batchItemFailures": [...]}``; a message fails when one of its chunks is not complete
  (redelivered after the visibility timeout; after ``maxReceiveCount`` it lands in the DLQ);
- direct S3 and EventBridge (asynchronous invocations): a summary; an unfinished chunk raises
  ``ChunksIncompleteError`` instead, so Lambda's asynchronous retry delivers the event again;
- ``reanalyze`` (called synchronously, e.g. ``reanalyze --via lambda``): the summary, always;
  the caller reads ``complete`` and decides.

Clients and the analyser are built once per process on the first invocation (import stays
light: see ``bench/analyzer.py``) and rebuilt only if the configuration changes."""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import shutil
import sys
import threading
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from analyzer_lambda import events
from analyzer_lambda.config import (
    GEMINI_API_KEY_PARAMETER,
    GEMINI_API_KEY_SECRET_ARN,
    Config,
)
from analyzer_lambda.exceptions import ChunksIncompleteError, ConfigurationError
from analyzer_lambda.work import ChunkOutcome, Deadline, Deps, analyze_chunk

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_s3 import S3Client

    from analyzer_lambda.changes.reuser import Reuser
    from rivalscope_core.keys import ChunkRef

logger = Logger(service="rivalscope-analyzer", stream=sys.stderr)
# The package's module loggers (logging.getLogger(__name__)) print through the same JSON handler.
logging.getLogger("analyzer_lambda")
copy_config_to_registered_loggers(source_logger=logger, include={"analyzer_lambda"})
metrics = Metrics(namespace="rivalscope", service="analyzer")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

_WRITE_MARGIN = 2.0  # seconds kept after the deadline to write results and flush metrics
_deps_lock = threading.Lock()
_deps: tuple[Config, Deps] | None = None


def build_deps(config: Config) -> Deps:
    """The store, analyser and prompt resolver for ``config`` (reads the key from AWS when
    ``GEMINI_API_KEY`` is not set but a secret or parameter is)."""
    from analyzer_lambda.analyzers import load_analyzer
    from analyzer_lambda.prompts.resolver import PromptResolver
    from analyzer_lambda.store import Store

    name = config.analyzer_name
    if name == "gemini" and not config.gemini_api_key:
        config = config.replace(gemini_api_key=resolve_api_key(config))
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    s3 = _s3_client(endpoint)
    store = Store(s3)
    return Deps(
        config,
        store,
        load_analyzer(config, name),
        PromptResolver(store, config.analysis_prompt),
        reuse=_reuser(config, s3) if config.reuse and name == "gemini" else None,
    )


def _reuser(config: Config, s3: S3Client) -> Reuser:
    """Reuse compares what Gemini is sent (the reduced text, the screenshot's top); the offline
    analyser costs nothing to rerun. Noise rules: ``CHANGE_RULES`` and the date/time defaults."""
    from analyzer_lambda.analyzers.gemini.text import reduce_html
    from analyzer_lambda.changes.reuser import Reuser, load_rule_set
    from analyzer_lambda.changes.rules import ChangeRulesError

    try:
        rule_set = load_rule_set(config.change_rules, s3, config.pages_bucket)
    except ChangeRulesError as exc:
        raise ConfigurationError(str(exc)) from exc
    budget = config.text_tokens
    return Reuser(s3, rule_set, lambda page: reduce_html(page.body, budget).text)


@functools.cache
def _s3_client(endpoint: str | None) -> S3Client:
    """One client per process (creating one costs 0.3-2 s of CPU); ``endpoint`` only keys the
    cache: botocore reads ``AWS_ENDPOINT_URL(_S3)`` itself."""
    import boto3
    from botocore.config import Config as BotocoreConfig

    # Pages run on several threads (and reanalyze runs chunks side by side): more connections
    # than botocore's 10, and its "standard" retries for S3's 503 SlowDown.
    settings = BotocoreConfig(max_pool_connections=64, retries={"mode": "standard"})
    return boto3.client("s3", config=settings)


def resolve_api_key(config: Config) -> str | None:
    """The Gemini key from Secrets Manager (a plain string, or JSON with ``GEMINI_API_KEY``) or
    an SSM SecureString; cached by Powertools for an hour across warm invocations."""
    from aws_lambda_powertools.utilities import parameters

    try:
        if config.gemini_api_key_secret_arn:
            source = GEMINI_API_KEY_SECRET_ARN
            value = str(parameters.get_secret(config.gemini_api_key_secret_arn, max_age=3600))
            if value.lstrip().startswith("{"):
                import json

                value = str(json.loads(value).get("GEMINI_API_KEY") or "")
        elif config.gemini_api_key_parameter:
            source = GEMINI_API_KEY_PARAMETER
            value = str(
                parameters.get_parameter(
                    config.gemini_api_key_parameter, decrypt=True, max_age=3600
                )
            )
        else:
            return None
    except (parameters.exceptions.GetParameterError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the Gemini key from {source}: {exc}") from exc
    if not value.strip():
        raise ConfigurationError(f"the Gemini key read from {source} is empty")
    return value.strip()


def current_deps() -> Deps:
    global _deps
    config = Config.from_env(os.environ)
    with _deps_lock:
        if _deps is None or _deps[0] != config:
            _deps = (config, build_deps(config))
        return _deps[1]


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="Invocations", unit=MetricUnit.Count, value=1)
    kind = events.event_kind(event)
    deps = current_deps()
    _clean_work_dir(deps.config)
    deadline = Deadline.after(context.get_remaining_time_in_millis() / 1000 - _WRITE_MARGIN)
    if kind == "sqs":
        return _handle_sqs(event, context, deps, deadline)
    if kind == "reanalyze":
        request = events.reanalyze_request(event)
        if request.fresh:
            deps = dataclasses.replace(deps, reuse=None)
        return _summary(_analyze(request.chunks, deps, deadline, request.prompt, request.model))
    chunks = (
        events.chunks_from_s3_notification(event)
        if kind == "s3"
        else events.chunks_from_eventbridge(event)
    )
    summary = _summary(_analyze(chunks, deps, deadline))
    if not summary["complete"]:
        raise ChunksIncompleteError(summary)
    return summary


def _handle_sqs(
    event: dict[str, Any], context: LambdaContext, deps: Deps, deadline: Deadline
) -> dict[str, Any]:
    def record_handler(record: SQSRecord) -> dict[str, Any]:
        chunks = events.chunks_from_sqs_body(record.body)
        if not chunks:
            logger.info("message %s: nothing to analyse (test event?)", record.message_id)
        summary = _summary(_analyze(chunks, deps, deadline))
        if not summary["complete"]:
            raise ChunksIncompleteError(summary)
        return summary

    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)


def _analyze(
    chunks: tuple[ChunkRef, ...] | list[ChunkRef],
    deps: Deps,
    deadline: Deadline,
    prompt: str | None = None,
    model: str | None = None,
) -> list[ChunkOutcome]:
    outcomes = []
    for chunk in chunks:
        outcome = analyze_chunk(
            chunk, deps, deadline, prompt_override=prompt, model_override=model
        )
        logger.info("chunk analysed", extra=outcome.to_dict())
        for name, value in (
            ("PagesAnalysed", outcome.done),
            ("PagesFailed", outcome.failed),
            ("PagesSkipped", outcome.skipped),
            ("PagesPending", outcome.pending),
            ("ChunksIncomplete", 0 if outcome.complete else 1),
        ):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        metrics.add_metric(
            name="InputTokens", unit=MetricUnit.Count, value=outcome.usage.input_tokens
        )
        metrics.add_metric(
            name="OutputTokens", unit=MetricUnit.Count, value=outcome.usage.output_tokens
        )
        outcomes.append(outcome)
    return outcomes


def _summary(outcomes: list[ChunkOutcome]) -> dict[str, Any]:
    return {
        "chunks": [outcome.to_dict() for outcome in outcomes],
        **{
            name: sum(getattr(outcome, name) for outcome in outcomes)
            for name in ("done", "failed", "skipped", "pending")
        },
        "complete": all(outcome.complete for outcome in outcomes),
        "usage": {
            "input_tokens": sum(o.usage.input_tokens for o in outcomes),
            "output_tokens": sum(o.usage.output_tokens for o in outcomes),
        },
    }


def _clean_work_dir(config: Config) -> None:
    """A warm start may find what a crashed or timed-out earlier invocation left in /tmp (one
    invocation at a time runs in a sandbox, so all of it is stale)."""
    if config.work_dir.exists():
        shutil.rmtree(config.work_dir, ignore_errors=True)
