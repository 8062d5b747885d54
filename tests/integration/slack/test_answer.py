"""A run started from Slack is answered in its channel when the run-complete step finishes it:
the real analyser handler (offline ``extract`` analyser) over moto's S3, posting through
``slack_sdk`` to the fake Slack Web API on loopback (``SLACK_API_URL``)."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.config import Config, SlackConfig
from analyzer_lambda.handler import lambda_handler
from analyzer_lambda.slack.answer import read_answer
from analyzer_lambda.slack.endpoint import SlackEndpoint
from analyzer_lambda.slack.messages import image_title
from analyzer_lambda.slack.store import ReplyTo, SlackStore
from analyzer_lambda.slack.wiring import build_command_app
from rivalscope_core.keys import RunRef, marker_key
from rivalscope_core.markers import ShardMarker
from tests.conftest import load_event
from tests.integration.analyzer.conftest import RUN_PREFIX, page, put_chunk, retarget
from tests.integration.slack.signing import SECRET, command_body, signed_headers
from tests.integration.slack.test_command_requests import RecordingStarter

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.servers.slack import SlackServer

pytestmark = pytest.mark.integration

RUN_ID = RUN_PREFIX.split("/")[2]
TOKEN = "xoxb-test-bot-token"
CHANNEL = "C0PRICING"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, slack_server: SlackServer) -> None:
    monkeypatch.setenv("ANALYZER", "extract")
    monkeypatch.delenv("ANALYSIS_PROMPT", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("ANALYZER_STOP_MARGIN", "0")
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_API_URL", slack_server.api_url)


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1280, 2400), colour).save(out, format="PNG")
    return out.getvalue()


def _crawl(s3: S3Client, bucket: str) -> dict[str, bytes]:
    """Two pages stored, analysed and marked as the crawl and the analyser do; returns each
    page's screenshot bytes by URL."""
    shots = {
        "https://a.example/pricing": _png((200, 30, 30)),
        "https://b.example/plans": _png((30, 30, 200)),
    }
    records = [
        page(
            "pricing.html",
            url=url,
            screenshot={
                "format": "png",
                "width": 1280,
                "height": 2400,
                "data": base64.b64encode(data).decode(),
            },
        )
        for url, data in shots.items()
    ]
    chunk = put_chunk(s3, bucket, records)
    assert lambda_handler(_s3_event(bucket, chunk), LocalContext(60))["complete"]
    ended = datetime.now(UTC) - timedelta(seconds=1)
    marker = ShardMarker(
        run=RUN_ID, spider="competitors", shard_index=0, shard_count=1, chunks=[chunk],
        pages=2, errors=0, started_at=(ended - timedelta(minutes=1)).isoformat(),
        ended_at=ended.isoformat(), exit_code=0, cpu_seconds=1.0, peak_memory_bytes=1,
        finish_reason="finished",
    )  # fmt: skip
    s3.put_object(Bucket=bucket, Key=_marker(bucket), Body=marker.to_json())
    return shots


def _marker(bucket: str) -> str:
    return marker_key(RunRef(bucket, "competitors", RUN_ID), 0, 1)


def _s3_event(bucket: str, key: str) -> dict[str, Any]:
    return retarget(load_event("s3_put.json"), bucket, key)  # type: ignore[no-any-return]


def _complete(bucket: str) -> dict[str, Any]:
    answer = lambda_handler(_s3_event(bucket, _marker(bucket)), LocalContext(120))
    [outcome] = answer["runs"]
    return outcome  # type: ignore[no-any-return]


def _reply(slack_server: SlackServer) -> ReplyTo:
    return ReplyTo(
        channel_id=CHANNEL,
        user_id="U1",
        team_id="T1",
        response_url=slack_server.response_url("late"),
        command="/rivalscope https://a.example/pricing https://b.example/plans pricing?",
    )


def test_from_the_command_to_one_message_per_page_with_its_screenshot(
    s3: S3Client, bucket: str, slack_server: SlackServer
) -> None:
    config = Config(pages_bucket=bucket, slack=SlackConfig(signing_secret=SECRET))
    endpoint = SlackEndpoint(build_command_app(config, RecordingStarter(run=RUN_ID), s3))
    body = command_body(
        "https://a.example/pricing https://b.example/plans pricing?",
        slack_server.response_url(),
        channel=CHANNEL,
    )
    assert endpoint.handle(body.encode(), signed_headers(body))[0] == 200
    slack_server.wait_for_responses(1)  # the run started and its reply record is stored

    shots = _crawl(s3, bucket)
    outcome = _complete(bucket)
    assert outcome["outcome"] == "done"

    posts = slack_server.calls("chat.postMessage")
    assert [p.params["channel"] for p in posts] == [CHANNEL] * 3  # the header, then each page
    assert {p.token for p in slack_server.calls()} == {TOKEN}
    header = posts[0].params
    assert "2 pages (2 done)" in header["text"]
    assert "|Full report>" in header["text"]
    assert "reports/competitors/" in header["text"]  # the presigned report.html
    pages = [p.params for p in posts[1:]]
    assert sorted(p["text"].split(": ", 1)[0] for p in pages) == sorted(shots)
    assert all(p["blocks"][0]["type"] == "header" for p in pages)

    # files_upload_v2: one URL asked for, one upload and one completion per page, in the channel
    asked = slack_server.calls("files.getUploadURLExternal")
    completed = slack_server.calls("files.completeUploadExternal")
    assert len(asked) == len(completed) == 2
    assert all(c.params["channel_id"] == CHANNEL for c in completed)
    assert not slack_server.calls("files.upload")  # the retired method
    titles = {json.loads(c.params["files"])[0]["title"] for c in completed}
    assert titles == {f"Screenshot of {url}" for url in shots}
    uploaded = set(slack_server.state.uploads.values())
    assert uploaded == set(shots.values())  # the captures' bytes, unchanged
    assert [int(a.params["length"]) for a in asked] == [len(d) for d in shots.values()]


