"""The run's report written part by part across invocations (issue #13), against moto over
HTTP: a run whose report needs several invocations (a tiny time budget) ends with the same
files as one written in one go, one notification, however many duplicate marker events arrive
at once; an invocation killed mid-way, or S3 failing in the middle of a part, costs nothing."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config as BotoConfig
from PIL import Image, ImageDraw

from analyzer_lambda import events
from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.config import Config
from analyzer_lambda.deps import build_deps
from analyzer_lambda.exceptions import RunReportUnfinishedError, StoreError
from analyzer_lambda.handler import lambda_handler
from analyzer_lambda.prompts.parser import default_prompt
from analyzer_lambda.runs.complete import complete_run
from analyzer_lambda.work import Deadline
from rivalscope_core.exit_codes import UsageError
from rivalscope_core.keys import RunRef, marker_key
from rivalscope_core.markers import ShardMarker
from tests.integration.analyzer.conftest import gzip_lines, page
from tests.integration.analyzer.test_run_complete import _s3_event, _sqs_event
from tests.servers.tcp_proxy import TcpProxy

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.servers.moto import MotoServer
    from tests.servers.webhook import WebhookServer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("offline_run_complete")]

ROOT = Path(__file__).resolve().parents[3]
BEFORE, RUN = "2026-11-16T22-19-03", "2026-11-23T22-19-03"
CHUNKS, PER_CHUNK = 3, 2
PREFIX = f"reports/competitors/{RUN}/{default_prompt().prompt_id}/"


def _shot(price: int) -> dict[str, Any]:
    """A screenshot whose price box is drawn at a place of its own: a changed area to crop."""
    import base64

    image = Image.new("RGB", (800, 1200), (250, 250, 250))
    ImageDraw.Draw(image).rectangle((40, 100 + price % 7 * 100, 400, 180 + price % 7 * 100),
                                    fill=(200, 30, 30))  # fmt: skip
    out = io.BytesIO()
    image.save(out, format="PNG")
    data = base64.b64encode(out.getvalue()).decode()
    return {"format": "png", "width": 800, "height": 1200, "data": data}


def _store_run(s3: S3Client, bucket: str, run: str, edition: int) -> list[str]:
    """``CHUNKS`` chunks of ``PER_CHUNK`` pages, analysed; the second run changes the price
    (text and screenshot) of every other page."""
    html = (ROOT / "tests/data/pages/pricing.html").read_text("utf-8")
    keys = []
    for c in range(CHUNKS):
        records = []
        for n in range(PER_CHUNK):
            price = 10 + c * PER_CHUNK + n + (edition if n % 2 == 0 else 0)
            body = html.replace("</body>", f"<p>Now only ${price} a month.</p></body>")
            crawled = f"{run[:10]}T22:19:04Z"
            url = f"https://site{c}.example/p{n}"
            records.append(page(url=url, body=body, screenshot=_shot(price), crawled_at=crawled))
        key = f"raw/competitors/{run}/items.{c:07d}.shard1of1.jl.gz"
        s3.put_object(
            Bucket=bucket, Key=key, Body=gzip_lines([json.dumps(r).encode() for r in records])
        )
        assert lambda_handler(_s3_event(bucket, key), LocalContext(120))["complete"]
        keys.append(key)
    return keys


def _mark(s3: S3Client, bucket: str, run: str, chunks: list[str]) -> str:
    marker = ShardMarker(
        run=run, spider="competitors", shard_index=0, shard_count=1, chunks=chunks,
        pages=len(chunks) * PER_CHUNK, errors=0, started_at="2026-11-23T22:19:03+00:00",
        ended_at="2026-11-23T22:29:03+00:00", exit_code=0, cpu_seconds=3.5,
        peak_memory_bytes=400_000_000, finish_reason="finished",
    )  # fmt: skip
    key = marker_key(RunRef(bucket, "competitors", run), 0, 1)
    s3.put_object(Bucket=bucket, Key=key, Body=marker.to_json())
    return key


@pytest.fixture
def stored(s3: S3Client, bucket: str) -> str:
    """Two runs, the second's marker written: its key."""
    _store_run(s3, bucket, BEFORE, 0)
    return _mark(s3, bucket, RUN, _store_run(s3, bucket, RUN, 5))


def _report_files(s3: S3Client, bucket: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=PREFIX).get("Contents", [])
    files = {}
    for obj in listed:
        name = obj["Key"].removeprefix(PREFIX)
        if name in ("run.json", "run.claim", "notification.json") or name.endswith(".claim"):
            continue
        body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        if name.endswith((".html", ".json")):  # what differs from one rendering to the next:
            body = re.sub(rb"\?[^\"' <>]*Signature[^\"' <>]*", b"?SIGNED", body)  # presigned
            body = re.sub(rb"http://127\.0\.0\.1:\d+/", b"ENDPOINT/", body)  # by a proxy
            body = re.sub(rb"nonce(-|=\")[A-Za-z0-9_-]{16,}", b"NONCE", body)  # CSP nonces
            body = re.sub(
                rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?( UTC|Z|\+00:00)?", b"TIME", body
            )
        files[name] = body
    return files


