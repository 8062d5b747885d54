from __future__ import annotations

import gzip
import io
import json

import pytest

from analyzer_lambda.chunks import BadLine, read_pages
from analyzer_lambda.exceptions import CorruptChunkError
from rivalscope_core.records import PageRecord

KEY = "raw/competitors/t/items.0000000.jl.gz"


def _chunk(*lines: bytes) -> io.BytesIO:
    return io.BytesIO(gzip.compress(b"".join(line + b"\n" for line in lines)))


def _record(n: int, **extra: object) -> bytes:
    return json.dumps({"url": f"https://e.test/{n}", "body": "<p>x</p>", **extra}).encode()


def test_lines_are_numbered_from_one_and_unknown_fields_ignored() -> None:
    pages = list(read_pages(_chunk(_record(1), _record(2, new_field=[1, 2])), key=KEY))
    assert [line for line, _ in pages] == [1, 2]
    assert all(isinstance(p, PageRecord) for _, p in pages)
    assert pages[1][1].url == "https://e.test/2"  # type: ignore[union-attr]


def test_bad_line_in_the_middle_is_reported_and_reading_goes_on() -> None:
    pages = list(
        read_pages(_chunk(_record(1), b"{not json", b'{"no_url": 1}', _record(4)), key=KEY)
    )
    kinds = [type(p).__name__ for _, p in pages]
    assert kinds == ["PageRecord", "BadLine", "BadLine", "PageRecord"]
    bad = pages[1][1]
    assert isinstance(bad, BadLine)
    assert bad.line == 2
    assert "line 2" in bad.message


def test_blank_lines_keep_numbering() -> None:
    pages = list(read_pages(_chunk(_record(1), b"", _record(3)), key=KEY))
    assert [line for line, _ in pages] == [1, 3]


def test_truncated_gzip_yields_the_lines_before_then_names_key_and_line() -> None:
    raw = gzip.compress(b"".join(_record(n) + b"\n" for n in range(1, 2001)))
    stream = io.BytesIO(raw[: len(raw) // 2])
    seen: list[int] = []

    def read_all() -> None:
        seen.extend(line for line, _ in read_pages(stream, key=KEY))

    with pytest.raises(CorruptChunkError) as info:
        read_all()
    assert seen
    assert seen == list(range(1, len(seen) + 1))
    assert info.value.line == len(seen) + 1
    assert KEY in str(info.value)
    assert f"line {len(seen) + 1}" in str(info.value)


def test_not_gzip_at_all() -> None:
    with pytest.raises(CorruptChunkError, match="line 1"):
        list(read_pages(io.BytesIO(b'{"url": "x"}\n'), key=KEY))
