"""``reanalyze --via batch`` as users run it (the command's ``main``, a moto server, the fake
Gemini server speaking the Batch API through google-genai), and the scheduled collector's
``{"collect_batches": {}}`` event through the Lambda handler: what a user checks."""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

import pytest

from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.handler import lambda_handler
from analyzer_lambda.reanalyze.__main__ import main
from tests.integration.reanalyze.conftest import results, without_nonce

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from tests.servers.gemini import GeminiServer
    from tests.servers.moto import MotoServer

pytestmark = pytest.mark.integration


def test_submit_then_collect_gives_the_interactive_results_under_the_same_keys(
    via_batch: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
    batch_run: str, batch_prompt: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    assert (
        main([batch_run, "--prompt", str(batch_prompt), "--yes"]) == 1
    )  # one page failed to render
    capsys.readouterr()
    interactive = results(s3, bucket)
    asked = {without_nonce(r.body) for r in gemini.requests}
    for key in interactive:
        s3.delete_object(Bucket=bucket, Key=key)
    gemini.reset()

    code, err = via_batch()
    assert code == 0, err
    [job] = gemini.batch_jobs
    assert job.source == "inline"
    assert re.search(rf"submitted {job.name} \(inline\): 4 pages, batch-priced estimate "
                     r"\$0\.00\d+ \(prices as of", err), err  # fmt: skip
    assert "estimated cost at Batch API prices: $0.00" in err
    assert gemini.calls == 0
    # exactly what the interactive calls sent: system instruction, schema, text, screenshot
    assert {without_nonce(r.body) for r in gemini.batch_requests(job)} == asked
    assert len(results(s3, bucket)) == 1  # the render failure, recorded at once

    code, err = via_batch()  # the job is running: nothing stored, nothing submitted again
    assert code == 0, err
    assert "running, 4 pages" in err
    assert len(results(s3, bucket)) == 1

    code, err = via_batch()
    assert code == 0, err
    assert "succeeded, 4 pages; stored 4" in err
    batch = results(s3, bucket)
    assert batch.keys() == interactive.keys()
    for key, record in batch.items():
        before = interactive[key]
        assert record.keys() == before.keys()
        assert {k: v for k, v in record.items() if k != "analyzed_at"} == {
            k: v for k, v in before.items() if k != "analyzed_at"
        }
    assert len(gemini.batch_jobs) == 1
    assert gemini.calls == 0


def test_collecting_twice_stores_nothing_new(
    via_batch: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
) -> None:  # fmt: skip
    gemini.batch_states("PENDING", "SUCCEEDED")
    assert via_batch()[0] == 0
    code, err = via_batch()
    assert code == 0, err
    stored = results(s3, bucket)
    assert len(stored) == 5

    code, err = via_batch()
    assert code == 0, err
    assert "nothing to submit" in err
    assert lambda_handler({"collect_batches": {}}, LocalContext(60))["stored"] == 0
    assert results(s3, bucket) == stored  # not one object rewritten
    assert len(gemini.batch_jobs) == 1


def test_two_concurrent_submitters_create_one_job(
    gemini: GeminiServer, s3: S3Client, bucket: str, batch_run: str, batch_prompt: Path,
    moto_server: MotoServer, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    gemini.batch_create_delay(0.5)  # both are inside the submission at once
    codes: list[int] = []
    start = threading.Barrier(2)

    def submit() -> None:
        start.wait()
        codes.append(main([batch_run, "--prompt", str(batch_prompt), "--via", "batch", "--yes"]))

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [0, 0]
    assert "another submission of these pages is under way" in capsys.readouterr().err
    [job] = gemini.batch_jobs
    assert len(job.requests) == len(set(job.keys)) == 4


@pytest.mark.parametrize("state", ["FAILED", "EXPIRED"])
def test_a_failed_or_expired_job_is_reported_and_its_pages_resubmitted(
    via_batch: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
    state: str,
) -> None:  # fmt: skip
    gemini.batch_states("PENDING", state)
    assert via_batch()[0] == 0
    gemini.batch_states("PENDING", "SUCCEEDED")

    code, err = via_batch()
    assert code == 1
    first, second = gemini.batch_jobs
    assert f"batch {first.name}: {state.lower()}, 4 pages; 4 released" in err
    assert f"submitted {second.name}" in err
    assert sorted(second.keys) == sorted(first.keys)

    assert via_batch()[0] == 0
    assert len(results(s3, bucket)) == 5
    assert len(gemini.batch_jobs) == 2


def test_an_answer_that_fails_the_schema_becomes_an_error_result(
    via_batch: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
) -> None:  # fmt: skip
    gemini.reset(default="ok", script=["plain_text"])  # the job's first answer obeys an injection
    gemini.batch_states("PENDING", "SUCCEEDED")
    assert via_batch()[0] == 0
    code, err = via_batch()
    assert code == 1, err
    assert "stored 3, 1 error results" in err
    invalid = [r for r in results(s3, bucket).values()
               if r["error"] and r["error"]["type"] == "invalid_output"]  # fmt: skip
    assert len(invalid) == 1
    assert invalid[0]["analysis"] is None
    assert invalid[0]["usage"]["input_tokens"] > 0  # the answer was paid for: its usage counts


def test_a_large_submission_is_split_into_uploaded_files_and_collected_by_the_schedule(
    via_batch: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
    monkeypatch: pytest.MonkeyPatch, batch_run: str, batch_prompt: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    assert (
        main([batch_run, "--prompt", str(batch_prompt), "--yes"]) == 1
    )  # the interactive requests
    asked = {without_nonce(r.body) for r in gemini.requests}
    for key in results(s3, bucket):
        s3.delete_object(Bucket=bucket, Key=key)
    gemini.reset()
    capsys.readouterr()
    monkeypatch.setenv("GEMINI_BATCH_INLINE_MAX_BYTES", "0")
    monkeypatch.setenv("GEMINI_BATCH_MAX_REQUESTS", "3")
    gemini.batch_states("PENDING", "SUCCEEDED")
    code, err = via_batch()
    assert code == 0, err
    first, second = gemini.batch_jobs
    assert (first.source, second.source) == ("file", "file")
    assert (len(first.requests), len(second.requests)) == (3, 1)
    assert err.count("(file)") == 2
    sent = gemini.batch_requests(first) + gemini.batch_requests(second)
    assert {without_nonce(r.body) for r in sent} == asked  # the file's lines: the same JSON

    summary = lambda_handler({"collect_batches": {}}, LocalContext(60))
    assert summary["stored"] == 4, summary
    assert {job["state"] for job in summary["jobs"]} == {"JOB_STATE_SUCCEEDED"}
    stored = results(s3, bucket)
    assert len(stored) == 5
    assert all(r["analysis"] for r in stored.values() if r["url"] != "https://acme.example/p4")
    assert lambda_handler({"collect_batches": {}}, LocalContext(60))["jobs"] == []


def test_dry_run_prints_both_prices_and_submits_nothing(
    via_batch: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
) -> None:  # fmt: skip
    code, err = via_batch("--dry-run")
    assert code == 0, err
    standard = float(err.split("estimated cost: $")[1].split()[0])
    batch = float(err.split("estimated cost at Batch API prices: $")[1].split()[0])
    assert batch == pytest.approx(standard / 2, abs=1e-4)
    assert gemini.batch_jobs == []
    assert results(s3, bucket) == {}
