"""How far a run is: which shard markers exist, and how many of its pages have a result. Pure:
the markers and the listed result keys come in, a ``RunProgress`` goes out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rivalscope_core.keys import chunk_stem, marker_name, result_chunk_stem

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from rivalscope_core.keys import RunRef
    from rivalscope_core.markers import ShardMarker


@dataclass(frozen=True)
class RunProgress:
    run: RunRef
    shard_count: int
    markers: Mapping[int, ShardMarker]  # by 0-based shard index
    pages: int  # pages the markers' chunks hold
    results: int  # of them, pages with a result

    @property
    def missing_markers(self) -> list[str]:
        """The names of the markers not written yet (``2of4.json``)."""
        return [
            marker_name(index, self.shard_count)
            for index in range(self.shard_count)
            if index not in self.markers
        ]

    @property
    def complete(self) -> bool:
        return not self.missing_markers and self.results >= self.pages

    @property
    def first_marker_at(self) -> datetime | None:
        """When the first shard ended: the run-complete step's wait is counted from it."""
        ends = [_parse_time(m.ended_at) for m in self.markers.values()]
        known = [end for end in ends if end is not None]
        return min(known) if known else None

    def to_dict(self) -> dict[str, Any]:
        markers = [self.markers[index] for index in sorted(self.markers)]
        return {
            "run": self.run.uri,
            "shards": self.shard_count,
            "missing_markers": self.missing_markers,
            "pages": self.pages,
            "pages_with_result": self.results,
            "pages_without_result": max(self.pages - self.results, 0),
            "page_errors": sum(m.errors for m in markers),
            "pages_spilled": sum(m.pages_spilled for m in markers),
            "exit_codes": {
                marker_name(m.shard_index, m.shard_count): m.exit_code for m in markers
            },
            "cpu_seconds": round(sum(m.cpu_seconds for m in markers), 3),
            "peak_memory_bytes": max((m.peak_memory_bytes for m in markers), default=0),
        }


def measure_progress(
    run: RunRef, shard_count: int, markers: Iterable[ShardMarker], result_keys: Iterable[str]
) -> RunProgress:
    """Markers of another shard count (a relaunch with a different N) are not this run's
    shards and are left out; results count only for the markers' chunks."""
    mine = {m.shard_index: m for m in markers if m.shard_count == shard_count}
    stems = {chunk_stem(key) for marker in mine.values() for key in marker.chunks}
    done = sum(1 for key in set(result_keys) if result_chunk_stem(key) in stems)
    return RunProgress(
        run=run,
        shard_count=shard_count,
        markers=mine,
        pages=sum(m.pages for m in mine.values()),
        results=done,
    )


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
