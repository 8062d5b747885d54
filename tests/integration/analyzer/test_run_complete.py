"""The run-complete step off shard markers' events, against moto's real conditional writes:
once every marker exists and every page has a result, the run's report and ``run.json`` are
written exactly once, however many marker events arrive, in whatever order and wrapping."""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from analyzer_lambda import events
from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.config import Config
from analyzer_lambda.deps import build_deps
from analyzer_lambda.exceptions import RunNotCompleteError
from analyzer_lambda.handler import lambda_handler
from analyzer_lambda.prompts.parser import default_prompt
from analyzer_lambda.runs.complete import complete_run
from crawler.marker import page_prompts
from rivalscope_core.keys import RunRef, marker_key, run_status_key
from rivalscope_core.markers import ShardMarker
from tests.conftest import load_event
from tests.integration.analyzer.conftest import RUN_PREFIX, gzip_lines, page, retarget
from tests.integration.analyzer.test_cli_and_concurrency import run_cli

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from rivalscope_core.keys import S3Uri

pytestmark = pytest.mark.integration

RUN_ID = RUN_PREFIX.split("/")[2]


@pytest.fixture(autouse=True)
def _offline_analyser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYZER", "extract")
    monkeypatch.delenv("ANALYSIS_PROMPT", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("ANALYZER_STOP_MARGIN", "0")


def _shard(s3: S3Client, bucket: str, index: int, count: int, names: list[str]) -> str:
    """Store one shard's chunk, as the crawler does; returns its key (its marker not yet)."""
    key = f"{RUN_PREFIX}items.0000000.shard{index}of{count}.jl.gz"
    records = [page(name, url=f"https://site{index}.example/{name}") for name in names]
    s3.put_object(
        Bucket=bucket, Key=key, Body=gzip_lines([json.dumps(r).encode() for r in records])
    )
    return key


def _mark(
    s3: S3Client, bucket: str, index: int, count: int, chunk: str, pages: int, **fields: Any
) -> str:
    ended = datetime.now(UTC) - timedelta(seconds=1)
    marker = ShardMarker(
        run=RUN_ID,
        spider="competitors",
        shard_index=index,
        shard_count=count,
        chunks=[chunk],
        pages=pages,
        errors=0,
        started_at=(ended - timedelta(minutes=2)).isoformat(),
        ended_at=ended.isoformat(),
        exit_code=0,
        cpu_seconds=3.5,
        peak_memory_bytes=400_000_000,
        finish_reason="finished",
        **fields,
    )
    key = marker_key(RunRef(bucket, "competitors", RUN_ID), index, count)
    s3.put_object(Bucket=bucket, Key=key, Body=marker.to_json())
    return key


def _s3_event(bucket: str, key: str) -> dict[str, Any]:
    return retarget(load_event("s3_put.json"), bucket, key)  # type: ignore[no-any-return]


def _sqs_event(bucket: str, key: str) -> dict[str, Any]:
    return retarget(load_event("sqs_s3_put.json"), bucket, key)  # type: ignore[no-any-return]


def _eventbridge_event(bucket: str, key: str) -> dict[str, Any]:
    return retarget(load_event("eventbridge_object_created.json"), bucket, key)  # type: ignore[no-any-return]


def _versions(s3: S3Client, bucket: str, key: str) -> int:
    listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
    return sum(1 for version in listing.get("Versions", []) if version["Key"] == key)


def _status(s3: S3Client, bucket: str) -> dict[str, Any]:
    key = run_status_key(RunRef(bucket, "competitors", RUN_ID), default_prompt().prompt_id)
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())  # type: ignore[no-any-return]


