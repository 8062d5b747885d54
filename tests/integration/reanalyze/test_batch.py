"""``reanalyze --via batch`` as users run it (the command's ``main``, a moto server, the fake
Gemini server speaking the Batch API through google-genai), and the scheduled collector's
``{"collect_batches": {}}`` event through the Lambda handler."""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import threading
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.handler import lambda_handler
from analyzer_lambda.reanalyze.__main__ import main

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from tests.servers.gemini import GeminiServer
    from tests.servers.moto import MotoServer

pytestmark = pytest.mark.integration

RUN = "raw/competitors/2026-11-23T22-19-03/"
PROMPT = """---
name: pricing-watch
---
List every plan and price on this page.
"""


def _screenshot() -> dict[str, Any]:
    buffer = io.BytesIO()
    Image.new("RGB", (1280, 2000), "white").save(buffer, "PNG")
    data = base64.b64encode(buffer.getvalue()).decode()
    return {"format": "png", "width": 1280, "height": 2000, "data": data}


def _page(i: int, *, error: dict[str, str] | None = None) -> dict[str, Any]:
    url = f"https://acme.example/p{i}"
    return {
        "url": url, "final_url": url, "status": None if error else 200,
        "crawled_at": "2026-11-23T22:19:05.000000Z",
        "body": "" if error else f"<html><body><h1>Plan {i}</h1><p>Pro ${i}9/month</p></body>"
        "</html>",
        "title": f"Plan {i}", "screenshot": None if error else _screenshot(), "prompt": None,
        "competitor": "Acme", "error": error,
    }  # fmt: skip


def _chunk(pages: list[dict[str, Any]]) -> bytes:
    return gzip.compress("".join(json.dumps(p) + "\n" for p in pages).encode())


@pytest.fixture
def run(s3: S3Client, bucket: str) -> str:
    """Five pages in two chunks; the last could not be rendered (no model call for it)."""
    s3.put_object(Bucket=bucket, Key=f"{RUN}items.0000000.jl.gz",
                  Body=_chunk([_page(i) for i in range(3)]))  # fmt: skip
    second = [_page(3), _page(4, error={"type": "timeout", "message": "30 s"})]
    s3.put_object(Bucket=bucket, Key=f"{RUN}items.0000003.jl.gz", Body=_chunk(second))
    return f"s3://{bucket}/{RUN}"


@pytest.fixture
def prompt_file(tmp_path: Path) -> Path:
    path = tmp_path / "pricing-watch.md"
    path.write_text(PROMPT, encoding="utf-8")
    return path


@pytest.fixture
def reanalyze(
    moto_server: MotoServer, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], run: str, prompt_file: Path,
) -> Callable[..., tuple[int, str]]:  # fmt: skip
    """``reanalyze RUN --prompt FILE --via batch --yes [args]``: (exit code, stderr)."""
    monkeypatch.setenv("GEMINI_MAX_ATTEMPTS", "1")

    def call(*args: str) -> tuple[int, str]:
        code = main([run, "--prompt", str(prompt_file), "--via", "batch", "--yes", *args])
        return code, capsys.readouterr().err

    return call


def _results(s3: S3Client, bucket: str) -> dict[str, dict[str, Any]]:
    found = {}
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix="analysis/").get("Contents", []):
        if obj["Key"].endswith(".json"):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            found[obj["Key"]] = json.loads(body)
    return found


def _without_nonce(body: dict[str, Any]) -> str:
    text = json.dumps({k: v for k, v in body.items() if k != "model"}, sort_keys=True)
    return re.sub(r"(PAGE_CONTENT )[0-9a-f]{16}", r"\1NONCE", text)


