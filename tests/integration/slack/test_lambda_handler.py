"""The Slack command's Lambda entry point with function URL events (payload format 2.0) as
Lambda builds them: the answer within the first invocation, Bolt's lazy listener as a second,
asynchronous invocation (recorded by a loopback Lambda Invoke endpoint and handed back to the
handler, as Lambda would), and the guards: a replay, a request claiming to be the lazy pass, a
path that is not the command's, an unconfigured signing secret."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pytest
from slack_bolt.adapter.aws_lambda import SlackRequestHandler

from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.config import Config, SlackConfig
from analyzer_lambda.slack import handler
from analyzer_lambda.slack.wiring import build_command_app
from tests.integration.slack.signing import SECRET, command_body, signed_headers
from tests.integration.slack.test_command_requests import RUN, RecordingStarter
from tests.servers.lambda_invoke import LambdaInvokeServer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_s3 import S3Client

    from tests.servers.slack import SlackServer

pytestmark = pytest.mark.integration


@pytest.fixture
def invoke_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaInvokeServer]:
    server = LambdaInvokeServer().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.endpoint)  # botocore's own variable
    yield server
    server.stop()


@pytest.fixture
def starter(
    monkeypatch: pytest.MonkeyPatch, bucket: str, s3: S3Client, invoke_server: LambdaInvokeServer
) -> RecordingStarter:
    """The handler as the container builds it, with the recording starter (the front door's
    starter is the api engineer's)."""
    recording = RecordingStarter()
    config = Config(pages_bucket=bucket, slack=SlackConfig(signing_secret=SECRET))
    app = build_command_app(config, recording, s3)
    monkeypatch.setattr(handler, "_handler", SlackRequestHandler(app))
    return recording


def _context() -> Any:
    """The Lambda context's parts Bolt reads (the function's name and ARN)."""
    return LocalContext(30)


def _url_event(body: str, headers: dict[str, str], *, path: str = "/slack/commands",
               base64_body: bool = False) -> dict[str, Any]:  # fmt: skip
    """A function URL event as Lambda sends it: lower-case headers, the body as received."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {k.lower(): v for k, v in headers.items()} | {"host": "abc.lambda-url.on.aws"},
        "requestContext": {
            "accountId": "anonymous",
            "domainName": "abc.lambda-url.eu-west-1.on.aws",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "Slackbot 1.0",
            },
            "requestId": "c0ffee",
            "timeEpoch": 1764640000000,
        },
        "body": base64.b64encode(body.encode()).decode() if base64_body else body,
        "isBase64Encoded": base64_body,
    }


@pytest.mark.parametrize("base64_body", [False, True])
def test_the_answer_comes_first_and_the_run_starts_in_the_lazy_invocation(
    starter: RecordingStarter,
    invoke_server: LambdaInvokeServer,
    slack_server: SlackServer,
    base64_body: bool,
) -> None:
    body = command_body("https://a.example pricing?", slack_server.response_url())
    context = _context()
    answer = handler.lambda_handler(
        _url_event(body, signed_headers(body), base64_body=base64_body), context
    )
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["text"].startswith("Crawling 1 page…")
    assert starter.calls == []  # nothing slow before the answer

    [lazy] = invoke_server.invocations
    assert lazy.invocation_type == "Event"
    assert lazy.function == context.invoked_function_arn
    assert lazy.event["method"] == "NONE"
    assert lazy.event["headers"]["x-slack-bolt-lazy-only"] == "1"
    handler.lambda_handler(lazy.event, context)  # what Lambda does with the invocation
    assert starter.calls == [(("https://a.example/",), "pricing?")]
    [(_, started)] = slack_server.wait_for_responses(1)
    assert started["text"].startswith(f"Run `{RUN}` started.")


def test_over_http_no_one_can_pass_for_the_lazy_invocation(
    starter: RecordingStarter, invoke_server: LambdaInvokeServer, slack_server: SlackServer
) -> None:
    body = command_body("https://a.example pricing?", slack_server.response_url())
    headers = signed_headers(body)
    context = _context()
    assert handler.lambda_handler(_url_event(body, headers), context)["statusCode"] == 200
    spoofed = {
        **headers,
        "X-Slack-Bolt-Lazy-Only": "1",
        "X-Slack-Bolt-Lazy-Function-Name": "start",
    }
    answer = handler.lambda_handler(_url_event(body, spoofed), context)
    assert answer["statusCode"] == 401  # a replay, whatever it claims to be
    assert handler.lambda_handler(_url_event(body, headers), context)["statusCode"] == 401
    assert starter.calls == []
    assert len(invoke_server.invocations) == 1


def test_other_paths_are_not_found(starter: RecordingStarter, slack_server: SlackServer) -> None:
    body = command_body("https://a.example", slack_server.response_url())
    event = _url_event(body, signed_headers(body), path="/admin")
    assert handler.lambda_handler(event, _context())["statusCode"] == 404


def test_without_a_signing_secret_every_request_is_refused_and_the_log_says_why(
    monkeypatch: pytest.MonkeyPatch,
    bucket: str,
    slack_server: SlackServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(handler, "_handler", None)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    monkeypatch.delenv("SLACK_SIGNING_SECRET_ARN", raising=False)
    body = command_body("https://a.example", slack_server.response_url())
    answer = handler.lambda_handler(_url_event(body, signed_headers(body)), _context())
    assert answer["statusCode"] == 503
    assert "set SLACK_SIGNING_SECRET" in caplog.text


def test_without_a_way_to_start_runs_the_function_refuses_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
    bucket: str,
    slack_server: SlackServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(handler, "_handler", None)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.delenv("CRAWL_STATE_MACHINE_ARN", raising=False)
    body = command_body("https://a.example", slack_server.response_url())
    answer = handler.lambda_handler(_url_event(body, signed_headers(body)), _context())
    assert answer["statusCode"] == 503
    assert "the Slack command is not configured" in caplog.text
