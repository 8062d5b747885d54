"""What reaches Gemini: the key (from Secrets Manager in AWS), the screenshot fitted to the
model (or none when the prompt says so), and the text within its budget; and what a warm start
leaves behind in /tmp."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

import boto3
import pytest
from PIL import Image

from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.handler import lambda_handler
from tests.conftest import load_event
from tests.integration.analyzer.conftest import page, put_chunk, results, retarget, screenshot_b64

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from tests.servers.gemini import GeminiServer
    from tests.servers.moto import MotoServer

pytestmark = pytest.mark.integration


def _s3_event(bucket: str, key: str) -> dict[str, object]:
    event: dict[str, object] = retarget(load_event("s3_put.json"), bucket, key)
    return event


def _keys_sent_for_one_page(s3: S3Client, bucket: str, gemini: GeminiServer) -> list[str | None]:
    """Analyses one stored page through the handler; the API keys the model server received."""
    key = put_chunk(s3, bucket, [page()])
    lambda_handler(_s3_event(bucket, key), LocalContext(60))
    return [r.api_key for r in gemini.requests]


def test_key_is_read_from_secrets_manager_when_not_in_the_environment(
    s3: S3Client,
    bucket: str,
    gemini: GeminiServer,
    moto_server: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets = boto3.client("secretsmanager", endpoint_url=moto_server.endpoint)
    arn = secrets.create_secret(Name=f"{bucket}-gemini", SecretString="key-from-secrets")["ARN"]
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GEMINI_API_KEY_SECRET_ARN", arn)

    assert _keys_sent_for_one_page(s3, bucket, gemini) == ["key-from-secrets"]


def test_key_is_read_from_an_ssm_secure_string(
    s3: S3Client,
    bucket: str,
    gemini: GeminiServer,
    moto_server: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ssm = boto3.client("ssm", endpoint_url=moto_server.endpoint)
    name = f"/{bucket}/gemini-key"
    ssm.put_parameter(Name=name, Value="key-from-ssm", Type="SecureString")
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GEMINI_API_KEY_PARAMETER", name)

    assert _keys_sent_for_one_page(s3, bucket, gemini) == ["key-from-ssm"]


def test_offline_extract_analyser_is_chosen_by_name_and_calls_no_model(
    s3: S3Client, bucket: str, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYZER", "extract")
    monkeypatch.delenv("GEMINI_API_KEY")
    key = put_chunk(s3, bucket, [page()])

    summary = lambda_handler(_s3_event(bucket, key), LocalContext(60))

    (result,) = results(s3, bucket).values()
    assert summary["done"] == 1
    assert result["analyzer"] == "extract"
    assert result["analysis"] is not None
    assert gemini.calls == 0


def test_tall_screenshot_is_sent_as_the_top_of_the_page_downscaled(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    key = put_chunk(s3, bucket, [page(screenshot=screenshot_b64(1280, 9000))])

    lambda_handler(_s3_event(bucket, key), LocalContext(60))

    (image_part,) = gemini.requests[0].image_parts
    assert image_part["mime_type"] == "image/jpeg"
    data = image_part["data"]  # google-genai sends URL-safe base64 without padding
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    with Image.open(io.BytesIO(raw)) as image:
        assert max(image.size) <= 1536
        assert image.height == 2 * image.width  # the top 1280 x 2560 of the page


def test_prompt_without_screenshot_sends_none(
    s3: S3Client, bucket: str, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.put_object(
        Bucket=bucket,
        Key="prompts/text-only.md",
        Body=b"---\nname: text-only\ninclude_screenshot: false\n---\nSummarise the page.\n",
    )
    monkeypatch.setenv("ANALYSIS_PROMPT", "text-only")  # a NAME under prompts/
    key = put_chunk(s3, bucket, [page(screenshot=screenshot_b64())])

    lambda_handler(_s3_event(bucket, key), LocalContext(60))

    assert gemini.requests[0].image_parts == []
    assert "Summarise the page." in gemini.requests[0].system_text
    (result,) = results(s3, bucket).values()
    assert result["prompt_id"].startswith("text-only-")


def test_record_prompt_beats_analysis_prompt(
    s3: S3Client, bucket: str, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.put_object(Bucket=bucket, Key="prompts/run-prompt.md", Body=b"Run prompt text.\n")
    monkeypatch.setenv("ANALYSIS_PROMPT", "no-such-prompt")
    key = put_chunk(s3, bucket, [page(prompt=f"s3://{bucket}/prompts/run-prompt.md")])

    lambda_handler(_s3_event(bucket, key), LocalContext(60))

    assert "Run prompt text." in gemini.requests[0].system_text


def test_text_budget_caps_what_is_sent(
    s3: S3Client, bucket: str, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYZER_TEXT_TOKENS", "100")
    key = put_chunk(s3, bucket, [page("article.html")])

    lambda_handler(_s3_event(bucket, key), LocalContext(60))

    sent = "\n".join(gemini.requests[0].texts)
    assert "How we cut delivery times by 30%" in sent
    assert "Section 7" not in sent
    assert "text truncated to fit the budget: yes" in sent


def test_warm_start_removes_leftovers_of_an_earlier_invocation(
    s3: S3Client,
    bucket: str,
    gemini: GeminiServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work_dir = tmp_path / "work"
    monkeypatch.setenv("ANALYZER_WORK_DIR", str(work_dir))
    leftover = work_dir / "crashed-invocation" / "items.0000000.jl.gz"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"x" * 1024)
    key = put_chunk(s3, bucket, [page()])

    lambda_handler(_s3_event(bucket, key), LocalContext(60))

    assert not leftover.exists()


def test_a_palette_png_screenshot_is_sent_as_jpeg_and_says_so(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    """``SELENIUM_SCREENSHOT_FORMAT=auto`` stores text pages as palette PNGs (issue #16)."""
    capture = Image.new("RGB", (1280, 3000), "white")
    capture.paste((34, 51, 68), (0, 0, 1280, 140))
    out = io.BytesIO()
    capture.quantize(16).save(out, "PNG")
    shot = {"format": "png", "width": 1280, "height": 3000}
    shot["data"] = base64.b64encode(out.getvalue()).decode()
    key = put_chunk(s3, bucket, [page(screenshot=shot)])

    lambda_handler(_s3_event(bucket, key), LocalContext(60))

    (image_part,) = gemini.requests[0].image_parts
    assert image_part["mime_type"] == "image/jpeg"
    data = image_part["data"]
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    with Image.open(io.BytesIO(raw)) as image:
        assert (image.format, image.mode) == ("JPEG", "RGB")