def test_submit_then_collect_gives_the_interactive_results_under_the_same_keys(
    reanalyze: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
    run: str, prompt_file: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    assert main([run, "--prompt", str(prompt_file), "--yes"]) == 1  # one page failed to render
    capsys.readouterr()
    interactive = _results(s3, bucket)
    asked = {_without_nonce(r.body) for r in gemini.requests}
    for key in interactive:
        s3.delete_object(Bucket=bucket, Key=key)
    gemini.reset()

    code, err = reanalyze()
    assert code == 0, err
    [job] = gemini.batch_jobs
    assert job.source == "inline"
    assert re.search(rf"submitted {job.name} \(inline\): 4 pages, batch-priced estimate "
                     r"\$0\.00\d+ \(prices as of", err), err  # fmt: skip
    assert "estimated cost at Batch API prices: $0.00" in err
    assert gemini.calls == 0
    # exactly what the interactive calls sent: system instruction, schema, text, screenshot
    assert {_without_nonce(r.body) for r in gemini.batch_requests(job)} == asked
    assert len(_results(s3, bucket)) == 1  # the render failure, recorded at once

    code, err = reanalyze()  # the job is running: nothing stored, nothing submitted again
    assert code == 0, err
    assert "running, 4 pages" in err
    assert len(_results(s3, bucket)) == 1

    code, err = reanalyze()
    assert code == 0, err
    assert "succeeded, 4 pages; stored 4" in err
    batch = _results(s3, bucket)
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
    reanalyze: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
) -> None:  # fmt: skip
    gemini.batch_states("PENDING", "SUCCEEDED")
    assert reanalyze()[0] == 0
    code, err = reanalyze()
    assert code == 0, err
    stored = _results(s3, bucket)
    assert len(stored) == 5

    code, err = reanalyze()
    assert code == 0, err
    assert "nothing to submit" in err
    assert lambda_handler({"collect_batches": {}}, LocalContext(60))["stored"] == 0
    assert _results(s3, bucket) == stored  # not one object rewritten
    assert len(gemini.batch_jobs) == 1


def test_two_concurrent_submitters_create_one_job(
    gemini: GeminiServer, s3: S3Client, bucket: str, run: str, prompt_file: Path,
    moto_server: MotoServer, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    gemini.batch_create_delay(0.5)  # both are inside the submission at once
    codes: list[int] = []
    start = threading.Barrier(2)

    def submit() -> None:
        start.wait()
        codes.append(main([run, "--prompt", str(prompt_file), "--via", "batch", "--yes"]))

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
    reanalyze: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
    state: str,
) -> None:  # fmt: skip
    gemini.batch_states("PENDING", state)
    assert reanalyze()[0] == 0
    gemini.batch_states("PENDING", "SUCCEEDED")

    code, err = reanalyze()
    assert code == 1
    first, second = gemini.batch_jobs
    assert f"batch {first.name}: {state.lower()}, 4 pages; 4 released" in err
    assert f"submitted {second.name}" in err
    assert sorted(second.keys) == sorted(first.keys)

    assert reanalyze()[0] == 0
    assert len(_results(s3, bucket)) == 5
    assert len(gemini.batch_jobs) == 2


def test_an_answer_that_fails_the_schema_becomes_an_error_result(
    reanalyze: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
) -> None:  # fmt: skip
    gemini.reset(default="ok", script=["plain_text"])  # the job's first answer obeys an injection
    gemini.batch_states("PENDING", "SUCCEEDED")
    assert reanalyze()[0] == 0
    code, err = reanalyze()
    assert code == 1, err
    assert "stored 3, 1 error results" in err
    invalid = [r for r in _results(s3, bucket).values()
               if r["error"] and r["error"]["type"] == "invalid_output"]  # fmt: skip
    assert len(invalid) == 1
    assert invalid[0]["analysis"] is None
    assert invalid[0]["usage"]["input_tokens"] > 0  # the answer was paid for: its usage counts


