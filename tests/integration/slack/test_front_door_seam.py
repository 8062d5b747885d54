"""The seam to the front door (``analyzer_lambda.frontdoor``, engineer "api"): its
``mount_slack`` calls ``make_handler(front_door)``, and a command's run starts through
``FrontDoor.start_run`` with Slack as the caller. The front door here is a small stand-in with
the same three members (``store.bucket``, ``config.max_urls``, ``start_run``) and the same error
(``ApiError``: ``status`` and a ``message`` for the user)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from analyzer_lambda.slack.http import FrontDoorStarter, SlackCaller, make_handler
from analyzer_lambda.slack.starter import RunRequestError
from tests.integration.slack.signing import SECRET, command_body, signed_headers

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from tests.servers.slack import SlackServer

pytestmark = pytest.mark.integration


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Store:
    bucket: str


@dataclass
class _Limits:
    max_urls: int = 2


@dataclass
class FrontDoor:
    store: _Store
    config: _Limits = field(default_factory=_Limits)
    error: ApiError | None = None
    calls: list[tuple[tuple[str, ...], str | None, Any]] = field(default_factory=list)

    def start_run(self, urls: Sequence[str], prompt: str | None, caller: Any) -> Mapping[str, Any]:
        self.calls.append((tuple(urls), prompt, caller))
        if self.error is not None:
            raise self.error
        return {"run": "2026-12-02T03-04-05", "status": "crawling"}


def test_a_run_starts_through_the_front_door_with_slack_as_the_caller() -> None:
    front = FrontDoor(_Store("b"))
    started = FrontDoorStarter(front).start_run(["https://a.example/"], None)
    assert started.run == "2026-12-02T03-04-05"
    assert front.calls == [(("https://a.example/",), None, SlackCaller("slack", "slack"))]


def test_the_front_doors_refusal_is_the_users_message_and_its_fault_stays_a_fault() -> None:
    refused = FrontDoor(_Store("b"), error=ApiError(400, "https://10.0.0.1/ is a private address"))
    with pytest.raises(RunRequestError, match="is a private address"):
        FrontDoorStarter(refused).start_run(["https://10.0.0.1/"], "p")
    failed = FrontDoor(_Store("b"), error=ApiError(502, "the crawl state machine did not start"))
    with pytest.raises(ApiError):
        FrontDoorStarter(failed).start_run(["https://a.example/"], "p")


def test_make_serve_mounts_the_command_with_the_front_doors_bucket_and_url_limit(
    monkeypatch: pytest.MonkeyPatch, bucket: str, slack_server: SlackServer
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    front = FrontDoor(_Store(bucket))
    handle = make_handler(front)
    assert handle is not None
    body = command_body("https://a.example pricing?", slack_server.response_url())
    status, _, answer = handle(body.encode(), signed_headers(body))
    assert (status, b"Crawling 1 page" in answer) == (200, True)
    slack_server.wait_for_responses(1)
    assert front.calls[0][:2] == (("https://a.example/",), "pricing?")
    three = command_body("https://a.example https://b.example https://c.example", "x")
    status, _, answer = handle(three.encode(), signed_headers(three))
    assert b"3 given, at most 2" in answer  # the front door's RIVALSCOPE_API_MAX_URLS


def test_nothing_is_mounted_inside_lambda_or_without_a_signing_secret(
    monkeypatch: pytest.MonkeyPatch, bucket: str
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "rivalscope-front-door")
    assert make_handler(FrontDoor(_Store(bucket))) is None
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    monkeypatch.delenv("SLACK_SIGNING_SECRET_ARN", raising=False)
    assert make_handler(FrontDoor(_Store(bucket))) is None
