"""Batch manifests and their keys: where a job's record lives, and that it reads back."""

from __future__ import annotations

from analyzer_lambda.batches.manifest import Manifest, PageEntry
from rivalscope_core.keys import (
    ChunkRef,
    analysis_key,
    batch_manifest_key,
    batch_submit_key,
    open_batch_key,
)

CHUNK = ChunkRef("b", "raw/competitors/2026-11-23T22-19-03/items.0000000.jl.gz")


def _manifest() -> Manifest:
    key = analysis_key(CHUNK, 1, "p-1a2b", "gemini-2.5-flash")
    page = PageEntry(key, CHUNK.uri, 1, "https://a.example/", None, "2026-11-23T22:19:05Z",
                     "Acme", '"etag"')  # fmt: skip
    return Manifest("20261202T000000-ab12cd34-0", "b", "p-1a2b", "p", {"type": "object"},
                    "gemini-2.5-flash", [page], job="batches/123",
                    state="JOB_STATE_PENDING")  # fmt: skip


def test_a_manifest_reads_back_as_written() -> None:
    manifest = _manifest()
    assert Manifest.from_dict(manifest.to_dict()) == manifest
    assert manifest.to_dict()["version"] == 1


def test_manifests_sit_beside_the_results_without_looking_like_one() -> None:
    run = CHUNK.run
    key = batch_manifest_key(run, "p-1a2b", "gemini-2.5-flash", "j1")
    results = analysis_key(CHUNK, 1, "p-1a2b", "gemini-2.5-flash").rsplit("/", 2)[0] + "/"
    assert key.startswith(results)
    assert not key.endswith(".json")  # reports and the run-complete step count .json results
    assert not batch_submit_key(run, "p-1a2b", "gemini-2.5-flash").endswith(".json")
    assert open_batch_key("j1") == "analysis/_batches/open/j1"


def test_a_page_entry_becomes_a_result_in_the_interactive_format() -> None:
    page = _manifest().pages[0]
    record = page.result("p-1a2b", "gemini-2.5-flash", analysis={"a": 1})
    assert (record.chunk, record.line, record.analyzer, record.competitor) == (
        CHUNK.uri, 1, "gemini", "Acme")  # fmt: skip
    assert record.reused_from is None
    assert record.error is None
