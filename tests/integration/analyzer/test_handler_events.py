"""The handler with every event shape of SPEC.md, against moto and the fake Gemini server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.handler import lambda_handler
from analyzer_lambda.prompts.parser import default_prompt
from rivalscope_core.keys import ChunkRef, analysis_key
from tests.conftest import load_event
from tests.integration.analyzer.conftest import page, put_chunk, results, retarget

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.servers.gemini import GeminiServer

pytestmark = pytest.mark.integration

MODEL = "gemini-2.5-flash"


def _three_pages() -> list[dict[str, object]]:
    return [
        page("pricing.html", unknown_future_field={"ignored": True}),
        page("article.html"),
        page("japanese.html"),
    ]


def _expected_keys(bucket: str, key: str, lines: range) -> set[str]:
    prompt_id = default_prompt().prompt_id
    return {analysis_key(ChunkRef(bucket, key), n, prompt_id, MODEL) for n in lines}


def test_s3_put_event_writes_one_result_per_page_at_the_deterministic_keys(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    key = put_chunk(s3, bucket, _three_pages())
    event = retarget(load_event("s3_put.json"), bucket, key)

    summary = lambda_handler(event, LocalContext(60))

    assert summary["complete"] is True
    assert (summary["done"], summary["failed"], summary["skipped"]) == (3, 0, 0)
    stored = results(s3, bucket)
    assert set(stored) == _expected_keys(bucket, key, range(1, 4))
    for result in stored.values():
        assert result["analyzer"] == "gemini"
        assert result["model"] == MODEL
        assert result["chunk"] == f"s3://{bucket}/{key}"
        assert result["error"] is None
        assert result["usage"]["input_tokens"] > 0
        assert result["usage"]["output_tokens"] > 0
        assert "delimited=True" in result["analysis"]["summary"]
    assert {r["url"] for r in stored.values()} == {p["url"] for p in _three_pages()}
    assert gemini.calls == 3
    assert all(r.api_key == "test-key" for r in gemini.requests)


def test_the_same_event_again_makes_no_model_call(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    key = put_chunk(s3, bucket, _three_pages())
    event = retarget(load_event("s3_put.json"), bucket, key)
    lambda_handler(event, LocalContext(60))

    again = lambda_handler(event, LocalContext(60))

    assert (again["done"], again["skipped"]) == (0, 3)
    assert gemini.calls == 3


def test_sqs_message_with_s3_notification_reports_no_failures(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    key = put_chunk(s3, bucket, _three_pages())
    event = retarget(load_event("sqs_s3_put.json"), bucket, key)

    response = lambda_handler(event, LocalContext(60))

    assert response == {"batchItemFailures": []}
    assert set(results(s3, bucket)) == _expected_keys(bucket, key, range(1, 4))


@pytest.mark.parametrize("name", ["s3_test_event.json", "sqs_s3_test_event.json"])
def test_s3_test_event_is_ignored(bucket: str, gemini: GeminiServer, name: str) -> None:
    event = retarget(load_event(name), bucket)
    if "Records" in event and event["Records"][0].get("eventSource") == "aws:sqs":
        assert lambda_handler(event, LocalContext(60)) == {"batchItemFailures": []}
    else:
        with pytest.raises(ValueError, match="unsupported event"):
            lambda_handler(event, LocalContext(60))
    assert gemini.calls == 0


def test_eventbridge_object_created(s3: S3Client, bucket: str, gemini: GeminiServer) -> None:
    key = put_chunk(s3, bucket, _three_pages())
    event = retarget(load_event("eventbridge_object_created.json"), bucket, key)

    summary = lambda_handler(event, LocalContext(60))

    assert summary["done"] == 3
    assert set(results(s3, bucket)) == _expected_keys(bucket, key, range(1, 4))


def test_multipart_upload_raising_put_and_complete_analyses_once(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    key = put_chunk(s3, bucket, _three_pages(), offset=5)
    put = retarget(load_event("s3_put.json"), bucket, key)
    complete = retarget(load_event("s3_multipart_complete.json"), bucket, key)

    first = lambda_handler(put, LocalContext(60))
    second = lambda_handler(complete, LocalContext(60))

    assert (first["done"], second["done"], second["skipped"]) == (3, 0, 3)
    assert gemini.calls == 3


def test_reanalyze_event_uses_its_prompt_and_model(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    key = put_chunk(s3, bucket, _three_pages())
    prompt_text = (
        "---\nname: pricing-only\ninclude_screenshot: false\nschema:\n  type: object\n"
        "  properties:\n    plans:\n      type: array\n      items: {type: string}\n"
        "  required: [plans]\n---\nList the plan names.\n"
    )
    s3.put_object(Bucket=bucket, Key="prompts/pricing-only.md", Body=prompt_text.encode())
    event = retarget(load_event("reanalyze.json"), bucket, key)

    summary = lambda_handler(event, LocalContext(60))

    assert summary["done"] == 3
    stored = list(results(s3, bucket).values())
    assert {r["model"] for r in stored} == {"gemini-2.5-pro"}
    assert {r["prompt_id"].rsplit("-", 1)[0] for r in stored} == {"pricing-only"}
    assert all(set(r["analysis"]) == {"plans"} for r in stored)
    assert {r.model for r in gemini.requests} == {"gemini-2.5-pro"}
    assert all("List the plan names." in r.system_text for r in gemini.requests)


def test_unsupported_event_is_rejected(bucket: str, gemini: GeminiServer) -> None:
    with pytest.raises(ValueError, match="unsupported event"):
        lambda_handler({"hello": "world"}, LocalContext(60))
