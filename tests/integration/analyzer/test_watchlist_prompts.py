"""Per-competitor prompts reach the model: each page of a watch-list crawl carries its
competitor's prompt reference, and the Lambda handler asks Gemini with that prompt, page by
page, in one chunk; a page without one gets ``ANALYSIS_PROMPT``. Results carry the competitor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.handler import lambda_handler
from tests.conftest import load_event
from tests.integration.analyzer.conftest import page, put_chunk, results, retarget

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from tests.servers.gemini import GeminiServer

pytestmark = pytest.mark.integration


def _prompt(name: str, marker: str) -> bytes:
    return f"---\nname: {name}\n---\n{marker}: describe this page.\n".encode()


def test_each_page_is_analysed_with_its_competitors_prompt(
    s3: S3Client,
    bucket: str,
    gemini: GeminiServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3.put_object(Bucket=bucket, Key="prompts/pricing-ja.md", Body=_prompt("pricing-ja", "JA-1"))
    s3.put_object(Bucket=bucket, Key="prompts/run.md", Body=_prompt("run", "RUN-3"))
    local = tmp_path / "acme.md"  # make run's crawl carries local prompts as absolute paths
    local.write_bytes(_prompt("acme", "ACME-2"))
    monkeypatch.setenv("ANALYSIS_PROMPT", "run")
    records = [
        page(url="https://hanami.example/", competitor="花見クラウド", prompt="pricing-ja"),
        page(url="https://acme.example/", competitor="Acme Analytics", prompt=str(local)),
        page(url="https://app.acme.example/", competitor="Acme Analytics", prompt=str(local)),
        page(url="https://loose.example/", competitor=None, prompt=None),
    ]
    key = put_chunk(s3, bucket, records)

    lambda_handler(retarget(load_event("s3_put.json"), bucket, key), LocalContext(60))

    sent = {}
    for request in gemini.requests:
        [url] = [
            r["url"] for r in records if f"requested URL: {r['url']}" in "".join(request.texts)
        ]
        sent[url] = [m for m in ("JA-1", "ACME-2", "RUN-3") if m in request.system_text]
    assert sent == {
        "https://hanami.example/": ["JA-1"],
        "https://acme.example/": ["ACME-2"],
        "https://app.acme.example/": ["ACME-2"],
        "https://loose.example/": ["RUN-3"],
    }
    stored = {
        r["url"]: (r["competitor"], r["prompt_id"].rsplit("-", 1)[0])
        for r in results(s3, bucket).values()
    }
    assert stored == {
        "https://hanami.example/": ("花見クラウド", "pricing-ja"),
        "https://acme.example/": ("Acme Analytics", "acme"),
        "https://app.acme.example/": ("Acme Analytics", "acme"),
        "https://loose.example/": (None, "run"),
    }
