"""How far a run is: which shard markers exist, and how many of its pages have a result. Pure:
the markers and the listed result keys come in, a ``RunProgress`` goes out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rivalscope_core.keys import chunk_stem, marker_name

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
    run: RunRef,
    shard_count: int,
    markers: Iterable[ShardMarker],
    result_keys: Iterable[str],
    prefixes: Mapping[str | None, str],
) -> RunProgress:
    """Markers of another shard count (a relaunch with a different N) are not this run's
    shards and are left out; results count only for the markers' chunks, each page's under
    its own prompt: ``prefixes`` maps every prompt reference of the markers (``prompt`` and
    the ``page_prompts`` keys) to where its results live (``keys.analysis_prefix`` of the
    prompt id and model it resolves to), and ``result_keys`` are the run's, of every prompt."""
    mine = {m.shard_index: m for m in markers if m.shard_count == shard_count}
    keys = {key for key in result_keys if key.endswith(".json")}
    return RunProgress(
        run=run,
        shard_count=shard_count,
        markers=mine,
        pages=sum(m.pages for m in mine.values()),
        results=sum(_results(marker, keys, prefixes) for marker in mine.values()),
    )


def _results(marker: ShardMarker, keys: set[str], prefixes: Mapping[str | None, str]) -> int:
    """How many of the marker's pages have a result under their own prompt."""
    others = {
        (chunk_stem(chunk), line): ref
        for ref, chunks in marker.page_prompts.items()
        for chunk, lines in chunks.items()
        for line in lines
    }
    found = sum(
        f"{prefixes[ref]}{stem}/{line:06d}.json" in keys for (stem, line), ref in others.items()
    )
    # the rest carry the run's prompt: count its results for the markers' chunks, but those
    # lines only that are not another prompt's
    default, stems = prefixes[marker.prompt], {chunk_stem(key) for key in marker.chunks}
    for key in keys:
        if not key.startswith(default):
            continue
        stem, _, name = key[len(default) :].partition("/")
        line = name.removesuffix(".json")
        if stem in stems and line.isdigit() and (stem, int(line)) not in others:
            found += 1
    return min(found, marker.pages)


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