def test_concurrent_duplicate_marker_events_complete_the_run_exactly_once(
    s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    chunks = [
        _shard(s3, bucket, 0, 2, ["pricing.html", "article.html"]),
        _shard(s3, bucket, 1, 2, ["pricing.html"]),
    ]
    for chunk in chunks:
        assert lambda_handler(_s3_event(bucket, chunk), LocalContext(60))["complete"]
    markers = [_mark(s3, bucket, 0, 2, chunks[0], 2), _mark(s3, bucket, 1, 2, chunks[1], 1)]

    # Every wrapping, both markers, at once and in mixed order: two deliveries through the
    # handler in processes of their own (the CLI: separate sandboxes, as in Lambda), and six
    # threads here running the handler's path below its Lambda plumbing (event → markers →
    # complete_run), each with its own dependencies (the handler's metrics are per sandbox).
    event_files = []
    for n, wrap in enumerate((_sqs_event, _eventbridge_event)):
        event_files.append(tmp_path / f"event{n}.json")
        event_files[-1].write_text(json.dumps(wrap(bucket, markers[n % 2])))
    parsed = [
        events.objects_from_s3_notification(_s3_event(bucket, markers[1])),
        events.objects_from_sqs_body(_sqs_event(bucket, markers[0])["Records"][0]["body"]),
        events.objects_from_eventbridge(_eventbridge_event(bucket, markers[1])),
    ] * 2
    config = Config.from_env(os.environ)
    barrier = threading.Barrier(len(parsed))

    def deliver(objects: list[S3Uri]) -> list[str]:
        [marker] = events.markers_of(objects)
        deps = build_deps(config)
        barrier.wait()
        return [complete_run(marker, deps, s3).outcome]

    with ThreadPoolExecutor(len(parsed) + len(event_files)) as pool:
        processes = [pool.submit(run_cli, f"@{path}") for path in event_files]
        outcomes = [o for found in pool.map(deliver, parsed) for o in found]
        cli = [process.result() for process in processes]

    for finished in cli:
        assert finished.returncode == 0, finished.stderr[-3000:]
        answer = json.loads(finished.stdout)
        assert answer.get("batchItemFailures", []) == []
        outcomes += [run["outcome"] for run in answer.get("runs", [])]
    assert outcomes.count("done") == 1
    assert set(outcomes) <= {"done", "already_done", "claimed"}

    prefix = f"reports/competitors/{RUN_ID}/{default_prompt().prompt_id}/"
    status = _status(s3, bucket)
    assert status["status"] == "done"
    assert (status["shards"], status["missing_markers"]) == (2, [])
    assert (status["pages"], status["pages_with_result"]) == (3, 3)
    assert status["exit_codes"] == {"1of2.json": 0, "2of2.json": 0}
    assert status["cpu_seconds"] == 7.0
    assert status["report"] == f"s3://{bucket}/{prefix}report.html"
    # the work happened once: one write of each, and no claim left behind
    assert _versions(s3, bucket, f"{prefix}run.json") == 1
    assert _versions(s3, bucket, f"{prefix}report.html") == 1
    assert _versions(s3, bucket, f"{prefix}results.jsonl") == 1
    results = s3.get_object(Bucket=bucket, Key=f"{prefix}results.jsonl")["Body"].read()
    urls = sorted(json.loads(line)["url"] for line in results.splitlines())
    assert urls == [
        "https://site0.example/article.html",
        "https://site0.example/pricing.html",
        "https://site1.example/pricing.html",
    ]
    report = s3.get_object(Bucket=bucket, Key=f"{prefix}report.html")["Body"].read().decode()
    assert "https://site1.example/pricing.html" in report
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}run.claim")

    # a later signal does nothing
    again = lambda_handler(_s3_event(bucket, markers[0]), LocalContext(60))
    assert [run["outcome"] for run in again["runs"]] == ["already_done"]
    assert _versions(s3, bucket, f"{prefix}run.json") == 1


