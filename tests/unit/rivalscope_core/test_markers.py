from __future__ import annotations

import pytest

from rivalscope_core.markers import ShardMarker

MARKER = ShardMarker(
    run="2026-11-23T22-19-03",
    spider="competitors",
    shard_index=1,
    shard_count=2,
    chunks=["raw/competitors/2026-11-23T22-19-03/items.0000000.shard1of2.jl.gz"],
    pages=3,
    errors=1,
    started_at="2026-11-23T22:19:03Z",
    ended_at="2026-11-23T22:21:00Z",
    exit_code=1,
    cpu_seconds=12.5,
    peak_memory_bytes=512_000_000,
    finish_reason="finished",
    prompt="pricing",
)


def test_a_marker_reads_back_as_written() -> None:
    assert ShardMarker.from_json(MARKER.to_json()) == MARKER


@pytest.mark.parametrize("body", ["[]", '{"run": "x"}', '{"run": 1, "chunks": 5}'])
def test_a_bad_marker_is_a_value_error(body: str) -> None:
    with pytest.raises(ValueError, match="marker"):
        ShardMarker.from_json(body)