def _one_shot(s3: S3Client, bucket: str, marker: str) -> dict[str, bytes]:
    """The report written in one invocation; then everything under ``reports/`` is removed,
    so that the run can be completed again."""
    answer = lambda_handler(_s3_event(bucket, marker), LocalContext(900))
    assert answer["runs"][0]["outcome"] == "done"
    files = _report_files(s3, bucket)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="reports/").get("Contents", [])
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": o["Key"]} for o in listed]})
    return files


def _parts(s3: S3Client, bucket: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{PREFIX}_parts/").get("Contents", [])
    return [o["Key"] for o in listed]


def test_a_report_written_over_several_invocations_is_the_one_shot_report(
    s3: S3Client, bucket: str, stored: str, webhook: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    expected = _one_shot(s3, bucket, stored)
    assert "changes.jsonl" in expected
    assert "digest.md" in expected
    assert any(name.startswith("changes/") for name in expected), "no crop: nothing compared"
    assert len(webhook.received) == 1

    monkeypatch.setenv("RUN_REPORT_RESERVE", "1000")  # every invocation: one step, then stop
    calls, paused = 0, []
    while True:
        calls += 1
        try:
            answer = lambda_handler(_s3_event(bucket, stored), LocalContext(60))
        except RunReportUnfinishedError as exc:
            paused.append((exc.status["parts_done"], exc.status["parts"]))
            continue
        break
    assert paused == [(1, 3), (2, 3), (3, 3)]  # three parts, then the assembly
    assert calls == 4
    assert answer["runs"][0]["outcome"] == "done"
    assert _report_files(s3, bucket) == expected
    assert _parts(s3, bucket) == []  # removed once run.json says done
    assert len(webhook.received) == 2  # the one-shot's, and this run's one


def test_concurrent_duplicate_marker_events_of_a_paused_report_send_one_message(
    s3: S3Client, bucket: str, stored: str, webhook: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    expected = _one_shot(s3, bucket, stored)
    webhook.reset()
    monkeypatch.setenv("RUN_REPORT_RESERVE", "1000")
    config = Config.from_env(os.environ)
    deliveries = 6
    barrier = threading.Barrier(deliveries)

    def deliver(_: int) -> list[str]:
        """One event's life: redelivered while unfinished, dropped once claimed or done."""
        [ref] = events.markers_of(events.objects_from_s3_notification(_s3_event(bucket, stored)))
        deps = build_deps(config)  # each its own, as separate Lambda sandboxes
        barrier.wait()
        outcomes = []
        while True:
            try:
                outcome = complete_run(ref, deps, s3, deadline=Deadline.after(1)).outcome
            except RunReportUnfinishedError:
                outcomes.append("unfinished")
                continue
            return [*outcomes, outcome]

    with ThreadPoolExecutor(deliveries) as pool:
        lives = list(pool.map(deliver, range(deliveries)))
    finals = [life[-1] for life in lives]
    assert finals.count("done") == 1, lives
    assert set(finals) <= {"done", "claimed", "already_done"}, lives
    assert len(webhook.received) == 1
    assert _report_files(s3, bucket) == expected


def test_an_invocation_killed_mid_way_is_resumed_without_loss_or_duplicate(
    s3: S3Client, bucket: str, stored: str, webhook: WebhookServer,
    moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("CLAIM_TTL", "1")  # the claims' bodies say their TTL: one for all
    expected = _one_shot(s3, bucket, stored)
    webhook.reset()
    event = tmp_path / "event.json"
    event.write_text(json.dumps(_s3_event(bucket, stored)))
    # a sandbox of its own, slowed so that it is caught between two parts
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CLAIM_TTL": "1",
           "AWS_ENDPOINT_URL": _slow_endpoint(moto_server)}  # fmt: skip
    proc = subprocess.Popen(  # our own interpreter and module
        [sys.executable, "-m", "analyzer_lambda", f"@{event}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while not _parts(s3, bucket):
            assert proc.poll() is None, "finished before it could be killed"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    written = len(_parts(s3, bucket))
    assert 1 <= written < CHUNKS
    assert webhook.received == []

    time.sleep(2.5)  # the dead holder's claim has expired: the next delivery takes over
    answer = lambda_handler(_s3_event(bucket, stored), LocalContext(60))
    assert answer["runs"][0]["outcome"] == "done"
    assert _report_files(s3, bucket) == expected
    assert len(webhook.received) == 1


_PROXIES: list[TcpProxy] = []


def _slow_endpoint(moto_server: MotoServer) -> str:
    target = urlsplit(moto_server.endpoint)
    proxy = TcpProxy(str(target.hostname), int(target.port or 80)).start()
    proxy.latency = 0.05
    _PROXIES.append(proxy)
    return proxy.endpoint


def test_s3_failing_in_the_middle_of_a_part_costs_nothing(
    s3: S3Client, bucket: str, stored: str, webhook: WebhookServer,
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    expected = _one_shot(s3, bucket, stored)
    webhook.reset()
    target = urlsplit(moto_server.endpoint)
    proxy = TcpProxy(str(target.hostname), int(target.port or 80)).start()
    try:
        flaky = boto3.client(
            "s3", endpoint_url=proxy.endpoint, region_name="us-east-1",
            config=BotoConfig(retries={"max_attempts": 2, "mode": "standard"}),
        )  # fmt: skip
        monkeypatch.setenv("RUN_REPORT_RESERVE", "1000")
        [ref] = events.markers_of(events.objects_from_s3_notification(_s3_event(bucket, stored)))
        deps = build_deps(Config.from_env(os.environ))
        with pytest.raises(RunReportUnfinishedError):
            complete_run(ref, deps, flaky, deadline=Deadline.after(1))  # part 1 of 3
        proxy.lose_answers = 50  # the next part's uploads land, their answers are lost
        with pytest.raises(
            (UsageError, StoreError), match=r"cannot (upload|write|read|list)"
        ) as failed:
            complete_run(ref, deps, flaky, deadline=Deadline.after(1))
        assert proxy.answers_lost > 0, failed.value
        assert len(_parts(s3, bucket)) == 1  # the failed part is not stored
        proxy.lose_answers = 0
        outcomes: list[str] = []
        while not outcomes or outcomes[-1] != "done":
            try:
                outcomes.append(complete_run(ref, deps, flaky, deadline=Deadline.after(1)).outcome)
            except RunReportUnfinishedError:
                outcomes.append("unfinished")
        assert outcomes == ["unfinished", "unfinished", "done"]
    finally:
        proxy.stop()
    assert _report_files(s3, bucket) == expected
    assert len(webhook.received) == 1


@pytest.fixture(autouse=True)
def _stop_proxies() -> Any:
    yield
    while _PROXIES:
        _PROXIES.pop().stop()


def test_a_paused_reports_sqs_message_comes_back_in_seconds_not_the_visibility_timeout(
    s3: S3Client, bucket: str, stored: str, webhook: WebhookServer,
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sqs = boto3.client("sqs", endpoint_url=moto_server.endpoint, region_name="us-east-1")
    queue = sqs.create_queue(QueueName=f"runs-{bucket}", Attributes={"VisibilityTimeout": "1800"})
    arn = sqs.get_queue_attributes(QueueUrl=queue["QueueUrl"], AttributeNames=["QueueArn"])
    body = _sqs_event(bucket, stored)["Records"][0]["body"]
    sqs.send_message(QueueUrl=queue["QueueUrl"], MessageBody=body)
    monkeypatch.setenv("RUN_REPORT_RESERVE", "1000")
    monkeypatch.setenv("RUN_REPORT_REQUEUE_DELAY", "1")

    def deliver() -> dict[str, Any]:
        """What the event source mapping does: receive, invoke, delete what succeeded."""
        [message] = sqs.receive_message(QueueUrl=queue["QueueUrl"], WaitTimeSeconds=10,
                                        AttributeNames=["All"])["Messages"]  # fmt: skip
        event = {"Records": [{
            "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"], "attributes": message["Attributes"],
            "messageAttributes": {}, "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs", "eventSourceARN": arn["Attributes"]["QueueArn"],
            "awsRegion": "us-east-1",
        }]}  # fmt: skip
        answer: dict[str, Any] = lambda_handler(event, LocalContext(60))
        if not answer["batchItemFailures"]:
            sqs.delete_message(QueueUrl=queue["QueueUrl"], ReceiptHandle=message["ReceiptHandle"])
        return answer

    started = time.monotonic()
    answers = [deliver() for _ in range(CHUNKS + 1)]  # three parts, then the assembly
    assert [bool(a["batchItemFailures"]) for a in answers] == [True, True, True, False]
    assert time.monotonic() - started < 60  # not three visibility timeouts of 1800 s
    assert (
        sqs.receive_message(QueueUrl=queue["QueueUrl"], WaitTimeSeconds=2).get("Messages") is None
    )
    assert len(webhook.received) == 1
    assert _parts(s3, bucket) == []
