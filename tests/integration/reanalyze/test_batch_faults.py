"""``reanalyze --via batch`` when things go wrong: a submitter that died, a refused create, a
collector running out of Lambda time, an interactive run meanwhile."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.handler import lambda_handler
from analyzer_lambda.reanalyze.__main__ import main
from tests.integration.reanalyze.conftest import results

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from tests.servers.gemini import GeminiServer

pytestmark = pytest.mark.integration


def test_a_job_whose_submitter_died_before_recording_it_is_found_by_its_name(
    via_batch: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
) -> None:  # fmt: skip
    gemini.batch_states("PENDING", "SUCCEEDED")
    assert via_batch()[0] == 0
    [job] = gemini.batch_jobs
    [key] = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
             if o["Key"].endswith(".batch")]  # fmt: skip
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    # as if the submitter died while the create call was under way, long ago
    manifest.update(job=None, state="creating", created_at="2026-01-01T00:00:00Z")
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())

    code, err = via_batch()
    assert code == 0, err
    assert f"batch {job.name}: succeeded, 4 pages; stored 4" in err
    assert len(gemini.batch_jobs) == 1  # found, not paid for again
    assert len(results(s3, bucket)) == 5


def test_pages_in_a_job_are_left_alone_interactively_and_answered_pages_skipped_at_collection(
    via_batch: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
    batch_run: str, batch_prompt: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    gemini.batch_states("PENDING", "SUCCEEDED")
    assert via_batch()[0] == 0
    [job] = gemini.batch_jobs

    # an interactive re-analysis meanwhile: the job's pages are claimed, none is asked again
    assert main([batch_run, "--prompt", str(batch_prompt), "--yes"]) == 1  # 4 pending
    assert "4 pending" in capsys.readouterr().err
    assert gemini.calls == 0

    answered = job.keys[0]  # as if answered another way while the job ran
    s3.put_object(Bucket=bucket, Key=answered, Body=b'{"answered": "elsewhere"}')
    code, err = via_batch()
    assert code == 0, err
    assert "stored 3, 0 error results, 1 already had one" in err
    assert json.loads(s3.get_object(Bucket=bucket, Key=answered)["Body"].read()) == {
        "answered": "elsewhere"
    }


def test_a_refused_create_is_reported_and_its_pages_are_submitted_by_the_next_run(
    via_batch: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
) -> None:  # fmt: skip
    gemini.batch_create_errors(429)
    code, err = via_batch()
    assert code == 1
    assert "not submitted: " in err
    assert "HTTP 429" in err
    assert gemini.batch_jobs == []

    code, err = via_batch()  # nothing stranded: the pages' claims were released
    assert code == 0, err
    [job] = gemini.batch_jobs
    assert len(job.requests) == 4


def test_the_scheduled_collector_stops_before_the_lambda_times_out_and_the_next_poll_goes_on(
    via_batch: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
) -> None:  # fmt: skip
    gemini.batch_states("PENDING", "SUCCEEDED")
    assert via_batch()[0] == 0
    short = lambda_handler({"collect_batches": {}}, LocalContext(5))  # 3 s left: too little
    assert short["jobs"] == []
    assert len(results(s3, bucket)) == 1  # only the render failure, from the submission
    full = lambda_handler({"collect_batches": {}}, LocalContext(60))
    assert full["stored"] == 4, full
