"""The analyser's own measurement of what a chunk cost it in Lambda: how long ``analyze_chunk``
ran and with how much memory, one small record per chunk analysis, beside the chunk's results
(``{analysis prefix}{chunk stem}/{line:06d}.runtime``). The ledger's Lambda line is the sum of
these records, never an estimate.

Write once, idempotent: the record is named after the first result this invocation wrote
(results are conditional writes, so no two invocations write the same one) and is itself put
with ``IfNoneMatch``. A duplicate event finds every page done, writes no result and so records
nothing (what it cost — a listing, well under a second — is left out of the ledger); an
invocation cut off by its deadline records the part it did, and the one that resumes records
its own. Memory is the function's configured size (``context.memory_limit_in_mb``) in Lambda;
outside Lambda (``make run``'s local worker, ``python -m analyzer_lambda``) it is the local
context's stand-in for the template's ``MemorySize``, marked ``configured``; without a context
it is None, which the ledger shows as "not measured". A Lambda invocation's start-up and the
Lambda plumbing around the chunks are not inside any record."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from rivalscope_core.keys import chunk_stem

RUNTIME_SUFFIX = ".runtime"


@dataclass(frozen=True)
class ChunkRuntime:
    chunk: str  # the chunk's s3:// URI
    invocation: str  # the Lambda request id (one invocation may analyse several chunks)
    started_at: str  # ISO 8601 UTC
    duration_seconds: float
    memory_mb: int | None  # None: not measured
    memory_source: str  # "lambda", "configured" (outside Lambda) or "not measured"
    architecture: str  # what the function is deployed on, as the price table names it
    done: int
    failed: int
    skipped: int
    pending: int

    @property
    def gb_seconds(self) -> float | None:
        """Lambda's billed unit: configured GB (1,024 MB each) times seconds."""
        if self.memory_mb is None:
            return None
        return self.memory_mb / 1024 * self.duration_seconds

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes | str) -> ChunkRuntime:
        """A ValueError when the record is not one (the ledger skips it and says so)."""
        raw: Any = json.loads(data)
        if not isinstance(raw, dict):
            raise ValueError("a runtime record is a JSON object")  # noqa: TRY004 - bad data, one error type for callers
        try:
            memory = raw.get("memory_mb")
            return cls(
                chunk=str(raw["chunk"]),
                invocation=str(raw["invocation"]),
                started_at=str(raw["started_at"]),
                duration_seconds=float(raw["duration_seconds"]),
                memory_mb=None if memory is None else int(memory),
                memory_source=str(raw.get("memory_source", "not measured")),
                architecture=str(raw.get("architecture", "x86_64")),
                done=int(raw.get("done", 0)),
                failed=int(raw.get("failed", 0)),
                skipped=int(raw.get("skipped", 0)),
                pending=int(raw.get("pending", 0)),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a runtime record: {exc!r}") from exc


def runtime_key(first_result_key: str) -> str:
    """The record's key: the first result this invocation wrote, with ``.runtime``."""
    return first_result_key.removesuffix(".json") + RUNTIME_SUFFIX


def is_runtime_key(key: str) -> bool:
    return key.endswith(RUNTIME_SUFFIX)


def runtime_chunk_stem(key: str) -> str:
    """The chunk stem of a record's key (``.../{chunk stem}/{line}.runtime``)."""
    return chunk_stem(key.rsplit("/", 2)[-2])
