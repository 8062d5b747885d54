"""Every setting of the analyser, read once from the environment into a frozen, validated
``Config`` (Powertools' habit: the variable names live in this one module; an explicit argument
beats the environment, which beats the default). A bad value raises ``ConfigurationError``
naming the variable. ``AWS_ENDPOINT_URL(_S3)`` and ``GOOGLE_GEMINI_BASE_URL`` are left to
botocore and google-genai, which read them themselves."""

from __future__ import annotations

import dataclasses
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer_lambda.batches.limits import DEFAULT_MAX_REQUESTS, INLINE_MAX_BYTES, Limits
from analyzer_lambda.exceptions import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Mapping

PAGES_BUCKET = "PAGES_BUCKET"
ANALYZER = "ANALYZER"
GEMINI_API_KEY = "GEMINI_API_KEY"
GEMINI_API_KEY_SECRET_ARN = "GEMINI_API_KEY_SECRET_ARN"  # noqa: S105 - a variable name
GEMINI_API_KEY_PARAMETER = "GEMINI_API_KEY_PARAMETER"  # SSM SecureString name (AWS)
GEMINI_MODEL = "GEMINI_MODEL"
GEMINI_TIMEOUT = "GEMINI_TIMEOUT"  # seconds per attempt
GEMINI_MAX_ATTEMPTS = "GEMINI_MAX_ATTEMPTS"  # for 429/5xx/timeouts
GEMINI_RETRY_BASE_DELAY = "GEMINI_RETRY_BASE_DELAY"  # seconds; doubled each retry, jittered
GEMINI_MAX_OUTPUT_TOKENS = "GEMINI_MAX_OUTPUT_TOKENS"
ANALYSIS_PROMPT = "ANALYSIS_PROMPT"
ANALYZER_CONCURRENCY = "ANALYZER_CONCURRENCY"
ANALYZER_TEXT_TOKENS = "ANALYZER_TEXT_TOKENS"  # token budget of the page text
ANALYZER_SCREENSHOT_MAX_SIDE = "ANALYZER_SCREENSHOT_MAX_SIDE"
ANALYZER_STOP_MARGIN = "ANALYZER_STOP_MARGIN"  # no page starts with less time left (seconds)
ANALYZER_LOCAL_TIMEOUT = "ANALYZER_LOCAL_TIMEOUT"  # the CLI's stand-in for the Lambda timeout
ANALYZER_WORK_DIR = "ANALYZER_WORK_DIR"
CLAIM_TTL = "CLAIM_TTL"  # seconds after which another invocation takes over a claim
# seconds after the first shard marker of a run before the run-complete step stops waiting
RUN_COMPLETE_TIMEOUT = "RUN_COMPLETE_TIMEOUT"
# seconds of the invocation kept back by the run's report (written part by part): no part starts
# unless this much plus the longest part so far is left; the assembly needs this much left
RUN_REPORT_RESERVE = "RUN_REPORT_RESERVE"
# seconds before a paused run report's SQS message is seen again (ChangeMessageVisibility)
RUN_REPORT_REQUEUE_DELAY = "RUN_REPORT_REQUEUE_DELAY"
ANALYZER_REUSE = "ANALYZER_REUSE"  # false: ask the model even for pages that did not change
CHANGE_RULES = "CHANGE_RULES"  # noise rules of the change diffs: file, s3:// URI or NAME
DIGEST_LANGUAGE = "DIGEST_LANGUAGE"  # BCP 47 tag of digest.md (SPEC.md: en default, ja)
# reanalyze --via batch: above this many bytes a submission goes as an uploaded JSONL file
GEMINI_BATCH_INLINE_MAX_BYTES = "GEMINI_BATCH_INLINE_MAX_BYTES"
GEMINI_BATCH_MAX_REQUESTS = "GEMINI_BATCH_MAX_REQUESTS"  # pages per batch job, at most
# The cost ledger (analyzer_lambda/cost/): a JSON file overriding the built-in price table, and
# what the template deploys, so that measured seconds are priced at the right size: the crawl
# task's CPU units and MiB (infra/template.yaml passes the task definition's own values) and the
# CPU architecture of the task and of the analyser function.
PRICES_FILE = "RIVALSCOPE_PRICES_FILE"
CRAWL_TASK_CPU = "CRAWL_TASK_CPU"  # ECS CPU units: 1024 = 1 vCPU
CRAWL_TASK_MEMORY = "CRAWL_TASK_MEMORY"  # MiB
CRAWL_TASK_ARCHITECTURE = "CRAWL_TASK_ARCHITECTURE"
ANALYZER_ARCHITECTURE = "ANALYZER_ARCHITECTURE"
# set by the Lambda runtime itself: the handler is running inside AWS Lambda
LAMBDA_FUNCTION_NAME = "AWS_LAMBDA_FUNCTION_NAME"

