"""A gzipped JSON-lines chunk → ``(line, PageRecord | BadLine)``, lazily. Pure: it reads a
binary file object and never touches S3.

Two kinds of damage, two outcomes (documented in the README):

- one line that is not a valid page record (bad JSON, not an object, no ``url``) becomes a
  ``BadLine`` and reading goes on: the chunk is immutable, so no retry can fix that line; the
  caller records it as a failed page and analyses the rest;
- a gzip stream that cannot be read to its end (bad header, bad CRC, truncated) raises
  ``CorruptChunkError`` after the lines read so far were yielded; the lines after it are lost,
  so the chunk fails and its event ends in the DLQ after the configured receives.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from analyzer_lambda.exceptions import CorruptChunkError
from rivalscope_core.records import PageRecord

if TYPE_CHECKING:
    from collections.abc import Iterator


@dataclass(frozen=True)
class BadLine:
    line: int
    message: str


def read_pages(stream: IO[bytes], *, key: str) -> Iterator[tuple[int, PageRecord | BadLine]]:
    """Yield each non-blank line's number (1-based) and record. ``key`` names the chunk in
    errors."""
    line = 0
    try:
        with gzip.GzipFile(fileobj=stream, mode="rb") as lines:
            for raw in lines:
                line += 1
                if not raw.strip():
                    continue
                yield line, _parse(line, raw)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise CorruptChunkError(key, line + 1, f"{type(exc).__name__}: {exc}") from exc


def _parse(line: int, raw: bytes) -> PageRecord | BadLine:
    try:
        data = json.loads(raw)
        return PageRecord.from_dict(data)
    except (ValueError, TypeError, KeyError) as exc:  # JSONDecodeError is a ValueError
        return BadLine(line, f"line {line} is not a page record: {exc}")
