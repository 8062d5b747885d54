"""The run-complete step sends the run's notification (AWS: off a marker's event): exactly one
message to a real loopback endpoint however many duplicate marker events arrive at once,
against moto's real conditional writes; a failing endpoint is retried, reported (the
``NotificationsFailed`` metric, ``run.json``) and never keeps the run's data from being
written."""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest

from analyzer_lambda import events
from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.config import Config
from analyzer_lambda.deps import build_deps
from analyzer_lambda.handler import lambda_handler
from analyzer_lambda.prompts.parser import default_prompt
from analyzer_lambda.runs.complete import complete_run
from tests.integration.analyzer.test_run_complete import RUN_ID, _mark, _s3_event, _shard

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.servers.webhook import WebhookServer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("offline_run_complete")]


def _analysed_run(s3: S3Client, bucket: str) -> list[str]:
    chunks = [
        _shard(s3, bucket, 0, 2, ["pricing.html", "article.html"]),
        _shard(s3, bucket, 1, 2, ["pricing.html"]),
    ]
    for chunk in chunks:
        assert lambda_handler(_s3_event(bucket, chunk), LocalContext(60))["complete"]
    return [_mark(s3, bucket, 0, 2, chunks[0], 2), _mark(s3, bucket, 1, 2, chunks[1], 1)]


def _status(s3: S3Client, bucket: str) -> dict[str, Any]:
    key = f"reports/competitors/{RUN_ID}/{default_prompt().prompt_id}/run.json"
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())  # type: ignore[no-any-return]


def test_concurrent_duplicate_marker_events_send_one_message(
    s3: S3Client, bucket: str, webhook: WebhookServer
) -> None:
    markers = _analysed_run(s3, bucket)
    config = Config.from_env(os.environ)
    deliveries = [m for m in markers for _ in range(4)]  # each marker's event, four times
    barrier = threading.Barrier(len(deliveries))

    def deliver(key: str) -> str:
        [marker] = events.markers_of(events.objects_from_s3_notification(_s3_event(bucket, key)))
        deps = build_deps(config)  # each its own, as separate Lambda sandboxes
        barrier.wait()
        return complete_run(marker, deps, s3).outcome

    with ThreadPoolExecutor(len(deliveries)) as pool:
        outcomes = list(pool.map(deliver, deliveries))
    assert outcomes.count("done") == 1, outcomes

    [posted] = webhook.received  # exactly one message for the run
    message = posted.json()
    # the run-complete step's report compares the run (changes.jsonl): its first capture has
    # every page new
    assert message["title"] == f"rivalscope · run {RUN_ID}: 3 change(s)"
    assert "**Report:** http" in message["message"]  # the presigned report URL
    assert f"{default_prompt().prompt_id}/report.html" in message["message"]
    status = _status(s3, bucket)
    assert (status["status"], status["notification"]["outcome"]) == ("done", "sent")

    # a later signal, and the command, send nothing more
    again = lambda_handler(_s3_event(bucket, markers[1]), LocalContext(60))
    assert [run["outcome"] for run in again["runs"]] == ["already_done"]
    from analyzer_lambda.notify.__main__ import main

    assert main([f"s3://{bucket}/raw/competitors/{RUN_ID}/"]) == 0
    assert len(webhook.received) == 1


def test_a_failing_endpoint_is_retried_reported_and_the_run_is_still_done(
    s3: S3Client, bucket: str, webhook: WebhookServer, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("NOTIFY_MAX_ATTEMPTS", "2")
    markers = _analysed_run(s3, bucket)
    webhook.fail("/hook", 500)
    capsys.readouterr()
    done = lambda_handler(_s3_event(bucket, markers[0]), LocalContext(60))
    [run] = done["runs"]
    assert run["outcome"] == "done"
    assert run["notification"]["outcome"] == "failed"
    assert len(webhook.received) == 2  # tried, retried once
    # the run's data is all there
    status = _status(s3, bucket)
    assert (status["status"], status["pages_with_result"]) == ("done", 3)
    assert status["notification"]["failed"] == ["json://127.0.0.1"]
    # reported: a log line and the metric CloudWatch alarms on (EMF on stdout)
    [logged] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert logged.getMessage().startswith(f"notification of run {RUN_ID} failed for json://")
    out = capsys.readouterr().out
    emf = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    assert any(m.get("NotificationsFailed") == [1.0] for m in emf), emf

    # the operator's command sends it once the endpoint is back
    webhook.heal()
    from analyzer_lambda.notify.__main__ import main

    assert main([f"s3://{bucket}/raw/competitors/{RUN_ID}/"]) == 0
    assert len(webhook.received) == 3