# The Slack command (analyzer_lambda/slack/). In AWS the two secrets come from Secrets Manager
# by reference: the command's function reads only the signing secret, the analyser (which posts
# a finished run) only the bot token.
SLACK_SIGNING_SECRET = "SLACK_SIGNING_SECRET"  # noqa: S105 - a variable name
SLACK_SIGNING_SECRET_ARN = "SLACK_SIGNING_SECRET_ARN"  # noqa: S105 - a variable name
SLACK_BOT_TOKEN = "SLACK_BOT_TOKEN"  # noqa: S105 - a variable name
SLACK_BOT_TOKEN_SECRET_ARN = "SLACK_BOT_TOKEN_SECRET_ARN"  # noqa: S105 - a variable name
SLACK_API_URL = "SLACK_API_URL"  # an alternate Web API base URL (proxies, tests)
SLACK_MAX_PAGES = "SLACK_MAX_PAGES"  # pages of a finished run posted into the channel
# Notifications (SPEC.md "Digest and notifications"): Apprise URLs carry tokens, so in AWS they
# come from Secrets Manager or SSM, named by reference only
NOTIFY_URLS = "NOTIFY_URLS"  # space- or comma-separated Apprise URLs
NOTIFY_URLS_SECRET_ARN = "NOTIFY_URLS_SECRET_ARN"  # noqa: S105 - a variable name
NOTIFY_URLS_PARAMETER = "NOTIFY_URLS_PARAMETER"  # SSM SecureString name (AWS)
NOTIFY_ON = "NOTIFY_ON"  # changes (default), always, never
NOTIFY_MAX_ATTEMPTS = "NOTIFY_MAX_ATTEMPTS"  # per service, for a failed send
NOTIFY_RETRY_DELAY = "NOTIFY_RETRY_DELAY"  # seconds before the first retry; doubled each time
NOTIFY_ON_CHOICES = ("changes", "always", "never")

DEFAULT_MODEL = "gemini-2.5-flash"
# A well-formed BCP 47 tag (language, then subtags): ``en``, ``ja``, ``en-GB``, ``zh-Hant-TW``.
_BCP47 = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class SlackConfig:
    """The Slack command's settings; secrets are never shown in a repr."""

    signing_secret: str | None = dataclasses.field(default=None, repr=False)
    signing_secret_arn: str | None = None
    bot_token: str | None = dataclasses.field(default=None, repr=False)
    bot_token_secret_arn: str | None = None
    api_url: str = DEFAULT_SLACK_API_URL
    max_pages: int = 10

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SlackConfig:
        api_url = _text(environ, SLACK_API_URL) or DEFAULT_SLACK_API_URL
        if not api_url.startswith(("https://", "http://")):
            raise ConfigurationError(f"{SLACK_API_URL}={api_url!r} must be an http(s) URL")
        return cls(
            signing_secret=_text(environ, SLACK_SIGNING_SECRET),
            signing_secret_arn=_text(environ, SLACK_SIGNING_SECRET_ARN),
            bot_token=_text(environ, SLACK_BOT_TOKEN),
            bot_token_secret_arn=_text(environ, SLACK_BOT_TOKEN_SECRET_ARN),
            # slack_sdk joins method names to it: it must end with a slash
            api_url=api_url.rstrip("/") + "/",
            max_pages=int(_number(environ, SLACK_MAX_PAGES, 10, minimum=1)),
        )

    @property
    def posts_answers(self) -> bool:
        """A bot token is set, or a place to read it from: finished runs are posted."""
        return bool(self.bot_token or self.bot_token_secret_arn)


