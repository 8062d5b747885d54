"""The local AWS topology: endpoint, notifications (multipart included), the worker's
partial-batch semantics and the data mirror across an endpoint restart."""

from __future__ import annotations

import io
import json
import threading
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import pytest

from rivalscope_local.endpoint import LocalEndpoint
from rivalscope_local.persistence import Mirror
from rivalscope_local.queue import QueueRef, create_queues, notify_queue, queue_depth
from rivalscope_local.worker import QueueWorker

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.integration

RUN = "raw/competitors/2026-11-23T22-19-03"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[LocalEndpoint]:
    with LocalEndpoint() as ep:
        yield ep


@pytest.fixture
def wired(endpoint: LocalEndpoint) -> tuple[str, QueueRef]:
    """A fresh bucket that notifies a fresh queue, as run.py wires them."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    endpoint.s3().create_bucket(Bucket=name)
    queue = create_queues(endpoint.sqs(), name)
    notify_queue(endpoint.s3(), name, queue)
    return name, queue


class Recorder:
    """A Lambda handler stand-in: records the chunk keys of each SQS event and fails the
    messages whose key is in ``fail`` (``raise_first`` makes its first call raise)."""

    def __init__(self, fail: set[str] | None = None, *, raise_first: bool = False) -> None:
        self.fail = fail or set()
        self.raise_first = raise_first
        self.calls: list[list[str]] = []
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        assert context.get_remaining_time_in_millis() > 0
        keys: list[str] = []
        failures = []
        for record in event["Records"]:
            assert record["eventSource"] == "aws:sqs"
            body = json.loads(record["body"])
            for s3_record in body.get("Records", []):
                key = unquote_plus(s3_record["s3"]["object"]["key"])
                keys.append(key)
                if key in self.fail:
                    failures.append({"itemIdentifier": record["messageId"]})
        with self.lock:
            self.calls.append(keys)
            self.events.append(event)
            if self.raise_first and len(self.calls) == 1:
                raise RuntimeError("first call fails")
        return {"batchItemFailures": failures}

    def keys(self) -> list[str]:
        return [key for call in self.calls for key in call]


def run_worker(endpoint: LocalEndpoint, queue: QueueRef, handler: Recorder) -> QueueWorker:
    worker = QueueWorker(endpoint.sqs(), queue, handler, retry_delay=0).start()
    try:
        assert worker.wait_drained(timeout=60, settle=1.0)
    finally:
        worker.stop()
    return worker


def test_every_new_chunk_reaches_the_handler_and_other_keys_do_not(
    endpoint: LocalEndpoint, wired: tuple[str, QueueRef]
) -> None:
    bucket, queue = wired
    s3 = endpoint.s3()
    s3.put_object(Bucket=bucket, Key=f"{RUN}/items.0000000.jl.gz", Body=b"small")
    # above boto3's 8 MB threshold: a multipart upload, as big chunks of screenshots are
    s3.upload_fileobj(io.BytesIO(b"x" * (9 * 1024 * 1024)), bucket, f"{RUN}/items.0000020.jl.gz")
    s3.put_object(Bucket=bucket, Key="analysis/x/000001.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key=f"{RUN}/notes.txt", Body=b"not a chunk")

    handler = Recorder()
    worker = run_worker(endpoint, queue, handler)

    assert set(handler.keys()) == {f"{RUN}/items.0000000.jl.gz", f"{RUN}/items.0000020.jl.gz"}
    assert worker.stats.failed == 0
    assert queue_depth(endpoint.sqs(), queue.url) == 0


def test_only_reported_failures_are_retried_then_dead_lettered(
    endpoint: LocalEndpoint, wired: tuple[str, QueueRef]
) -> None:
    bucket, queue = wired
    good, bad = f"{RUN}/items.0000000.jl.gz", f"{RUN}/items.0000005.jl.gz"
    s3 = endpoint.s3()
    s3.put_object(Bucket=bucket, Key=good, Body=b"g")
    s3.put_object(Bucket=bucket, Key=bad, Body=b"b")

    handler = Recorder(fail={bad})
    worker = run_worker(endpoint, queue, handler)

    assert handler.keys().count(good) == 1
    assert handler.keys().count(bad) == 3  # maxReceiveCount, then the dead-letter queue
    assert worker.dead_letters() == 1
    dead = endpoint.sqs().receive_message(QueueUrl=queue.dlq_url)["Messages"]
    assert unquote_plus(json.loads(dead[0]["Body"])["Records"][0]["s3"]["object"]["key"]) == bad


def test_a_handler_that_raises_gets_its_whole_batch_again(
    endpoint: LocalEndpoint, wired: tuple[str, QueueRef]
) -> None:
    bucket, queue = wired
    key = f"{RUN}/items.0000000.jl.gz"
    endpoint.s3().put_object(Bucket=bucket, Key=key, Body=b"g")

    handler = Recorder(raise_first=True)
    worker = run_worker(endpoint, queue, handler)

    assert worker.stats.handler_errors == 1
    assert handler.keys().count(key) == 2
    assert worker.dead_letters() == 0


def test_data_survives_a_restart_and_its_restore_raises_no_event(tmp_path: Path) -> None:
    data = tmp_path / "s3"
    chunk = f"{RUN}/items.0000000.jl.gz"
    payload = "日本語のページ".encode() * 1000
    with LocalEndpoint() as first:
        mirror = Mirror(first.s3(), data)
        assert mirror.restore() == 0
        first.s3().create_bucket(Bucket="pages")
        first.s3().put_object(Bucket="pages", Key=chunk, Body=payload)
        first.s3().put_object(
            Bucket="pages", Key="prompts/p.md", Body=b"# hi", ContentType="text/markdown"
        )
        assert mirror.sync() == 2
        assert mirror.sync() == 0  # nothing new: nothing fetched again

    with LocalEndpoint() as second:
        s3 = second.s3()
        assert Mirror(s3, data).restore() == 2
        assert s3.get_object(Bucket="pages", Key=chunk)["Body"].read() == payload
        restored = s3.get_object(Bucket="pages", Key="prompts/p.md")
        assert restored["ContentType"] == "text/markdown"
        queue = create_queues(second.sqs(), "after-restore")
        notify_queue(s3, "pages", queue)
        handler = Recorder()
        run_worker(second, queue, handler)
        assert handler.keys() == []  # the test event only: restored chunks are not re-analysed


def test_a_deleted_object_leaves_the_disk_copy_and_sync_needs_a_restore_first(
    tmp_path: Path, endpoint: LocalEndpoint
) -> None:
    s3 = endpoint.s3()
    bucket = f"t-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="analysis/a.claim", Body=b"1")
    mirror = Mirror(s3, tmp_path / "s3")
    with pytest.raises(RuntimeError, match="restore"):
        mirror.sync()
    mirror.restore()
    mirror.sync()
    assert (tmp_path / "s3" / bucket / "analysis" / "a.claim").read_bytes() == b"1"
    s3.delete_object(Bucket=bucket, Key="analysis/a.claim")
    mirror.sync()
    assert not (tmp_path / "s3" / bucket / "analysis" / "a.claim").exists()