def test_an_incomplete_run_comes_back_later_then_names_the_missing_shard_after_the_timeout(
    s3: S3Client, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = [
        _shard(s3, bucket, 0, 2, ["pricing.html"]),
        _shard(s3, bucket, 1, 2, ["article.html"]),
    ]
    first = _mark(s3, bucket, 0, 2, chunks[0], 1)

    # the chunk is not analysed yet, and shard 2of2 has no marker: look again later
    with pytest.raises(RunNotCompleteError) as info:
        lambda_handler(_s3_event(bucket, first), LocalContext(60))
    assert info.value.status["missing_markers"] == ["2of2.json"]
    assert info.value.status["pages_without_result"] == 1
    sqs = _sqs_event(bucket, first)
    answer = lambda_handler(sqs, LocalContext(60))
    assert answer["batchItemFailures"] == [{"itemIdentifier": sqs["Records"][0]["messageId"]}]

    # the wait is over: the step gives up, says which shard is missing, and is not retried
    monkeypatch.setenv("RUN_COMPLETE_TIMEOUT", "0")
    lambda_handler(_s3_event(bucket, chunks[0]), LocalContext(60))
    gave_up = lambda_handler(_s3_event(bucket, first), LocalContext(60))
    assert [run["outcome"] for run in gave_up["runs"]] == ["gave_up"]
    status = _status(s3, bucket)
    assert (status["status"], status["missing_markers"]) == ("incomplete", ["2of2.json"])

    # the late shard still completes the run
    monkeypatch.delenv("RUN_COMPLETE_TIMEOUT")
    lambda_handler(_s3_event(bucket, chunks[1]), LocalContext(60))
    late = _mark(s3, bucket, 1, 2, chunks[1], 1)
    done = lambda_handler(_eventbridge_event(bucket, late), LocalContext(60))
    assert [run["outcome"] for run in done["runs"]] == ["done"]
    assert _status(s3, bucket)["status"] == "done"


def _prompt(name: str) -> bytes:
    return f"---\nname: {name}\n---\nDescribe this page for {name}.\n".encode()


def test_a_watch_lists_pages_count_and_report_under_their_competitors_prompts(
    s3: S3Client, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two competitors with prompts of their own beside the run's: each page's result is
    found under its own prompt, so the run completes (it used to wait for the pages of the
    competitors' prompts under the run's), and the report shows each page's own result."""
    for name in ("run", "acme", "pricing-ja"):
        s3.put_object(Bucket=bucket, Key=f"prompts/{name}.md", Body=_prompt(name))
    monkeypatch.setenv("ANALYSIS_PROMPT", "run")
    records = [
        page(url="https://acme.example/", competitor="Acme Analytics", prompt="acme"),
        page(url="https://hanami.example/", competitor="花見クラウド", prompt="pricing-ja"),
        page(url="https://loose.example/", competitor=None, prompt="run"),
        page(url="https://app.acme.example/", competitor="Acme Analytics", prompt="acme"),
    ]
    chunk = f"{RUN_PREFIX}items.0000000.jl.gz"
    s3.put_object(
        Bucket=bucket, Key=chunk, Body=gzip_lines([json.dumps(r).encode() for r in records])
    )
    own = page_prompts({chunk: [r["prompt"] for r in records]}, "run")  # as the crawler does
    key = _mark(s3, bucket, 0, 1, chunk, len(records), prompt="run", page_prompts=own)

    with pytest.raises(RunNotCompleteError) as info:  # nothing analysed yet
        lambda_handler(_s3_event(bucket, key), LocalContext(60))
    assert info.value.status["pages_without_result"] == 4
    assert lambda_handler(_s3_event(bucket, chunk), LocalContext(60))["complete"]
    done = lambda_handler(_s3_event(bucket, key), LocalContext(60))
    assert [run["outcome"] for run in done["runs"]] == ["done"]

    prefix = f"reports/competitors/{RUN_ID}/own-prompts/"
    status = json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}run.json")["Body"].read())
    assert (status["status"], status["pages"], status["pages_with_result"]) == ("done", 4, 4)
    assert sorted(pid.rsplit("-", 1)[0] for pid in status["prompts"]) == [
        "acme", "pricing-ja", "run",
    ]  # fmt: skip
    lines = s3.get_object(Bucket=bucket, Key=f"{prefix}results.jsonl")["Body"].read()
    reported = {r["url"]: r for r in map(json.loads, lines.splitlines())}
    assert {url: r["prompt_id"].rsplit("-", 1)[0] for url, r in reported.items()} == {
        "https://acme.example/": "acme",
        "https://hanami.example/": "pricing-ja",
        "https://loose.example/": "run",
        "https://app.acme.example/": "acme",
    }
    assert all(r["analysis"] is not None for r in reported.values())
