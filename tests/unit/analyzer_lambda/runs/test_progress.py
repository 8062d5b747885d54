from __future__ import annotations

from analyzer_lambda.runs.progress import measure_progress
from rivalscope_core.keys import RunRef
from rivalscope_core.markers import ShardMarker

RUN = RunRef("b", "competitors", "2026-11-23T22-19-03")
PREFIX = "raw/competitors/2026-11-23T22-19-03/"
RESULTS = "analysis/competitors/2026-11-23T22-19-03/p-1/m/"


def _marker(index: int, count: int, pages: int, ended: str) -> ShardMarker:
    return ShardMarker(
        run=RUN.time,
        spider="competitors",
        shard_index=index,
        shard_count=count,
        chunks=[f"{PREFIX}items.0000000.shard{index}of{count}.jl.gz"],
        pages=pages,
        errors=0,
        started_at="2026-11-23T22:19:03+00:00",
        ended_at=ended,
        exit_code=0,
        cpu_seconds=1.0,
        peak_memory_bytes=10,
    )


def test_a_run_is_complete_when_every_marker_exists_and_every_page_has_a_result() -> None:
    markers = [
        _marker(0, 3, 2, "2026-11-23T22:30:00+00:00"),
        _marker(2, 3, 1, "2026-11-23T22:25:00+00:00"),
        _marker(1, 4, 9, "2026-11-23T22:20:00+00:00"),  # another launch's N: not this run's
    ]
    results = [f"{RESULTS}items.0000000.shard0of3/00000{n}.json" for n in (1, 2)]
    progress = measure_progress(RUN, 3, markers, results, {None: RESULTS})
    assert progress.missing_markers == ["2of3.json"]
    assert (progress.pages, progress.results, progress.complete) == (3, 2, False)
    assert progress.first_marker_at is not None
    assert progress.first_marker_at.isoformat() == "2026-11-23T22:25:00+00:00"

    markers.append(_marker(1, 3, 0, "2026-11-23T22:40:00+00:00"))
    results.append(f"{RESULTS}items.0000000.shard2of3/000001.json")
    results.append(f"{RESULTS}items.0000000.shard9of9/000001.json")  # not the markers' chunk
    done = measure_progress(RUN, 3, markers, results, {None: RESULTS})
    assert (done.missing_markers, done.pages, done.results, done.complete) == ([], 3, 3, True)
    assert done.to_dict()["exit_codes"] == {"1of3.json": 0, "2of3.json": 0, "3of3.json": 0}


def test_each_page_counts_under_its_own_prompt() -> None:
    """A watch list gives a competitor its own prompt: its pages' results live under that
    prompt's id, and a result of the run's prompt for the same line does not count for it."""
    pricing = "analysis/competitors/2026-11-23T22-19-03/pricing-2/m/"
    chunk = f"{PREFIX}items.0000000.jl.gz"
    marker = ShardMarker(
        run=RUN.time, spider="competitors", shard_index=0, shard_count=1, chunks=[chunk],
        pages=4, errors=0, started_at="2026-11-23T22:19:03+00:00",
        ended_at="2026-11-23T22:25:00+00:00", exit_code=0, cpu_seconds=1.0,
        peak_memory_bytes=10, prompt="overview", page_prompts={"pricing": {chunk: [2, 4]}},
    )  # fmt: skip
    assert ShardMarker.from_json(marker.to_json()) == marker
    prefixes: dict[str | None, str] = {"overview": RESULTS, "pricing": pricing}
    results = [f"{RESULTS}items.0000000/00000{n}.json" for n in (1, 3)]
    # the run's prompt's results only: lines 2 and 4 are still pending
    waiting = measure_progress(RUN, 1, [marker], [*results, f"{RESULTS}items.0000000/000002.json"],
                               prefixes)  # fmt: skip
    assert (waiting.pages, waiting.results, waiting.complete) == (4, 2, False)
    results += [f"{pricing}items.0000000/000002.json", f"{pricing}items.0000000/000004.claim"]
    assert measure_progress(RUN, 1, [marker], results, prefixes).results == 3
    results.append(f"{pricing}items.0000000/000004.json")
    done = measure_progress(RUN, 1, [marker], results, prefixes)
    assert (done.pages, done.results, done.complete) == (4, 4, True)
