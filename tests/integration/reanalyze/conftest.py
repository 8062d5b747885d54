"""Fixtures of the ``--via batch`` tests: a stored run of five pages (one a render failure), a
prompt file, and the command as a user types it."""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from analyzer_lambda.reanalyze.__main__ import main

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from tests.servers.gemini import GeminiServer
    from tests.servers.moto import MotoServer

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
def batch_run(s3: S3Client, bucket: str) -> str:
    """Five pages in two chunks; the last could not be rendered (no model call for it)."""
    s3.put_object(Bucket=bucket, Key=f"{RUN}items.0000000.jl.gz",
                  Body=_chunk([_page(i) for i in range(3)]))  # fmt: skip
    second = [_page(3), _page(4, error={"type": "timeout", "message": "30 s"})]
    s3.put_object(Bucket=bucket, Key=f"{RUN}items.0000003.jl.gz", Body=_chunk(second))
    return f"s3://{bucket}/{RUN}"


@pytest.fixture
def batch_prompt(tmp_path: Path) -> Path:
    path = tmp_path / "pricing-watch.md"
    path.write_text(PROMPT, encoding="utf-8")
    return path


@pytest.fixture
def via_batch(
    moto_server: MotoServer, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], batch_run: str, batch_prompt: Path,
) -> Callable[..., tuple[int, str]]:  # fmt: skip
    """``reanalyze RUN --prompt FILE --via batch --yes [args]``: (exit code, stderr)."""
    monkeypatch.setenv("GEMINI_MAX_ATTEMPTS", "1")

    def call(*args: str) -> tuple[int, str]:
        code = main([batch_run, "--prompt", str(batch_prompt), "--via", "batch", "--yes", *args])
        return code, capsys.readouterr().err

    return call


def results(s3: S3Client, bucket: str) -> dict[str, dict[str, Any]]:
    found = {}
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix="analysis/").get("Contents", []):
        if obj["Key"].endswith(".json"):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            found[obj["Key"]] = json.loads(body)
    return found


def without_nonce(body: dict[str, Any]) -> str:
    text = json.dumps({k: v for k, v in body.items() if k != "model"}, sort_keys=True)
    return re.sub(r"(PAGE_CONTENT )[0-9a-f]{16}", r"\1NONCE", text)