def test_a_run_is_answered_once_however_often_completion_is_signalled(
    s3: S3Client, bucket: str, slack_server: SlackServer
) -> None:
    SlackStore(s3, bucket).put_reply(RunRef(bucket, "competitors", RUN_ID), _reply(slack_server))
    _crawl(s3, bucket)
    assert _complete(bucket)["outcome"] == "done"
    assert _complete(bucket)["outcome"] == "already_done"
    # even a step that ran again after the answer (its run.json lost) does not post twice
    from analyzer_lambda.slack.hook import SlackAnswerHook
    from analyzer_lambda.slack.wiring import web_client

    status = {"run": f"s3://{bucket}/{RUN_PREFIX}", "spider": "competitors", "run_id": RUN_ID}
    hook = SlackAnswerHook(s3, lambda: web_client(SlackConfig.from_env({})), max_pages=10)
    hook({**status, "report": "s3://x/reports/r/report.html"}, "https://report")
    assert len(slack_server.calls("chat.postMessage")) == 3


def test_a_run_that_did_not_come_from_slack_posts_nothing(
    s3: S3Client, bucket: str, slack_server: SlackServer
) -> None:
    _crawl(s3, bucket)
    assert _complete(bucket)["outcome"] == "done"
    assert slack_server.calls() == []


def test_a_bot_outside_the_channel_answers_through_the_commands_response_url(
    s3: S3Client, bucket: str, slack_server: SlackServer
) -> None:
    SlackStore(s3, bucket).put_reply(RunRef(bucket, "competitors", RUN_ID), _reply(slack_server))
    slack_server.state.fail["chat.postMessage"] = "not_in_channel"
    _crawl(s3, bucket)
    assert _complete(bucket)["outcome"] == "done"  # Slack's refusal does not fail the run
    assert len(slack_server.calls("chat.postMessage")) == 1  # no page is tried after that
    [(name, message)] = slack_server.wait_for_responses(1)
    assert name == "late"
    assert "could not post here (`not_in_channel`)" in message["text"]
    assert "`/invite @rivalscope`" in message["text"]
    assert "|Full report>" in message["text"]


def test_a_page_slack_refuses_costs_that_page_only(
    s3: S3Client, bucket: str, slack_server: SlackServer
) -> None:
    SlackStore(s3, bucket).put_reply(RunRef(bucket, "competitors", RUN_ID), _reply(slack_server))
    slack_server.state.fail["files.completeUploadExternal"] = "file_upload_failed"
    _crawl(s3, bucket)
    assert _complete(bucket)["outcome"] == "done"
    assert len(slack_server.calls("chat.postMessage")) == 3  # every page's analysis still
    assert len(slack_server.calls("files.completeUploadExternal")) == 2


def test_a_page_that_changed_is_shown_by_the_crop_of_its_change(
    s3: S3Client, bucket: str, slack_server: SlackServer
) -> None:
    """The report's ``changes/NAME-K.after.webp`` beside ``screenshots/NAME.EXT``
    (``analyzer_lambda.report.crops``): the topmost crop stands for the page."""
    _crawl(s3, bucket)
    status = _complete(bucket)
    prefix = status["report"].split(f"s3://{bucket}/", 1)[1].rsplit("/", 1)[0] + "/"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "screenshots/")["Contents"]
    shots = sorted(o["Key"] for o in listed if not o["Key"].endswith(".thumb.webp"))
    name = shots[0].rsplit("/", 1)[1].rsplit(".", 1)[0]  # items.0000000-1
    for k, data in ((2, b"lower crop"), (1, b"top crop")):
        s3.put_object(Bucket=bucket, Key=f"{prefix}changes/{name}-{k}.after.webp", Body=data)

    pages = read_answer(SlackStore(s3, bucket), status["report"])
    by_image = {page.image_key: page.image_is_crop for page in pages}
    assert by_image == {f"{prefix}changes/{name}-1.after.webp": True, shots[1]: False}
    [changed] = [page for page in pages if page.image_is_crop]
    assert image_title(changed).startswith("What changed on https://")
