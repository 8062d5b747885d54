"""A run's status from what S3 holds: crawling, analysing, done, failed."""

from __future__ import annotations

from typing import Any

import pytest

from analyzer_lambda.frontdoor.status import LaunchState, pages, progress, run_state
from analyzer_lambda.frontdoor.store import RunFacts
from rivalscope_core.markers import ShardMarker
from rivalscope_core.records import ErrorInfo, ResultRecord

RUN = "2026-12-02T10-00-00"
CHUNK = f"s3://b/raw/competitors/{RUN}/items.0000000.jl.gz"
PREFIX = f"reports/competitors/{RUN}/p-1/"


def _marker(index: int, count: int, pages: int = 2, exit_code: int = 0) -> ShardMarker:
    return ShardMarker(
        run=RUN,
        spider="competitors",
        shard_index=index,
        shard_count=count,
        chunks=[CHUNK],
        pages=pages,
        errors=0,
        started_at="",
        ended_at="",
        exit_code=exit_code,
        cpu_seconds=1.0,
        peak_memory_bytes=1,
    )


def _facts(**kw: Any) -> RunFacts:
    values: dict[str, Any] = {
        "markers": [],
        "chunks": 0,
        "result_keys": [],
        "results": [],
        "run_doc": None,
        "report_files": [],
    }
    return RunFacts(**{**values, **kw})


@pytest.mark.parametrize(
    ("facts", "launch", "expected"),
    [
        (_facts(), LaunchState("running"), "crawling"),
        (_facts(markers=[_marker(0, 2)]), LaunchState("running"), "crawling"),
        (_facts(markers=[_marker(0, 2), _marker(1, 2)]), LaunchState("running"), "analysing"),
        (_facts(markers=[_marker(0, 1)], run_doc={"status": "done"}), LaunchState(), "done"),
        # a shard failed, the execution too, yet the run-complete step reported the others
        (_facts(run_doc={"status": "done"}), LaunchState("failed", "x"), "done"),
        (_facts(), LaunchState("failed", "no capacity"), "failed"),
        (
            _facts(run_doc={"status": "incomplete", "missing_markers": ["2of2.json"]}),
            LaunchState("running"),
            "failed",
        ),
        (_facts(markers=[_marker(0, 1, pages=0, exit_code=2)]), LaunchState(), "failed"),
        # the run-complete step reports an empty run as done; nothing was answered
        (
            _facts(markers=[_marker(0, 1, pages=0, exit_code=1)], run_doc={"status": "done"}),
            LaunchState("succeeded"),
            "failed",
        ),
    ],
)
def test_the_status_follows_markers_run_json_and_the_launch(
    facts: RunFacts, launch: LaunchState, expected: str
) -> None:
    state, error = run_state(facts, launch)
    assert state == expected
    assert (error is not None) == (expected == "failed")


def test_a_failed_status_says_why() -> None:
    doc = {"status": "incomplete", "missing_markers": ["2of2.json"], "pages_without_result": 3}
    assert run_state(_facts(run_doc=doc), LaunchState())[1] == (
        "the run never completed: missing shard marker(s) 2of2.json, 3 page(s) without a result"
    )
    assert "exit code 2" in str(run_state(_facts(markers=[_marker(0, 1, 0, 2)]), LaunchState())[1])


def test_progress_counts_pages_once_every_shard_is_in() -> None:
    keys = [f"analysis/competitors/{RUN}/p-1/m/items.0000000/00000{n}.json" for n in (1, 2)]
    keys.append(f"analysis/competitors/{RUN}/other-2/m/items.0000000/000001.json")
    crawling = progress(_facts(markers=[_marker(0, 2)], chunks=1, result_keys=keys))
    assert crawling == {
        "shards": 2,
        "shards_done": 1,
        "chunks_stored": 1,
        "pages": None,
        "pages_analysed": 2,
    }
    both = progress(_facts(markers=[_marker(0, 2, 3), _marker(1, 2, 4)], result_keys=keys))
    assert both["pages"] == 7


def _result(line: int, prompt_id: str, error: ErrorInfo | None = None) -> ResultRecord:
    return ResultRecord(
        url=f"https://a.example/{line}",
        final_url=None,
        crawled_at="",
        chunk=CHUNK,
        line=line,
        prompt_id=prompt_id,
        model="m",
        analyzer="extract",
        analysis=None if error else {"summary": f"page {line}"},
        error=error,
    )


def test_pages_carry_analysis_or_error_and_presigned_screenshots() -> None:
    facts = _facts(
        results=[
            _result(2, "p-1", ErrorInfo("timeout", "too slow")),
            _result(1, "other"),
            _result(1, "p-1"),
            _result(3, "p-1", ErrorInfo("blocked_by_site", "wall")),
        ],
        report_files=[
            f"{PREFIX}report.html",
            f"{PREFIX}screenshots/items.0000000-1.jpg",
            f"{PREFIX}screenshots/items.0000000-1.thumb.webp",
        ],
    )
    listed = pages(facts, "p-1", lambda key: f"signed:{key}")
    assert [(p["url"], p["status"], p["prompt_id"]) for p in listed] == [
        ("https://a.example/1", "done", "p-1"),  # the request's prompt wins over another
        ("https://a.example/2", "failed", "p-1"),
        ("https://a.example/3", "blocked", "p-1"),
    ]
    assert listed[0]["analysis"] == {"summary": "page 1"}
    assert listed[0]["screenshot_url"] == f"signed:{PREFIX}screenshots/items.0000000-1.jpg"
    assert listed[0]["thumbnail_url"].endswith("items.0000000-1.thumb.webp")
    assert listed[1]["error"] == {"type": "timeout", "message": "too slow"}
    assert listed[1]["screenshot_url"] is None