@dataclass(frozen=True)
class Config:
    pages_bucket: str | None = None
    analyzer: str | None = None
    gemini_api_key: str | None = dataclasses.field(default=None, repr=False)
    gemini_api_key_secret_arn: str | None = None
    gemini_api_key_parameter: str | None = None
    gemini_model: str = DEFAULT_MODEL
    gemini_timeout: float = 60.0
    gemini_max_attempts: int = 4
    gemini_retry_base_delay: float = 1.0
    gemini_max_output_tokens: int = 4096
    analysis_prompt: str | None = None
    concurrency: int = 4
    text_tokens: int = 8000
    screenshot_max_side: int = 1536
    stop_margin: float = 30.0
    local_timeout: float = 900.0
    work_dir: Path = dataclasses.field(
        default_factory=lambda: Path(tempfile.gettempdir()) / "rivalscope-analyzer"
    )
    claim_ttl: float = 900.0
    run_complete_timeout: float = 21600.0
    run_report_reserve: float = 30.0
    run_report_requeue_delay: int = 5
    reuse: bool = True
    change_rules: str | None = None
    digest_language: str = "en"
    slack: SlackConfig = dataclasses.field(default_factory=SlackConfig)
    gemini_batch_inline_max_bytes: int = INLINE_MAX_BYTES
    gemini_batch_max_requests: int = DEFAULT_MAX_REQUESTS
    prices_file: str | None = None
    crawl_task_cpu: int = 1024
    crawl_task_memory: int = 3072
    crawl_task_architecture: str = "x86_64"
    analyzer_architecture: str = "x86_64"
    in_lambda: bool = False
    notify_urls: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    notify_urls_secret_arn: str | None = None
    notify_urls_parameter: str | None = None
    notify_on: str = "changes"
    notify_max_attempts: int = 3
    notify_retry_delay: float = 2.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **explicit: Any) -> Config:
        """Build from ``environ``; keyword arguments (CLI flags) win over it."""
        values: dict[str, Any] = {
            "pages_bucket": _text(environ, PAGES_BUCKET),
            "analyzer": _text(environ, ANALYZER),
            "gemini_api_key": _text(environ, GEMINI_API_KEY),
            "gemini_api_key_secret_arn": _text(environ, GEMINI_API_KEY_SECRET_ARN),
            "gemini_api_key_parameter": _text(environ, GEMINI_API_KEY_PARAMETER),
            "gemini_model": _text(environ, GEMINI_MODEL) or DEFAULT_MODEL,
            "gemini_timeout": _number(environ, GEMINI_TIMEOUT, 60.0, minimum=0.1),
            "gemini_max_attempts": int(_number(environ, GEMINI_MAX_ATTEMPTS, 4, minimum=1)),
            "gemini_retry_base_delay": _number(environ, GEMINI_RETRY_BASE_DELAY, 1.0, minimum=0),
            "gemini_max_output_tokens": int(
                _number(environ, GEMINI_MAX_OUTPUT_TOKENS, 4096, minimum=16)
            ),
            "analysis_prompt": _text(environ, ANALYSIS_PROMPT),
            "concurrency": int(_number(environ, ANALYZER_CONCURRENCY, 4, minimum=1)),
            "text_tokens": int(_number(environ, ANALYZER_TEXT_TOKENS, 8000, minimum=100)),
            "screenshot_max_side": int(
                _number(environ, ANALYZER_SCREENSHOT_MAX_SIDE, 1536, minimum=64)
            ),
            "stop_margin": _number(environ, ANALYZER_STOP_MARGIN, 30.0, minimum=0),
            "local_timeout": _number(environ, ANALYZER_LOCAL_TIMEOUT, 900.0, minimum=1),
            "claim_ttl": _number(environ, CLAIM_TTL, 900.0, minimum=1),
            "run_complete_timeout": _number(environ, RUN_COMPLETE_TIMEOUT, 21600.0, minimum=0),
            "run_report_reserve": _number(environ, RUN_REPORT_RESERVE, 30.0, minimum=0),
            "run_report_requeue_delay": int(
                _number(environ, RUN_REPORT_REQUEUE_DELAY, 5, minimum=0)
            ),
            "reuse": _flag(environ, ANALYZER_REUSE, default=True),
            "change_rules": _text(environ, CHANGE_RULES),
            "digest_language": _language(environ, DIGEST_LANGUAGE),
            "slack": SlackConfig.from_env(environ),
            "gemini_batch_inline_max_bytes": int(
                _number(environ, GEMINI_BATCH_INLINE_MAX_BYTES, INLINE_MAX_BYTES, minimum=0)
            ),
            "gemini_batch_max_requests": int(
                _number(environ, GEMINI_BATCH_MAX_REQUESTS, DEFAULT_MAX_REQUESTS, minimum=1)
            ),
            "prices_file": _text(environ, PRICES_FILE),
            "crawl_task_cpu": int(_number(environ, CRAWL_TASK_CPU, 1024, minimum=256)),
            "crawl_task_memory": int(_number(environ, CRAWL_TASK_MEMORY, 3072, minimum=512)),
            "crawl_task_architecture": _architecture(environ, CRAWL_TASK_ARCHITECTURE),
            "analyzer_architecture": _architecture(environ, ANALYZER_ARCHITECTURE),
            "in_lambda": _text(environ, LAMBDA_FUNCTION_NAME) is not None,
            "notify_urls": split_notify_urls(_text(environ, NOTIFY_URLS) or ""),
            "notify_urls_secret_arn": _text(environ, NOTIFY_URLS_SECRET_ARN),
            "notify_urls_parameter": _text(environ, NOTIFY_URLS_PARAMETER),
            "notify_on": _choice(environ, NOTIFY_ON, NOTIFY_ON_CHOICES),
            "notify_max_attempts": int(_number(environ, NOTIFY_MAX_ATTEMPTS, 3, minimum=1)),
            "notify_retry_delay": _number(environ, NOTIFY_RETRY_DELAY, 2.0, minimum=0),
        }
        if work_dir := _text(environ, ANALYZER_WORK_DIR):
            values["work_dir"] = Path(work_dir)
        values.update({k: v for k, v in explicit.items() if v is not None})
        return cls(**values)

    @property
    def has_key_source(self) -> bool:
        """A key is set, or a place to read it from in AWS is."""
        return bool(
            self.gemini_api_key or self.gemini_api_key_secret_arn or self.gemini_api_key_parameter
        )

    @property
    def analyzer_name(self) -> str:
        """``ANALYZER``, else ``gemini`` when a key can be had. With neither, there is no silent
        fallback to the offline analyser: that would write answers nobody asked for."""
        if self.analyzer:
            return self.analyzer
        if self.has_key_source:
            return "gemini"
        raise ConfigurationError(
            f"no analyser configured: set {GEMINI_API_KEY} (in AWS: {GEMINI_API_KEY_SECRET_ARN} "
            f"or {GEMINI_API_KEY_PARAMETER}) to use Gemini, or {ANALYZER}=extract for the "
            "offline analyser"
        )

    @property
    def batch_limits(self) -> Limits:
        """The Batch API's limits, the inline size and requests per job as configured (the
        inline size can only be lowered: 20 MB is Google's)."""
        inline = min(self.gemini_batch_inline_max_bytes, INLINE_MAX_BYTES)
        return Limits(inline_max_bytes=inline, max_requests=self.gemini_batch_max_requests)

    @property
    def notifies(self) -> bool:
        """Notification URLs are set, or a place to read them from in AWS is."""
        return bool(self.notify_urls or self.notify_urls_secret_arn or self.notify_urls_parameter)

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


