"""The previous-capture lookup against a real S3 endpoint (the moto server) through boto3:
manifests written beside the chunks, rebuilt where missing or damaged, runs walked by name
whatever the order of analysis, and a request count that does not grow with the archive."""

from __future__ import annotations

import gzip
import io
import json
from typing import TYPE_CHECKING, Any

import pytest

from analyzer_lambda.analyzers.gemini.text import reduce_html
from analyzer_lambda.changes.history import rules_hash
from analyzer_lambda.changes.manifests import ManifestStore, captures_of_chunk
from analyzer_lambda.changes.rules import ChangeRules, RuleSet
from analyzer_lambda.chunks import read_pages

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from analyzer_lambda.changes.history import Capture
    from rivalscope_core.keys import ChunkRef
    from rivalscope_core.records import PageRecord

pytestmark = pytest.mark.integration

SPIDER = "competitors"
RULES = ChangeRules()
URLS = ["https://acme.example/pricing", "https://beta.example/"]


def _run(n: int) -> str:
    return f"2026-{1 + n // 28:02d}-{1 + n % 28:02d}T00-00-00"


def _store_run(s3: S3Client, bucket: str, run: str, price: int, *, fail: str = "") -> str:
    lines = []
    for url in URLS:
        error = {"type": "timeout", "message": "slow"} if url == fail else None
        html = f"<html><body><main><h1>Pricing</h1><p>Starter ${price}/mo</p></main></body></html>"
        record = {
            "url": url, "final_url": url, "status": 200, "crawled_at": f"{run[:10]}T00:00:00Z",
            "body": html, "title": "Pricing", "screenshot": None, "prompt": None, "error": error,
        }  # fmt: skip
        lines.append(json.dumps(record))
    key = f"raw/{SPIDER}/{run}/items.0000000.jl.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress("\n".join(lines).encode()))
    return key


class _Rebuilder:
    """Reads a chunk as the analyser does and counts how often it had to."""

    def __init__(self, s3: S3Client) -> None:
        self.s3 = s3
        self.read: list[str] = []

    def __call__(self, chunk: ChunkRef) -> list[Capture]:
        self.read.append(chunk.key)
        body = self.s3.get_object(Bucket=chunk.bucket, Key=chunk.key)["Body"].read()
        pages = read_pages(io.BytesIO(body), key=chunk.key)
        rules = RuleSet()
        return captures_of_chunk(
            chunk, pages, _text, lambda p: rules.for_url(p.url), rules_hash("")
        )


def _text(page: PageRecord) -> str:
    return reduce_html(page.body, 8000).text


class _Requests:
    """The S3 operations a client sends while counting (botocore's own event hook)."""

    def __init__(self, s3: S3Client) -> None:
        self.s3 = s3
        self.calls: list[str] = []

    def _note(self, event_name: str, **_: Any) -> None:
        self.calls.append(event_name.rsplit(".", 1)[-1])

    def __enter__(self) -> list[str]:
        self.s3.meta.events.register("before-call.s3", self._note)
        return self.calls

    def __exit__(self, *_: object) -> None:
        self.s3.meta.events.unregister("before-call.s3", self._note)


def test_the_previous_capture_comes_from_the_run_before_and_its_manifest_is_kept(
    s3: S3Client, bucket: str
) -> None:
    for n, price in enumerate([29, 39, 49]):
        _store_run(s3, bucket, _run(n), price, fail=URLS[1] if n == 1 else "")
    store = ManifestStore(s3, bucket, SPIDER)
    rebuild = _Rebuilder(s3)
    history = store.history(_run(3), URLS, rebuild, rules_hash(RULES.signature), depth=1)
    assert history[URLS[0]][0].run == _run(2)
    assert history[URLS[1]][0].run == _run(2)
    assert rebuild.read == [f"raw/{SPIDER}/{_run(2)}/items.0000000.jl.gz"]
    # the manifest now sits beside the chunk; the next lookup reads it, not the chunk
    manifest = f"raw/{SPIDER}/{_run(2)}/_manifest/items.0000000.manifest.json"
    assert json.loads(s3.get_object(Bucket=bucket, Key=manifest)["Body"].read())["pages"]
    rebuild.read.clear()
    again = store.history(_run(3), URLS, rebuild, rules_hash(RULES.signature), depth=1)
    assert again == history
    assert rebuild.read == []


def test_reanalysing_an_old_run_compares_with_the_run_before_it(s3: S3Client, bucket: str) -> None:
    for n, price in enumerate([29, 39, 49]):
        _store_run(s3, bucket, _run(n), price, fail=URLS[1] if n == 1 else "")
    store = ManifestStore(s3, bucket, SPIDER)
    history = store.history(_run(1), URLS, _Rebuilder(s3), "r", depth=1)
    assert history[URLS[0]][0].run == _run(0)  # not today's run
    # in run 1 the second URL failed: analysing run 2 walks past it to run 0
    history = store.history(_run(2), URLS, _Rebuilder(s3), "r", depth=1)
    assert history[URLS[1]][0].run == _run(0)
    assert history[URLS[0]][0].run == _run(1)


def test_a_damaged_manifest_is_rebuilt_from_its_chunk(s3: S3Client, bucket: str) -> None:
    _store_run(s3, bucket, _run(0), 29)
    manifest = f"raw/{SPIDER}/{_run(0)}/_manifest/items.0000000.manifest.json"
    s3.put_object(Bucket=bucket, Key=manifest, Body=b"{truncated")
    rebuild = _Rebuilder(s3)
    history = ManifestStore(s3, bucket, SPIDER).history(_run(1), URLS, rebuild, "r", depth=1)
    assert history[URLS[0]][0].run == _run(0)
    assert rebuild.read == [f"raw/{SPIDER}/{_run(0)}/items.0000000.jl.gz"]
    assert json.loads(s3.get_object(Bucket=bucket, Key=manifest)["Body"].read())["version"] == 1


def test_the_lookup_costs_the_same_requests_for_10_or_60_runs(s3: S3Client, bucket: str) -> None:
    counts = []
    for total in (10, 60):
        for n in range(total):
            if not s3.list_objects_v2(Bucket=bucket, Prefix=f"raw/{SPIDER}/{_run(n)}/")[
                "KeyCount"
            ]:
                _store_run(s3, bucket, _run(n), 20 + n)
        store = ManifestStore(s3, bucket, SPIDER)
        store.history(_run(total), URLS, _Rebuilder(s3), "r", depth=1)  # writes the manifest
        with _Requests(s3) as calls:
            history = store.history(_run(total), URLS, _Rebuilder(s3), "r", depth=1)
        assert history[URLS[0]][0].run == _run(total - 1)
        counts.append(calls)
    assert counts[0] == counts[1]
    assert counts[0].count("GetObject") == 1
