"""The analyser's composition root: the one place that builds its S3 client, store, analyser
and prompt resolver, and reads the Gemini key from AWS. The Lambda adapter (``handler.py``),
re-analysis (``reanalyze --via local``), the local stack and the benchmark all build what they
need here; none of them reaches its dependencies through ``handler.py``.

Nothing is built at import: the handler module stays cheap to import (``python -m
bench.analyzer`` measures it), and what the environment says is read when ``current_deps`` is
first called, not when a module happens to be imported."""

from __future__ import annotations

import functools
import os
import threading
from typing import TYPE_CHECKING, Any

from analyzer_lambda.config import GEMINI_API_KEY, NOTIFY_URLS, Config, split_notify_urls
from analyzer_lambda.exceptions import ConfigurationError
from analyzer_lambda.secrets import read_secret
from analyzer_lambda.work import Deps
from rivalscope_core.s3 import make_s3_client

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

    from analyzer_lambda.changes.reuser import Reuser
    from analyzer_lambda.store import Store

_lock = threading.Lock()
_current: tuple[Config, Deps] | None = None


def build_store() -> Store:
    """The store over the process's one S3 client."""
    from analyzer_lambda.store import Store

    return Store(shared_s3_client())


def shared_s3_client() -> S3Client:
    """The process's one S3 client (the store's): the run-complete step writes the run's
    report with it through the report package, which takes a client."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return _shared_s3_client(endpoint)


@functools.cache
def sqs_client(region: str) -> SQSClient:
    """The process's SQS client of ``region`` (the queue's): a paused run report shortens its
    message's visibility."""
    import boto3

    return boto3.client("sqs", region_name=region)


def build_deps(config: Config) -> Deps:
    """The store, analyser and prompt resolver for ``config`` (reads the key from AWS when
    ``GEMINI_API_KEY`` is not set but a secret or parameter is)."""
    from analyzer_lambda.analyzers import load_analyzer
    from analyzer_lambda.prompts.resolver import PromptResolver

    name = config.analyzer_name
    if name == "gemini" and not config.gemini_api_key:
        config = config.replace(gemini_api_key=resolve_api_key(config))
    store = build_store()
    return Deps(
        config,
        store,
        load_analyzer(config, name),
        PromptResolver(store, config.analysis_prompt),
        reuse=_reuser(config, name) if config.reuse else None,
        run_complete_hooks=_run_complete_hooks(config),
    )


def _run_complete_hooks(config: Config) -> tuple[Callable[[dict[str, Any], str], None], ...]:
    """What runs once per complete run besides its report: the Slack answer of a run started
    from Slack, when a bot token (or its secret) is configured."""
    hooks: list[Callable[[dict[str, Any], str], None]] = []
    if config.slack.posts_answers:
        from analyzer_lambda.slack.wiring import answer_hook

        hooks.append(answer_hook(config.slack, shared_s3_client()))
    return tuple(hooks)


def _reuser(config: Config, analyzer_name: str) -> Reuser:
    """Reuse compares what Gemini is sent (the reduced text, the screenshot's top). The offline
    analyser costs nothing to rerun, but rerun on a page whose noise rotates (an ignored promo)
    it answers a new ``word_count`` for a page the diff calls unchanged, so it reuses too, judged
    by its own facts without the ignored elements. Noise rules: ``CHANGE_RULES``, the watch
    list's, and the date/time defaults."""
    from analyzer_lambda.analyzers.extract import same_facts_under_rules
    from analyzer_lambda.analyzers.gemini.text import reduce_html
    from analyzer_lambda.changes.reuser import Reuser, load_rule_set
    from analyzer_lambda.changes.rules import ChangeRulesError

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    s3 = _shared_s3_client(endpoint)
    try:
        rule_set = load_rule_set(config.change_rules, s3, config.pages_bucket)
    except ChangeRulesError as exc:
        raise ConfigurationError(str(exc)) from exc
    budget = config.text_tokens
    same_input = same_facts_under_rules if analyzer_name == "extract" else None
    return Reuser(s3, rule_set, lambda page: reduce_html(page.body, budget).text, same_input)


def current_deps() -> Deps:
    """The dependencies for the environment as it is now: built on the first call, rebuilt only
    when the configuration changed (a warm Lambda keeps them across invocations)."""
    global _current
    config = Config.from_env(os.environ)
    with _lock:
        if _current is None or _current[0] != config:
            _current = (config, build_deps(config))
        return _current[1]


@functools.cache
def _shared_s3_client(endpoint: str | None) -> S3Client:
    """One client per process (each build costs 0.13-0.18 s of CPU: ``rivalscope_core.s3``);
    ``endpoint`` only keys the cache: botocore reads ``AWS_ENDPOINT_URL(_S3)`` itself."""
    return make_s3_client()


def resolve_api_key(config: Config) -> str | None:
    """The Gemini key from Secrets Manager or an SSM SecureString (``analyzer_lambda.secrets``),
    cached for an hour across warm invocations; None when neither is named."""
    return read_secret(
        GEMINI_API_KEY,
        secret_arn=config.gemini_api_key_secret_arn,
        parameter=config.gemini_api_key_parameter,
        max_age=3600,
        what="the Gemini key",
    )


def resolve_notify_urls(config: Config) -> tuple[str, ...]:
    """``NOTIFY_URLS``, else the URLs read from Secrets Manager or an SSM SecureString: they
    carry tokens, so the template names them by reference only."""
    if config.notify_urls:
        return config.notify_urls
    value = read_secret(
        NOTIFY_URLS,
        secret_arn=config.notify_urls_secret_arn,
        parameter=config.notify_urls_parameter,
        max_age=3600,
        what="the notification URLs",
    )
    if value is None:
        return ()
    urls = split_notify_urls(value)
    if not urls:
        raise ConfigurationError(f"no notification URL in what {NOTIFY_URLS}_* names")
    return urls
