"""The shard marker of SPEC.md "Runs": what each crawl task writes last, at
``raw/{spider}/{run}/_done/{I}of{N}.json``.

The crawler writes it, the run-complete step reads it: the chunk keys say which pages the run
has without listing the bucket, and the counts and resources feed the report and the cost
ledger. Readers ignore fields they do not know.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ShardMarker:
    run: str
    spider: str
    # 0-based, as in ``-a shard=I/N``; the marker's file name counts from 1.
    shard_index: int
    shard_count: int
    chunks: list[str]  # the keys of the chunks this task stored
    pages: int  # page records stored (failed pages included)
    errors: int  # page records with an error
    started_at: str  # ISO 8601 UTC
    ended_at: str
    exit_code: int
    cpu_seconds: float  # the task's process tree, browsers included
    peak_memory_bytes: int
    finish_reason: str = ""
    pages_spilled: int = 0  # pages kept on local disk because S3 could not take them
    prompt: str | None = None  # the run's prompt reference (``-a prompt``), as on its records
    # Pages whose record carries another prompt (a watch-list competitor's own, #17):
    # ``{prompt reference: {chunk key: [1-based lines]}}``; every other page has ``prompt``.
    # The run-complete step counts each page's result under its own prompt through it.
    page_prompts: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes | str) -> ShardMarker:
        """A ValueError when a required field is missing or of the wrong kind."""
        raw = json.loads(data)
        if not isinstance(raw, dict):
            raise ValueError("a shard marker is a JSON object")  # noqa: TRY004 - bad data, one error type for callers
        try:
            return cls(
                run=str(raw["run"]),
                spider=str(raw["spider"]),
                shard_index=int(raw["shard_index"]),
                shard_count=int(raw["shard_count"]),
                chunks=[str(key) for key in raw["chunks"]],
                pages=int(raw["pages"]),
                errors=int(raw["errors"]),
                started_at=str(raw["started_at"]),
                ended_at=str(raw["ended_at"]),
                exit_code=int(raw["exit_code"]),
                cpu_seconds=float(raw["cpu_seconds"]),
                peak_memory_bytes=int(raw["peak_memory_bytes"]),
                finish_reason=str(raw.get("finish_reason", "")),
                pages_spilled=int(raw.get("pages_spilled", 0)),
                prompt=None if raw.get("prompt") is None else str(raw["prompt"]),
                page_prompts=_page_prompts(raw.get("page_prompts") or {}),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a shard marker: {exc!r}") from exc


def _page_prompts(raw: dict[str, dict[str, list[int]]]) -> dict[str, dict[str, list[int]]]:
    return {
        str(ref): {str(key): [int(line) for line in lines] for key, lines in chunks.items()}
        for ref, chunks in raw.items()
    }
