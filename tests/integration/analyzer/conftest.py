"""Fixtures for the analyser against real parts: the session's moto server (S3, Secrets
Manager), the fake Gemini REST server reached through ``GOOGLE_GEMINI_BASE_URL``, and helpers
that store chunks and retarget the sample events at a test's fresh bucket."""

from __future__ import annotations

import base64
import gzip
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PAGES = Path(__file__).resolve().parents[2] / "data" / "pages"
RUN_PREFIX = "raw/competitors/2026-11-23T22-19-03/"
SAMPLE_BUCKET = "rivalscope-pages-example"


def screenshot_b64(width: int = 1280, height: int = 4000) -> dict[str, Any]:
    image = Image.new("RGB", (width, height), (250, 250, 250))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return {
        "format": "png",
        "width": width,
        "height": height,
        "data": base64.b64encode(out.getvalue()).decode(),
    }


def page(name: str = "pricing.html", *, url: str | None = None, **fields: Any) -> dict[str, Any]:
    """A page record as the crawler writes it, from one of the test pages."""
    html = (PAGES / name).read_text(encoding="utf-8")
    record = {
        "url": url or f"https://example.com/{name}",
        "final_url": url or f"https://example.com/{name}",
        "status": 200,
        "crawled_at": "2026-11-23T22:19:04.000000Z",
        "body": html,
        "title": name,
        "screenshot": None,
        "prompt": None,
        "error": None,
    }
    record.update(fields)
    return record


def gzip_lines(lines: list[bytes]) -> bytes:
    return gzip.compress(b"".join(line + b"\n" for line in lines))


def put_chunk(s3: S3Client, bucket: str, records: list[dict[str, Any]], *, offset: int = 0) -> str:
    """Store records as a raw chunk; returns its key."""
    key = f"{RUN_PREFIX}items.{offset:07d}.jl.gz"
    body = gzip_lines([json.dumps(r).encode() for r in records])
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return key


def retarget(event: Any, bucket: str, key: str | None = None) -> Any:
    """A sample event pointed at ``bucket`` (and ``key``): every occurrence of the sample bucket
    and of its sample chunk keys, URL-encoded or not, in nested JSON strings too."""
    text = json.dumps(event)
    text = text.replace(SAMPLE_BUCKET, bucket)
    if key is not None:
        for sample in ("items.0000000.jl.gz", "items.0000005.jl.gz"):
            encoded = (RUN_PREFIX + sample).replace("/", "%2F")
            escaped = json.dumps(encoded)[1:-1]
            text = text.replace(encoded, key.replace("/", "%2F")).replace(
                escaped, key.replace("/", "%2F")
            )
            text = text.replace(RUN_PREFIX + sample, key)
    return json.loads(text)


def results(s3: S3Client, bucket: str) -> dict[str, dict[str, Any]]:
    """Every stored result, by key."""
    found = {}
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="analysis/")
    for obj in listing.get("Contents", []):
        if obj["Key"].endswith(".json"):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            found[obj["Key"]] = json.loads(body)
    return found
