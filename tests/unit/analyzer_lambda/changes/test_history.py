from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from analyzer_lambda.changes.history import (
    Capture,
    capture_of,
    chunks_without_manifest,
    decode_manifest,
    earlier_runs,
    encode_manifest,
    find_history,
    find_previous,
    lazy_indexes,
    manifest_key,
    page_key,
    removed_pages,
    rules_hash,
    run_index,
    seen_lines,
)
from analyzer_lambda.changes.rules import ChangeRules, RuleSet, parse_rule_set
from analyzer_lambda.changes.text_diff import diff_text, model_input_fingerprint
from rivalscope_core.keys import ChunkRef

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

RULES = ChangeRules()
URL = "https://acme.example/pricing"


def _capture(
    run: str, url: str = URL, *, line: int = 1, error: bool = False, **kw: str
) -> Capture:
    return capture_of(
        run=run,
        chunk=kw.get("chunk", f"raw/competitors/{run}/items.0000000.jl.gz"),
        line=line,
        url=url,
        crawled_at=kw.get("crawled_at", f"{run[:10]}T00:00:00Z"),
        text=None if error else kw.get("text", "Starter $49"),
        rules=RULES,
    )


def _runs(*names: str) -> list[str]:
    return [f"2026-{name}T00-00-00" for name in names]


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("HTTPS://Acme.Example:443/Pricing?x=1#plans", "https://acme.example/Pricing?x=1"),
        ("http://acme.example:80", "http://acme.example/"),
        ("http://acme.example:8080/a", "http://acme.example:8080/a"),
        ("https://[::1]:443/", "https://[::1]/"),
    ],
)
def test_page_key_is_specs_normalised_url(url: str, key: str) -> None:
    assert page_key(url) == key


def test_earlier_runs_are_those_started_before_whatever_the_order_of_analysis() -> None:
    runs = [*_runs("12-01", "10-01", "11-01", "11-15"), "_manifest", "not-a-run"]
    # re-analysing last month's run compares with the run before it, not with today's
    assert earlier_runs(runs, "2026-11-01T00-00-00") == _runs("10-01")
    assert earlier_runs(runs, "2026-12-01T00-00-00") == _runs("11-15", "11-01", "10-01")
    assert earlier_runs(runs, "2026-10-01T00-00-00") == []


def test_within_a_run_the_latest_error_free_capture_of_a_url_wins() -> None:
    run = "2026-11-01T00-00-00"
    first = _capture(run, crawled_at="2026-11-01T00:00:01Z", line=1)
    later = _capture(run, "https://ACME.example:443/pricing", crawled_at="2026-11-01T00:00:09Z")
    failed_last = _capture(run, crawled_at="2026-11-01T00:00:20Z", line=3, error=True)
    only_failed = _capture(run, "https://acme.example/down", error=True)
    index = run_index([failed_last, first, later, only_failed])
    assert index[URL] == later
    assert index["https://acme.example/down"].error


def _walk(
    archive: dict[str, list[Capture]], reads: list[str]
) -> Iterator[tuple[str, Mapping[str, Capture]]]:
    def read(run: str) -> list[Capture]:
        reads.append(run)
        return archive[run]

    return lazy_indexes(sorted(archive, reverse=True), read)


def test_the_previous_capture_reads_one_run_however_large_the_archive() -> None:
    names = [f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}T00-00-00" for i in range(200)]
    archive = {run: [_capture(run), _capture(run, "https://beta.example/")] for run in names}
    reads: list[str] = []
    latest = max(archive)
    previous = find_previous([URL, "https://beta.example/"], _walk(archive, reads))
    assert reads == [latest]
    capture = previous[URL]
    assert capture is not None
    assert capture.run == latest


def test_a_failed_or_missing_page_is_looked_up_in_older_runs_only_as_far_as_needed() -> None:
    r1, r2, r3, r4 = _runs("09-01", "10-01", "11-01", "11-15")
    archive = {
        r4: [_capture(r4, error=True)],  # failed in the latest earlier run
        r3: [],  # not crawled in that one
        r2: [_capture(r2, text="Starter $39")],
        r1: [_capture(r1, text="Starter $29")],
    }
    reads: list[str] = []
    previous = find_previous([URL, "https://new.example/"], _walk(archive, reads))
    capture = previous[URL]
    assert capture is not None
    assert capture.run == r2
    assert previous["https://new.example/"] is None  # walked the whole (small) archive
    reads.clear()
    assert find_previous([URL], _walk(archive, reads))[URL] is not None
    assert reads == [r4, r3, r2]  # stopped at the first error-free capture


