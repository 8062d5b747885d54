"""Building the Slack side from the configuration: the command's app (given a run starter by
its server: the Lambda handler, ``make serve``) and the run-complete hook that posts a finished
run. The only place that reads the Slack secrets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer_lambda.config import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET
from analyzer_lambda.exceptions import ConfigurationError
from analyzer_lambda.slack.secrets import resolve_secret

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from slack_bolt import App
    from slack_sdk import WebClient

    from analyzer_lambda.config import Config, SlackConfig
    from analyzer_lambda.slack.hook import SlackAnswerHook
    from analyzer_lambda.slack.starter import RunStarter

WEB_API_TIMEOUT = 30  # seconds per Web API call; an upload of a tall screenshot included


def build_command_app(
    config: Config, starter: RunStarter, s3: S3Client, *, max_urls: int = 20
) -> App:
    from analyzer_lambda.slack.app import build_app
    from analyzer_lambda.slack.store import SlackStore

    if not config.pages_bucket:
        raise ConfigurationError("set PAGES_BUCKET: the Slack command keeps its state there")
    secret = signing_secret(config.slack)
    return build_app(
        signing_secret=secret,
        starter=starter,
        store=SlackStore(s3, config.pages_bucket),
        max_urls=max_urls,
    )


def signing_secret(config: SlackConfig) -> str:
    return resolve_secret(config.signing_secret, config.signing_secret_arn, SLACK_SIGNING_SECRET)


def web_client(config: SlackConfig) -> WebClient:
    """The bot's Web API client at ``SLACK_API_URL``: retries connection errors, honours
    ``Retry-After`` on 429 (``chat.postMessage`` allows about one message a second per
    channel) and retries Slack's 5xx twice."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )

    token = resolve_secret(config.bot_token, config.bot_token_secret_arn, SLACK_BOT_TOKEN)
    return WebClient(
        token=token,
        base_url=config.api_url,
        timeout=WEB_API_TIMEOUT,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def answer_hook(config: SlackConfig, s3: S3Client) -> SlackAnswerHook:
    from analyzer_lambda.slack.hook import SlackAnswerHook

    return SlackAnswerHook(s3, lambda: web_client(config), max_pages=config.max_pages)
