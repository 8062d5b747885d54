"""``python -m analyzer_lambda.notify`` as an operator runs it, against moto and a real
notification endpoint on loopback that Apprise's own ``json://`` and ``form://`` plugins post
to: one message per run with the digest, the counts, the report's link and the top change's
crop; a repeat sends nothing; a failing service is retried, then exit 1, and a later repeat
sends to it alone; ``--dry-run`` and ``NOTIFY_ON`` send nothing."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.servers.moto import MotoServer
    from tests.servers.webhook import WebhookServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
RUN = "2026-11-30T06-00-00"
PREFIX = f"reports/competitors/{RUN}/pricing-1a2b3c4d/"
CROP = b"\xff\xd8\xff\xe0 JPEG crop of the top change"
DIGEST = "**Acme Analytics** raised Starter from $49 to $59 (https://acme.example/price)."
LINK = "file:///home/team/out/2026-11-30T06-00-00/report.html"
CHANGES: list[dict[str, Any]] = [
    {"url": "https://acme.example/plan", "status": "changed", "visual": {"changed_fraction": 0.1}},
    {"url": "https://acme.example/price", "status": "changed", "visual": {"changed_fraction": 1}},
    {"url": "https://northwind.example/", "status": "new", "visual": None},
    {"url": "https://northwind.example/old", "status": "removed", "visual": None},
    {"url": "https://hanami.example/", "status": "failed", "visual": None},
    {"url": "https://hanami.example/jp", "status": "failed", "visual": None},
    {"url": "https://acme.example/", "status": "unchanged", "visual": None},
]  # fmt: skip


def _put(s3: S3Client, bucket: str, name: str, body: bytes | str) -> None:
    data = body.encode("utf-8") if isinstance(body, str) else body
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}{name}", Body=data)


@pytest.fixture
def run_uri(s3: S3Client, bucket: str) -> str:
    """A complete run's report folder, as the run-complete step leaves it."""
    chunk = f"s3://{bucket}/raw/competitors/{RUN}/items.0000000.jl.gz"
    _put(s3, bucket, "report.html", "<!doctype html><title>report</title>")
    status = {"status": "done", "counts": {"done": 5, "failed": 1, "missing": 0, "blocked": 1}}
    _put(s3, bucket, "run.json", json.dumps(status))
    _put(s3, bucket, "digest.md", DIGEST)
    _put(s3, bucket, "changes.jsonl", "".join(json.dumps(c) + "\n" for c in CHANGES))
    rows = [{"url": c["url"], "chunk": chunk, "line": n} for n, c in enumerate(CHANGES, 1)]
    _put(s3, bucket, "results.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    _put(s3, bucket, "changes/items.0000000-2-1.after.jpg", CROP)  # the pricing page's
    _put(s3, bucket, "changes/items.0000000-2-1.before.jpg", b"before")
    _put(s3, bucket, "changes/items.0000000-2-2.after.jpg", b"its second crop")
    return f"s3://{bucket}/raw/competitors/{RUN}/"


def _notify(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "analyzer_lambda.notify", *args],
        env={**os.environ, **(env or {})}, cwd=ROOT, capture_output=True, text=True,
        timeout=120, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _state(s3: S3Client, bucket: str) -> dict[str, Any]:
    body = s3.get_object(Bucket=bucket, Key=f"{PREFIX}notify.json")["Body"].read()
    return json.loads(body)  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_RETRY_DELAY", "0")
    monkeypatch.setenv("NOTIFY_MAX_ATTEMPTS", "3")
    monkeypatch.delenv("NOTIFY_ON", raising=False)


def test_one_message_per_run_with_digest_counts_link_and_crop(
    run_uri: str, s3: S3Client, bucket: str, webhook: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("NOTIFY_URLS", f"{webhook.url('json')}, {webhook.url('form', '/form')}")
    first = _notify(run_uri, "--link", LINK)
    assert first.returncode == 0, first.stderr
    assert "notification sent to 2 service(s)" in first.stdout

    [posted] = webhook.to("/hook")
    message = posted.json()
    assert message["title"] == f"rivalscope · run {RUN}: 4 change(s), 2 page(s) not read"
    assert DIGEST in message["message"]
    assert "2 changed, 1 new, 1 removed, 1 failed, 1 blocked" in message["message"]
    assert LINK in message["message"]
    [attachment] = message["attachments"]
    assert attachment["filename"] == "items.0000000-2-1.after.jpg"
    assert base64.b64decode(attachment["base64"]) == CROP
    [form] = webhook.to("/form")  # the form plugin: multipart, the crop as a file part
    assert form.headers["Content-Type"].startswith("multipart/form-data")
    assert DIGEST.encode() in form.body
    assert CROP in form.body
    assert _state(s3, bucket)["status"] == "sent"

    again = _notify(run_uri, "--link", LINK)
    assert again.returncode == 0, again.stderr
    assert "already sent" in again.stdout
    assert len(webhook.received) == 2  # a repeat sent nothing


def test_a_failing_service_is_retried_then_exit_1_and_a_repeat_sends_to_it_alone(
    run_uri: str, s3: S3Client, bucket: str, webhook: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("NOTIFY_URLS", f"{webhook.url('json')} {webhook.url('json', '/down')}")
    webhook.fail("/down", 500)
    failed = _notify(run_uri)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "notification not sent" in failed.stderr
    assert "notification not sent: json://127.0.0.1 failed 3 attempt(s)" in failed.stderr
    assert (len(webhook.to("/hook")), len(webhook.to("/down"))) == (1, 3)  # retried twice
    state = _state(s3, bucket)
    assert (state["status"], state["services_failed"]) == ("failed", ["json://127.0.0.1"])
    assert "/down" not in json.dumps(state)  # services named without their URL's path/token
    # the link defaults to a presigned URL of the stored report
    assert f"/{bucket}/{PREFIX}report.html?" in webhook.to("/hook")[0].json()["message"]

    webhook.heal()
    retried = _notify(run_uri)
    assert retried.returncode == 0, retried.stderr
    assert (len(webhook.to("/hook")), len(webhook.to("/down"))) == (1, 4)  # the failed one only
    assert _state(s3, bucket)["status"] == "sent"


def test_dry_run_prints_the_message_and_sends_nothing(
    run_uri: str, s3: S3Client, bucket: str, webhook: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("NOTIFY_URLS", webhook.url("json"))
    shown = _notify(run_uri, "--dry-run", "--link", LINK)
    assert shown.returncode == 0, shown.stderr
    assert f"would send to json://127.0.0.1:\ntitle: rivalscope · run {RUN}" in shown.stdout
    assert "attachment: items.0000000-2-1.after.jpg" in shown.stdout
    assert DIGEST in shown.stdout
    assert LINK in shown.stdout
    assert webhook.received == []
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=f"{PREFIX}notify")


def test_notify_on_changes_keeps_a_quiet_run_quiet_and_always_sends_it(
    run_uri: str, s3: S3Client, bucket: str, webhook: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    quiet = [{"url": "https://acme.example/", "status": "unchanged", "visual": None}]
    _put(s3, bucket, "changes.jsonl", json.dumps(quiet[0]) + "\n")
    s3.delete_object(Bucket=bucket, Key=f"{PREFIX}digest.md")
    monkeypatch.setenv("NOTIFY_URLS", webhook.url("json"))
    skipped = _notify(run_uri)
    assert skipped.returncode == 0, skipped.stderr
    assert "nothing sent: no page changed" in skipped.stdout
    assert webhook.received == []

    sent = _notify(run_uri, env={"NOTIFY_ON": "always"})
    assert sent.returncode == 0, sent.stderr
    [posted] = webhook.received
    message = posted.json()
    assert message["title"] == f"rivalscope · run {RUN}: 0 change(s)"
    # no digest.md: the counts alone, and no crop without a change
    assert message["message"].startswith("**Pages:** 0 changed, 0 new, 0 removed, 0 failed")
    assert message["attachments"] == []


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {"NOTIFY_URLS": ""}, "NOTIFY_URLS is not set"),
        ((), {"NOTIFY_URLS": "nope://x/token"}, "not an Apprise URL Apprise can use: nope://…"),
        ((), {"NOTIFY_ON": "sometimes"}, "NOTIFY_ON='sometimes' must be one of"),
        (("--prompt", "other-99"), {}, "no results for prompt other-99"),
    ],
)
def test_bad_usage_exits_2_naming_what_to_fix(
    run_uri: str, webhook: WebhookServer, monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...], env: dict[str, str], message: str,
) -> None:  # fmt: skip
    monkeypatch.setenv("NOTIFY_URLS", webhook.url("json"))
    result = _notify(run_uri, *args, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "token" not in result.stderr  # Apprise's own log line is redacted too
    assert webhook.received == []


def test_a_run_without_a_report_is_not_notified(
    s3: S3Client, bucket: str, webhook: WebhookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_URLS", webhook.url("json"))
    result = _notify(f"s3://{bucket}/raw/competitors/{RUN}/")
    assert result.returncode == 2
    assert "no reports for" in result.stderr
    assert webhook.received == []


def test_the_digests_first_point_chooses_the_attached_crop(
    run_uri: str, s3: S3Client, bucket: str, webhook: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The digest ranks the changes (prices and plans first): its top point's page is the one
    whose crop goes out, not the page whose screenshot changed most."""
    points = [{"url": "https://acme.example/plan", "importance": "high", "summary": "plans"}]
    _put(s3, bucket, "digest.json", json.dumps({"state": "changes", "points": points}))
    _put(s3, bucket, "changes/items.0000000-1-1.after.jpg", b"the plan page's crop")
    monkeypatch.setenv("NOTIFY_URLS", webhook.url("json"))
    assert _notify(run_uri).returncode == 0
    [attachment] = webhook.received[0].json()["attachments"]
    assert attachment["filename"] == "items.0000000-1-1.after.jpg"
    assert base64.b64decode(attachment["base64"]) == b"the plan page's crop"


def test_concurrent_requests_for_one_run_send_one_message(
    run_uri: str, s3: S3Client, bucket: str, webhook: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The notification's own claim (not only the run-complete step's): the step in AWS and an
    operator's command, or two commands, asking at once send one message between them."""
    import os
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from analyzer_lambda.config import Config
    from analyzer_lambda.notify.once import notify_run
    from analyzer_lambda.store import Store
    from rivalscope_core.s3 import make_s3_client

    monkeypatch.setenv("NOTIFY_URLS", webhook.url("json"))
    webhook.delay = 2.0  # the first sender is still sending while the others ask
    config = Config.from_env(os.environ)
    barrier = threading.Barrier(6)

    def ask(_: int) -> str:
        store = Store(make_s3_client())  # each its own client, as separate processes
        barrier.wait()
        return notify_run(store, bucket, PREFIX, RUN, config, config.notify_urls).outcome

    with ThreadPoolExecutor(8) as pool:
        commands = [pool.submit(_notify, run_uri) for _ in range(2)]
        outcomes = list(pool.map(ask, range(6)))
        finished = [command.result() for command in commands]
    assert all(f.returncode == 0 for f in finished), [f.stderr for f in finished]
    said = [line for f in finished for line in f.stdout.splitlines()]
    assert outcomes.count("sent") + sum("notification sent" in line for line in said) == 1
    assert set(outcomes) <= {"sent", "claimed", "already_sent"}
    assert len(webhook.received) == 1


@pytest.mark.parametrize("source", ["secret", "secret-json", "parameter"])
def test_the_urls_are_read_from_secrets_manager_or_ssm_as_in_aws(
    run_uri: str, bucket: str, webhook: WebhookServer, moto_server: MotoServer,
    monkeypatch: pytest.MonkeyPatch, source: str,
) -> None:  # fmt: skip
    import boto3

    urls = f"{webhook.url('json')}, {webhook.url('form', '/form')}"
    monkeypatch.delenv("NOTIFY_URLS", raising=False)
    if source == "parameter":
        ssm = boto3.client("ssm", endpoint_url=moto_server.endpoint)
        ssm.put_parameter(Name=f"/{bucket}/notify-urls", Value=urls, Type="SecureString")
        monkeypatch.setenv("NOTIFY_URLS_PARAMETER", f"/{bucket}/notify-urls")
    else:
        secrets = boto3.client("secretsmanager", endpoint_url=moto_server.endpoint)
        value = json.dumps({"NOTIFY_URLS": urls}) if source == "secret-json" else urls
        arn = secrets.create_secret(Name=f"{bucket}-{source}", SecretString=value)["ARN"]
        monkeypatch.setenv("NOTIFY_URLS_SECRET_ARN", arn)
    sent = _notify(run_uri)
    assert sent.returncode == 0, sent.stderr
    assert (len(webhook.to("/hook")), len(webhook.to("/form"))) == (1, 1)