def test_a_large_submission_is_split_into_uploaded_files_and_collected_by_the_schedule(
    reanalyze: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
    monkeypatch: pytest.MonkeyPatch, run: str, prompt_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    assert main([run, "--prompt", str(prompt_file), "--yes"]) == 1  # the interactive requests
    asked = {_without_nonce(r.body) for r in gemini.requests}
    for key in _results(s3, bucket):
        s3.delete_object(Bucket=bucket, Key=key)
    gemini.reset()
    capsys.readouterr()
    monkeypatch.setenv("GEMINI_BATCH_INLINE_MAX_BYTES", "0")
    monkeypatch.setenv("GEMINI_BATCH_MAX_REQUESTS", "3")
    gemini.batch_states("PENDING", "SUCCEEDED")
    code, err = reanalyze()
    assert code == 0, err
    first, second = gemini.batch_jobs
    assert (first.source, second.source) == ("file", "file")
    assert (len(first.requests), len(second.requests)) == (3, 1)
    assert err.count("(file)") == 2
    sent = gemini.batch_requests(first) + gemini.batch_requests(second)
    assert {_without_nonce(r.body) for r in sent} == asked  # the file's lines: the same JSON

    summary = lambda_handler({"collect_batches": {}}, LocalContext(60))
    assert summary["stored"] == 4, summary
    assert {job["state"] for job in summary["jobs"]} == {"JOB_STATE_SUCCEEDED"}
    stored = _results(s3, bucket)
    assert len(stored) == 5
    assert all(r["analysis"] for r in stored.values() if r["url"] != "https://acme.example/p4")
    assert lambda_handler({"collect_batches": {}}, LocalContext(60))["jobs"] == []


def test_dry_run_prints_both_prices_and_submits_nothing(
    reanalyze: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
) -> None:  # fmt: skip
    code, err = reanalyze("--dry-run")
    assert code == 0, err
    standard = float(err.split("estimated cost: $")[1].split()[0])
    batch = float(err.split("estimated cost at Batch API prices: $")[1].split()[0])
    assert batch == pytest.approx(standard / 2, abs=1e-4)
    assert gemini.batch_jobs == []
    assert _results(s3, bucket) == {}


def test_a_job_whose_submitter_died_before_recording_it_is_found_by_its_name(
    reanalyze: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
) -> None:  # fmt: skip
    gemini.batch_states("PENDING", "SUCCEEDED")
    assert reanalyze()[0] == 0
    [job] = gemini.batch_jobs
    [key] = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
             if o["Key"].endswith(".batch")]  # fmt: skip
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    # as if the submitter died while the create call was under way, long ago
    manifest.update(job=None, state="creating", created_at="2026-01-01T00:00:00Z")
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())

    code, err = reanalyze()
    assert code == 0, err
    assert f"batch {job.name}: succeeded, 4 pages; stored 4" in err
    assert len(gemini.batch_jobs) == 1  # found, not paid for again
    assert len(_results(s3, bucket)) == 5


def test_pages_in_a_job_are_left_alone_interactively_and_answered_pages_skipped_at_collection(
    reanalyze: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
    run: str, prompt_file: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    gemini.batch_states("PENDING", "SUCCEEDED")
    assert reanalyze()[0] == 0
    [job] = gemini.batch_jobs

    # an interactive re-analysis meanwhile: the job's pages are claimed, none is asked again
    assert main([run, "--prompt", str(prompt_file), "--yes"]) == 1  # 4 pending
    assert "4 pending" in capsys.readouterr().err
    assert gemini.calls == 0

    answered = job.keys[0]  # as if answered another way while the job ran
    s3.put_object(Bucket=bucket, Key=answered, Body=b'{"answered": "elsewhere"}')
    code, err = reanalyze()
    assert code == 0, err
    assert "stored 3, 0 error results, 1 already had one" in err
    assert json.loads(s3.get_object(Bucket=bucket, Key=answered)["Body"].read()) == {
        "answered": "elsewhere"
    }


def test_a_refused_create_is_reported_and_its_pages_are_submitted_by_the_next_run(
    reanalyze: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
) -> None:  # fmt: skip
    gemini.batch_create_errors(429)
    code, err = reanalyze()
    assert code == 1
    assert "not submitted: " in err
    assert "HTTP 429" in err
    assert gemini.batch_jobs == []

    code, err = reanalyze()  # nothing stranded: the pages' claims were released
    assert code == 0, err
    [job] = gemini.batch_jobs
    assert len(job.requests) == 4


def test_the_scheduled_collector_stops_before_the_lambda_times_out_and_the_next_poll_goes_on(
    reanalyze: Callable[..., tuple[int, str]], gemini: GeminiServer, s3: S3Client, bucket: str,
) -> None:  # fmt: skip
    gemini.batch_states("PENDING", "SUCCEEDED")
    assert reanalyze()[0] == 0
    short = lambda_handler({"collect_batches": {}}, LocalContext(5))  # 3 s left: too little
    assert short["jobs"] == []
    assert len(_results(s3, bucket)) == 1  # only the render failure, from the submission
    full = lambda_handler({"collect_batches": {}}, LocalContext(60))
    assert full["stored"] == 4, full