def test_rotation_memory_comes_from_the_captures_before_the_previous_one() -> None:
    variants = [f'"Quote {c}" — {c} at Co' for c in "ABC"]
    page = "Acme pricing\nStarter $49\n{}\nFAQ"
    runs = _runs("09-01", "10-01", "11-01")
    archive = {r: [_capture(r, text=page.format(v))] for r, v in zip(runs, variants, strict=True)}
    history = find_history([URL], _walk(archive, []))[URL]
    assert [c.run for c in history] == list(reversed(runs))
    seen = seen_lines(history)
    today = page.format(variants[1])  # B again, after C: rotating among variants seen before
    diff = diff_text(page.format(variants[2]), today, seen=seen)
    assert not diff.changed
    assert diff.rotated == 1
    assert history[0].lines - seen, "the previous capture's own lines are not in the memory"


def test_a_manifest_round_trips_and_rejects_other_versions() -> None:
    run = "2026-11-01T00-00-00"
    captures = [_capture(run, line=2), _capture(run, "https://acme.example/x", line=1, error=True)]
    data = encode_manifest(run, captures[0].chunk, rules_hash(RULES.signature), captures)
    assert decode_manifest(data) == sorted(captures, key=lambda c: c.line)
    assert encode_manifest(run, captures[0].chunk, "r", reversed(captures)) == encode_manifest(
        run, captures[0].chunk, "r", captures
    )  # a pure function of the chunk: a duplicate event writes the same bytes
    with pytest.raises(ValueError, match="version"):
        decode_manifest(data.replace(b'"version":1', b'"version":99'))
    with pytest.raises(ValueError, match="unreadable"):
        decode_manifest(b"{not json")


def test_manifest_keys_sit_beside_their_chunks_and_gaps_are_found() -> None:
    chunk = ChunkRef("b", "raw/competitors/2026-11-01T00-00-00/items.0000005.shard1of2.jl.gz")
    key = manifest_key(chunk)
    assert key == (
        "raw/competitors/2026-11-01T00-00-00/_manifest/items.0000005.shard1of2.manifest.json"
    )
    other = "raw/competitors/2026-11-01T00-00-00/items.0000010.jl.gz"
    assert chunks_without_manifest([chunk.key, other], [key]) == [other]


def test_a_fingerprint_made_under_other_rules_is_not_used() -> None:
    rules = parse_rule_set('"*": {ignore_text: ["^Visitors"]}').for_url(URL)
    run = "2026-11-01T00-00-00"
    chunk = f"raw/competitors/{run}/items.0000000.jl.gz"
    with_rules = capture_of(run, chunk, 1, URL, "t", "Starter $49\nVisitors: 5", rules)
    without = capture_of(run, chunk, 1, URL, "t", "Starter $49\nVisitors: 9", RULES)
    assert (
        with_rules.fingerprint_for(rules_hash(rules.signature))
        == capture_of(run, chunk, 1, URL, "t", "Starter $49\nVisitors: 7", rules).fingerprint
    )
    assert without.fingerprint_for(rules_hash(rules.signature)) is None
    assert with_rules.previous("bucket") == {
        "run": run,
        "chunk": f"s3://bucket/{chunk}",
        "line": 1,
        "crawled_at": "t",
    }


def test_removed_pages_are_those_of_this_runs_sites_only() -> None:
    run = "2026-11-01T00-00-00"
    previous = run_index(
        [
            _capture(run),
            _capture(run, "https://acme.example/old-plan"),
            _capture(run, "https://elsewhere.example/"),
        ]
    )
    removed = removed_pages(["https://Acme.example/pricing#top"], previous)
    assert [c.url for c in removed] == ["https://acme.example/old-plan"]


def test_a_chunks_captures_keep_failed_pages_and_leave_out_lines_without_a_url() -> None:
    from analyzer_lambda.changes.manifests import captures_of_chunk
    from analyzer_lambda.chunks import BadLine
    from rivalscope_core.records import ErrorInfo, PageRecord

    chunk = ChunkRef("b", "raw/competitors/2026-11-01T00-00-00/items.0000000.jl.gz")
    ok = PageRecord(URL, URL, 200, "2026-11-01T00:00:05Z", "<p>Starter $49</p>")
    failed = PageRecord("https://acme.example/x", None, None, "t", "", error=ErrorInfo("dns", "x"))
    pages: list[tuple[int, PageRecord | BadLine]] = [
        (1, ok),
        (2, BadLine(2, "no JSON")),
        (3, failed),
    ]
    captures = captures_of_chunk(
        chunk,
        pages,
        lambda page: "Starter $49",
        lambda page: RuleSet().for_url(page.url),
        rules_hash(""),
    )
    assert [(c.line, c.error) for c in captures] == [(1, False), (3, True)]
    assert captures[0].run == "2026-11-01T00-00-00"
    assert captures[0].fingerprint == model_input_fingerprint("Starter $49", RULES)
    assert captures[1].fingerprint is None
