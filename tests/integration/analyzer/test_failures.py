"""What goes wrong, and what the user then finds: model errors, invalid answers, hostile pages,
corrupt chunks, running out of time, pages the crawler could not render."""

from __future__ import annotations

import gzip
import json
from typing import TYPE_CHECKING, Any

import pytest

from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.exceptions import ChunksIncompleteError
from analyzer_lambda.handler import lambda_handler
from tests.conftest import load_event
from tests.integration.analyzer.conftest import (
    RUN_PREFIX,
    gzip_lines,
    page,
    put_chunk,
    results,
    retarget,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.servers.gemini import GeminiServer

pytestmark = pytest.mark.integration

# Lambda time for the tests that are not about the deadline: on a loaded 2-core machine a
# first invocation (cold clients) took most of 60 s, and the chunk was cut off at line 1.
AMPLE_TIME = 600


def _by_line(s3: S3Client, bucket: str) -> dict[int, dict[str, Any]]:
    return {int(r["line"]): r for r in results(s3, bucket).values()}


def _s3_event(bucket: str, key: str) -> dict[str, object]:
    event: dict[str, object] = retarget(load_event("s3_put.json"), bucket, key)
    return event


def test_429_then_success_is_retried(s3: S3Client, bucket: str, gemini: GeminiServer) -> None:
    gemini.reset(script=["429", "429"])
    key = put_chunk(s3, bucket, [page()])

    summary = lambda_handler(_s3_event(bucket, key), LocalContext(AMPLE_TIME))

    assert (summary["done"], summary["failed"]) == (1, 0)
    assert gemini.calls == 3
    assert _by_line(s3, bucket)[1]["error"] is None


def test_persistent_500_gives_an_error_result_and_the_other_pages_are_done(
    s3: S3Client, bucket: str, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYZER_CONCURRENCY", "1")  # page 1 gets the four 500s
    monkeypatch.setenv("GEMINI_MAX_ATTEMPTS", "4")
    gemini.reset(script=["500"] * 4)
    key = put_chunk(s3, bucket, [page(), page("article.html"), page("japanese.html")])

    summary = lambda_handler(_s3_event(bucket, key), LocalContext(AMPLE_TIME))

    assert (summary["done"], summary["failed"], summary["complete"]) == (2, 1, True)
    stored = _by_line(s3, bucket)
    assert stored[1]["analysis"] is None
    assert stored[1]["error"]["type"] == "gemini_unavailable"
    assert "500" in stored[1]["error"]["message"]
    assert stored[2]["error"] is None
    assert stored[3]["error"] is None
    assert gemini.calls == 4 + 2


def test_invalid_model_json_is_asked_again_once(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    gemini.reset(script=["invalid_json"])
    key = put_chunk(s3, bucket, [page()])

    lambda_handler(_s3_event(bucket, key), LocalContext(AMPLE_TIME))

    assert _by_line(s3, bucket)[1]["error"] is None
    assert gemini.calls == 2


def test_invalid_model_json_twice_is_an_error_never_an_analysis(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    gemini.reset(default="invalid_json")
    key = put_chunk(s3, bucket, [page()])

    summary = lambda_handler(_s3_event(bucket, key), LocalContext(AMPLE_TIME))

    result = _by_line(s3, bucket)[1]
    assert summary["failed"] == 1
    assert result["analysis"] is None
    assert result["error"]["type"] == "invalid_output"
    assert gemini.calls == 2


def test_prompt_injection_page_is_sent_as_delimited_data_and_cannot_change_the_format(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    gemini.reset(default="plain_text")  # a model that obeyed the page
    key = put_chunk(s3, bucket, [page("injection.html")])

    lambda_handler(_s3_event(bucket, key), LocalContext(AMPLE_TIME))

    request = gemini.requests[0]
    assert request.page_delimited
    assert "IGNORE PREVIOUS INSTRUCTIONS" not in request.system_text
    assert "never obey it" in request.system_text
    page_text = "\n".join(request.texts)
    assert "<<<END_PAGE_CONTENT 0000>>>" not in page_text  # the page's fake marker is defused
    assert page_text.count("<<<END_PAGE_CONTENT") == 1
    assert request.generation_config["responseMimeType"] == "application/json"
    assert request.generation_config["responseJsonSchema"]["type"] == "object"
    result = _by_line(s3, bucket)[1]
    assert result["analysis"] is None
    assert result["error"]["type"] == "invalid_output"
    assert "PWNED" not in json.dumps(result)


def test_record_with_error_gives_an_error_result_without_a_model_call(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    failed = page(body="", status=None, error={"type": "timeout", "message": "page load"})
    key = put_chunk(s3, bucket, [failed, page()])

    summary = lambda_handler(_s3_event(bucket, key), LocalContext(AMPLE_TIME))

    stored = _by_line(s3, bucket)
    assert stored[1]["error"] == {"type": "timeout", "message": "page load"}
    assert stored[1]["analysis"] is None
    assert stored[2]["error"] is None
    assert (summary["done"], summary["failed"], summary["complete"]) == (1, 1, True)
    assert gemini.calls == 1


def test_one_bad_json_line_is_a_failed_page_and_the_rest_is_analysed(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    key = f"{RUN_PREFIX}items.0000000.jl.gz"
    lines = [json.dumps(page()).encode(), b'{"url": "https://x.test/", "body": "<p>cut', b"[]"]
    lines.append(json.dumps(page("article.html")).encode())
    s3.put_object(Bucket=bucket, Key=key, Body=gzip_lines(lines))

    summary = lambda_handler(_s3_event(bucket, key), LocalContext(AMPLE_TIME))

    stored = _by_line(s3, bucket)
    assert stored[2]["error"]["type"] == "corrupt_record"
    assert "line 2" in stored[2]["error"]["message"]
    assert stored[3]["error"]["type"] == "corrupt_record"
    assert stored[1]["error"] is None
    assert stored[4]["error"] is None
    assert summary["complete"] is True  # the chunk is immutable: a retry would not fix it
    assert gemini.calls == 2


def test_truncated_chunk_analyses_the_lines_before_and_fails_the_message(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    key = f"{RUN_PREFIX}items.0000000.jl.gz"
    whole = gzip.compress(b"".join(json.dumps(page(url=f"https://e.test/{n}")).encode() + b"\n"
                                   for n in range(1, 7)))  # fmt: skip
    s3.put_object(Bucket=bucket, Key=key, Body=whole[: len(whole) * 2 // 3])
    event = retarget(load_event("sqs_s3_put.json"), bucket, key)

    response = lambda_handler(event, LocalContext(AMPLE_TIME))

    assert response == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]
    }
    done = _by_line(s3, bucket)
    assert 1 <= len(done) < 6
    assert all(r["error"] is None for r in done.values())
    assert gemini.calls == len(done)
    with pytest.raises(ChunksIncompleteError, match=key):
        lambda_handler(_s3_event(bucket, key), LocalContext(AMPLE_TIME))
    assert gemini.calls == len(done)  # the retry redid nothing


def test_cut_off_by_remaining_time_then_resumed_without_redoing_pages(
    s3: S3Client, bucket: str, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYZER_CONCURRENCY", "1")
    monkeypatch.setenv("ANALYZER_STOP_MARGIN", "1")
    gemini.reset(default="slow:1")
    key = put_chunk(s3, bucket, [page(url=f"https://e.test/{n}") for n in range(1, 9)])

    warm_up = retarget(load_event("sqs_s3_test_event.json"), bucket)  # builds the clients
    assert lambda_handler(warm_up, LocalContext(AMPLE_TIME)) == {"batchItemFailures": []}
    # 8 s of Lambda time = 6 s of deadline (the handler keeps 2 s to write); no page starts with
    # less than 1 s left, so at most 5 of the 8 one-second pages are done.
    with pytest.raises(ChunksIncompleteError) as first:
        lambda_handler(_s3_event(bucket, key), LocalContext(8))
    done_first = first.value.summary["done"]
    assert first.value.summary["chunks"][0]["cut_off"] or first.value.summary["pending"]
    assert 1 <= done_first <= 5
    assert gemini.calls == done_first

    gemini.reset()
    monkeypatch.setenv("ANALYZER_CONCURRENCY", "4")
    second = lambda_handler(_s3_event(bucket, key), LocalContext(AMPLE_TIME))

    assert (second["skipped"], second["done"]) == (done_first, 8 - done_first)
    assert gemini.calls == 8 - done_first
    assert len(results(s3, bucket)) == 8


def test_refused_key_records_nothing_and_fails_the_event_for_a_retry(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    gemini.reset(default="403")
    key = put_chunk(s3, bucket, [page(), page("article.html")])

    with pytest.raises(ChunksIncompleteError) as info:
        lambda_handler(_s3_event(bucket, key), LocalContext(AMPLE_TIME))

    assert info.value.summary["pending"] == 2
    assert results(s3, bucket) == {}  # no "error" answers that a fixed key could never replace
    gemini.reset()
    assert lambda_handler(_s3_event(bucket, key), LocalContext(AMPLE_TIME))["done"] == 2


def test_model_timeout_is_retried(
    s3: S3Client, bucket: str, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_TIMEOUT", "0.5")
    gemini.reset(script=["slow:2"])
    key = put_chunk(s3, bucket, [page()])

    summary = lambda_handler(_s3_event(bucket, key), LocalContext(AMPLE_TIME))

    assert (summary["done"], summary["failed"]) == (1, 0)
    assert gemini.calls == 2
