"""The S3 claim protocol against moto's real conditional writes: a live claim keeps others
out, an expired one (its invocation crashed) is taken over by exactly one invocation."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.exceptions import ChunksIncompleteError
from analyzer_lambda.handler import lambda_handler
from analyzer_lambda.prompts.parser import default_prompt
from analyzer_lambda.store import Store
from rivalscope_core.keys import ChunkRef, analysis_key, claim_key
from tests.conftest import load_event
from tests.integration.analyzer.conftest import page, put_chunk, results, retarget

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.servers.gemini import GeminiServer

pytestmark = pytest.mark.integration


def test_second_claim_is_refused_while_the_first_is_live(s3: S3Client, bucket: str) -> None:
    store = Store(s3)
    first = store.claim(bucket, "analysis/x.claim", ttl=900)
    assert first is not None
    assert store.claim(bucket, "analysis/x.claim", ttl=900) is None
    store.release(first)
    assert store.claim(bucket, "analysis/x.claim", ttl=900) is not None


def test_expired_claim_is_taken_over_by_exactly_one_of_many(s3: S3Client, bucket: str) -> None:
    store = Store(s3)
    assert store.claim(bucket, "analysis/y.claim", ttl=1) is not None
    time.sleep(2.1)  # ttl + one second: S3 timestamps have one-second resolution

    with ThreadPoolExecutor(4) as pool:
        claims = list(pool.map(lambda _: store.claim(bucket, "analysis/y.claim", ttl=1), range(4)))

    assert sum(claim is not None for claim in claims) == 1


def test_page_claimed_by_a_crashed_invocation_is_retried_after_claim_ttl(
    s3: S3Client, bucket: str, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = put_chunk(s3, bucket, [page(), page("article.html")])
    result_key = analysis_key(
        ChunkRef(bucket, key), 1, default_prompt().prompt_id, "gemini-2.5-flash"
    )
    s3.put_object(Bucket=bucket, Key=claim_key(result_key), Body=b'{"owner": "crashed"}')
    event = retarget(load_event("s3_put.json"), bucket, key)

    with pytest.raises(ChunksIncompleteError) as info:  # page 1 is someone else's, for now
        lambda_handler(event, LocalContext(60))
    assert (info.value.summary["done"], info.value.summary["pending"]) == (1, 1)

    monkeypatch.setenv("CLAIM_TTL", "1")
    time.sleep(2.1)  # ttl + one second of timestamp resolution
    summary = lambda_handler(event, LocalContext(60))

    assert (summary["done"], summary["skipped"], summary["complete"]) == (1, 1, True)
    assert result_key in results(s3, bucket)
    assert gemini.calls == 2
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=claim_key(result_key))


def test_a_claim_that_says_it_lives_longer_is_not_taken_over_after_the_takers_ttl(
    s3: S3Client, bucket: str
) -> None:
    """A page in a Gemini batch job is claimed for as long as the job may run: an interactive
    invocation with a 1 s CLAIM_TTL must not take it over and pay for it a second time."""
    store = Store(s3)
    held = store.claim(bucket, "analysis/z.claim", ttl=3600, note={"batch_submission": "s1"})
    assert held is not None
    assert store.read_claim(bucket, "analysis/z.claim")["batch_submission"] == "s1"  # type: ignore[index]
    time.sleep(2.1)  # older than the taker's ttl + one second

    assert store.claim(bucket, "analysis/z.claim", ttl=1) is None
    store.release(held)
    assert store.claim(bucket, "analysis/z.claim", ttl=1) is not None