def _text(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def split_notify_urls(text: str) -> tuple[str, ...]:
    """Apprise URLs, space-, comma- or line-separated (a secret may hold one a line). A comma
    separates two URLs only before a ``scheme://``, as Apprise reads such lists: one inside a
    URL (``mailto://…?to=a@x.example,b@x.example``, ``slack://…/#one,#two``) stays."""
    urls = []
    for token in text.split():
        urls += [url for url in _URL_COMMA.split(token.strip(",")) if url]
    return tuple(urls)


_URL_COMMA = re.compile(r",+(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = (_text(environ, name) or choices[0]).lower()
    if raw not in choices:
        raise ConfigurationError(f"{name}={raw!r} must be one of {', '.join(choices)}")
    return raw


def _number(environ: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = _text(environ, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise ConfigurationError(f"{name}={raw!r} must be at least {minimum:g}")
    return value


def _language(environ: Mapping[str, str], name: str) -> str:
    """A BCP 47 tag; a malformed one (``english``, ``en_US``) is a configuration error rather
    than a digest in a language nobody asked for. Whether a well-formed tag is one the offline
    digest speaks is ``digest.language``'s business: Gemini writes any language."""
    raw = _text(environ, name)
    if raw is None:
        return "en"
    if not _BCP47.match(raw):
        hint = f" (did you mean {raw.replace('_', '-')!r}?)" if "_" in raw else ""
        raise ConfigurationError(
            f"{name}={raw!r} is not a BCP 47 language tag such as 'en' or 'ja'{hint}"
        )
    return raw


def _architecture(environ: Mapping[str, str], name: str) -> str:
    """``x86_64`` (the default, what the template deploys) or ``arm64``, in AWS's spelling;
    ECS's ``X86_64``/``ARM64`` are accepted too."""
    raw = (_text(environ, name) or "x86_64").lower()
    if raw not in {"x86_64", "arm64"}:
        raise ConfigurationError(f"{name}={raw!r} must be x86_64 or arm64")
    return raw


def _flag(environ: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = _text(environ, name)
    if raw is None:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name}={raw!r} must be true or false")
