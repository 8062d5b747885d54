"""``POST /slack/commands`` (the function ``make serve`` mounts) with requests built and signed
exactly as Slack builds them, against moto's S3 (the replay guard's conditional writes, the
reply record) and the fake Slack server (the command's ``response_url``).

The run starter is the front door's (issue #15, engineer "api"); here it is a recording one:
what the command hands it is what this module owns."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from analyzer_lambda.config import Config, SlackConfig
from analyzer_lambda.slack.endpoint import SlackEndpoint
from analyzer_lambda.slack.starter import RunRequestError, StartedRun
from analyzer_lambda.slack.wiring import build_command_app
from rivalscope_core.keys import RunRef, slack_reply_key
from tests.integration.slack.signing import SECRET, command_body, signed_headers

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mypy_boto3_s3 import S3Client

    from tests.servers.slack import SlackServer

pytestmark = pytest.mark.integration

RUN = "2026-12-02T01-02-03"


@dataclass
class RecordingStarter:
    refuse: str | None = None
    fail: bool = False
    run: str = RUN
    calls: list[tuple[tuple[str, ...], str | None]] = field(default_factory=list)

    def start_run(self, urls: Sequence[str], prompt: str | None) -> StartedRun:
        self.calls.append((tuple(urls), prompt))
        if self.refuse:
            raise RunRequestError(self.refuse)
        if self.fail:
            raise RuntimeError("state machine unreachable")
        return StartedRun(self.run, status_url=f"http://127.0.0.1:8765/runs/{self.run}")


@pytest.fixture
def starter() -> RecordingStarter:
    return RecordingStarter()


@pytest.fixture
def endpoint(bucket: str, s3: S3Client, starter: RecordingStarter) -> SlackEndpoint:
    config = Config(pages_bucket=bucket, slack=SlackConfig(signing_secret=SECRET))
    return SlackEndpoint(build_command_app(config, starter, s3))


def _post(
    endpoint: SlackEndpoint, body: str, headers: dict[str, str]
) -> tuple[int, dict[str, object]]:
    status, _, answer = endpoint.handle(body.encode(), headers)
    return status, json.loads(answer) if answer.startswith(b"{") else {"raw": answer.decode()}


def test_a_signed_command_is_acknowledged_then_starts_the_run_and_keeps_where_to_answer(
    endpoint: SlackEndpoint,
    starter: RecordingStarter,
    slack_server: SlackServer,
    s3: S3Client,
    bucket: str,
) -> None:
    body = command_body(
        "https://a.example https://b.example what changed in their pricing?",
        slack_server.response_url(),
    )
    status, answer = _post(endpoint, body, signed_headers(body))

    assert status == 200
    assert answer["response_type"] == "in_channel"
    assert str(answer["text"]).startswith("Crawling 2 pages…")
    [(_, started)] = slack_server.wait_for_responses(1)
    assert started["response_type"] == "ephemeral"
    assert started["text"].startswith(f"Run `{RUN}` started.")
    assert starter.calls == [
        (("https://a.example/", "https://b.example/"), "what changed in their pricing?")
    ]
    key = slack_reply_key(RunRef(bucket, "competitors", RUN))
    reply = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert reply["channel_id"] == "C0PRICING"
    assert reply["user_id"] == "U2147483697"
    assert reply["response_url"] == slack_server.response_url()
    assert reply["command"].startswith("/rivalscope https://a.example https://b.example what")


def test_a_wrong_signature_is_refused_and_starts_nothing(
    endpoint: SlackEndpoint, starter: RecordingStarter, slack_server: SlackServer
) -> None:
    body = command_body("https://a.example", slack_server.response_url())
    status, _ = _post(endpoint, body, signed_headers(body, secret="not-the-signing-secret"))
    assert status == 401
    tampered = body.replace("a.example", "evil.example")
    status, _ = _post(endpoint, tampered, signed_headers(body))
    assert status == 401
    unsigned = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _ = _post(endpoint, body, unsigned)
    assert status == 401
    assert starter.calls == []


def test_a_timestamp_outside_the_five_minute_window_is_refused(
    endpoint: SlackEndpoint, starter: RecordingStarter, slack_server: SlackServer
) -> None:
    body = command_body("https://a.example", slack_server.response_url())
    stale = signed_headers(body, timestamp=int(time.time()) - 5 * 60 - 30)
    assert _post(endpoint, body, stale)[0] == 401
    future = signed_headers(body, timestamp=int(time.time()) + 5 * 60 + 30)
    assert _post(endpoint, body, future)[0] == 401
    assert starter.calls == []


def test_a_replayed_request_is_refused_even_claiming_to_be_a_lazy_pass(
    endpoint: SlackEndpoint, starter: RecordingStarter, slack_server: SlackServer
) -> None:
    body = command_body("https://a.example pricing?", slack_server.response_url())
    headers = signed_headers(body)
    assert _post(endpoint, body, headers)[0] == 200
    slack_server.wait_for_responses(1)

    status, answer = _post(endpoint, body, headers)
    assert (status, answer) == (401, {"error": "replayed request"})
    lazy = {**headers, "X-Slack-Bolt-Lazy-Only": "1", "X-Slack-Bolt-Lazy-Function-Name": "start"}
    assert _post(endpoint, body, lazy)[0] == 401
    assert len(starter.calls) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "No URL given"),
        ("what changed in their pricing?", "No URL given"),
        ("acme.example/pricing pricing?", "is not a full address: write `https://acme.example"),
        ("https://a.example ftp://b.example/x", "Bad URL `ftp://b.example/x`"),
    ],
)
def test_a_command_without_a_usable_url_gets_an_ephemeral_answer_saying_why(
    endpoint: SlackEndpoint,
    starter: RecordingStarter,
    slack_server: SlackServer,
    text: str,
    expected: str,
) -> None:
    body = command_body(text, slack_server.response_url())
    status, answer = _post(endpoint, body, signed_headers(body))
    assert status == 200
    assert answer["response_type"] == "ephemeral"
    assert expected in str(answer["text"])
    assert "Usage: `/rivalscope URL [URL...] [prompt text]`" in str(answer["text"])
    assert starter.calls == []


def test_a_refused_or_failed_start_is_told_to_the_channel(
    bucket: str, s3: S3Client, slack_server: SlackServer
) -> None:
    config = Config(pages_bucket=bucket, slack=SlackConfig(signing_secret=SECRET))
    refusing = RecordingStarter(refuse="https://10.0.0.1/ is a private address")
    failing = RecordingStarter(fail=True)
    for number, starter in enumerate((refusing, failing)):
        endpoint = SlackEndpoint(build_command_app(config, starter, s3))
        body = command_body(f"https://a.example/{number}", slack_server.response_url())
        assert _post(endpoint, body, signed_headers(body))[0] == 200
    answers = [message for _, message in slack_server.wait_for_responses(2)]
    assert {a["response_type"] for a in answers} == {"in_channel"}
    texts = sorted(a["text"] for a in answers)
    assert (
        texts[0]
        == "The run could not be started: rivalscope failed (its logs say why). Try again later."
    )
    assert texts[1] == "The run was not started: https://10.0.0.1/ is a private address"


def test_the_replay_guard_fails_closed_when_its_storage_is_unreachable(
    s3: S3Client, starter: RecordingStarter, slack_server: SlackServer
) -> None:
    config = Config(pages_bucket="no-such-bucket-here", slack=SlackConfig(signing_secret=SECRET))
    endpoint = SlackEndpoint(build_command_app(config, starter, s3))
    body = command_body("https://a.example", slack_server.response_url())
    assert _post(endpoint, body, signed_headers(body))[0] == 503
    assert starter.calls == []
