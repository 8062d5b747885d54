"""A Slack command through the real front door (``analyzer_lambda.frontdoor``: validation, the
private-address guard, the request record and ad-hoc prompt in S3, its launcher), mounted as
``make serve`` mounts it (``mount_slack``), against moto's S3 and the fake Slack server.

The front door is another branch of issue #15 (engineer "api"): until both are merged this
module is skipped, then it runs (checked against that branch in a scratch merge)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from rivalscope_core.keys import RunRef, slack_reply_key
from tests.integration.slack.signing import SECRET, command_body, signed_headers

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.servers.slack import SlackServer

pytestmark = pytest.mark.integration

_app: Any = pytest.importorskip("analyzer_lambda.frontdoor.app", reason="the front door (#15 api)")
_http: Any = pytest.importorskip("analyzer_lambda.frontdoor.http")
_fixtures: Any = pytest.importorskip("tests.integration.frontdoor.conftest")
mount_slack, Request, make_front = _app.mount_slack, _http.Request, _fixtures.make_front


@pytest.fixture(autouse=True)
def _slack_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)


def _post(front: Any, body: str) -> tuple[int, dict[str, object]]:
    headers = {k.lower(): v for k, v in signed_headers(body).items()}
    request = Request("POST", "/slack/commands", headers=headers, body=body.encode())
    answer = front.handle(request)
    return answer.status, json.loads(answer.body)


def test_a_command_starts_a_run_as_post_runs_does_and_keeps_where_to_answer(
    s3: S3Client, bucket: str, slack_server: SlackServer
) -> None:
    client = make_front(bucket)
    front = mount_slack(client.front)
    body = command_body("https://a.example/pricing what changed?", slack_server.response_url())
    status, answer = _post(front, body)
    assert status == 200
    assert str(answer["text"]).startswith("Crawling 1 page…")
    [(_, started)] = slack_server.wait_for_responses(1)

    [launch] = client.launcher.launches
    assert started["text"].startswith(f"Run `{launch.run}` started.")
    assert launch.prompt.startswith("adhoc-")  # the prompt text, stored like any prompt
    record = client.front.store.read_record(launch.run)
    assert record is not None
    assert (record["caller"], record["urls"]) == ("slack", ["https://a.example/pricing"])
    key = slack_reply_key(RunRef(bucket, "competitors", launch.run))
    assert json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())["channel_id"] == (
        "C0PRICING"
    )


def test_the_front_doors_guard_refuses_a_private_address_in_the_channel(
    bucket: str, slack_server: SlackServer
) -> None:
    client = make_front(bucket)
    front = mount_slack(client.front)
    body = command_body("http://10.0.0.1/admin what is this?", slack_server.response_url())
    assert _post(front, body)[0] == 200
    [(_, refused)] = slack_server.wait_for_responses(1)
    assert refused["response_type"] == "in_channel"
    assert refused["text"].startswith("The run was not started: ")
    assert "10.0.0.1" in refused["text"]
    assert client.launcher.launches == []
