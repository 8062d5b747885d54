"""A run report's part (``runs.parts``) reads back as the values it was written from: the
assembly renders the report from them, so a lost field would be a changed report."""

from __future__ import annotations

import pytest

from analyzer_lambda.changes.text_diff import LineEdit, TextDiff
from analyzer_lambda.report.change_model import ChangeShots, CropPair, PageChange
from analyzer_lambda.report.rows import ReportPage, ShotFiles
from analyzer_lambda.runs.parts import Part, part_index, part_key
from rivalscope_core.keys import RunRef
from rivalscope_core.records import ErrorInfo


def test_a_part_reads_back_as_written() -> None:
    pages = (
        ReportPage(
            "s3://b/raw/c/t/items.0000000.jl.gz",
            1,
            "https://a.example/",
            None,
            200,
            "2026-11-23T22:19:04Z",
            "料金",
            shot=ShotFiles("s/1.png", "s/1.t.png", 1280, 4000, truncated=True),
            competitor="Acme",
            prompt_id="p-1",
        ),
        ReportPage(
            "s3://b/raw/c/t/items.0000000.jl.gz",
            2,
            "https://a.example/x",
            "https://a.example/y",
            None,
            "",
            None,
            error=ErrorInfo("timeout", "no answer"),
        ),
    )
    text = TextDiff(
        added=("$59 a month",), removed=("$49 a month",),
        edits=(LineEdit("$49 a month", "$59 a month", (("=", "$"), ("-", "4"), ("+", "5"),
                                                       ("=", "9 a month"))),),
        moved=2, rotated=1, variants=frozenset({"f1", "f2"}),
    )  # fmt: skip
    changes = (
        PageChange(
            {"url": "https://a.example/", "status": "changed", "text": {"added": []}},
            pages[0].chunk,
            1,
            text,
            ChangeShots((CropPair(None, "c/1.after.jpg", cut=True),), 2, "c/1.before.png"),
        ),
        PageChange({"url": "https://a.example/old", "status": "removed"}),
    )
    part = Part(pages[0].chunk, pages, changes)
    assert Part.from_json(part.to_json()) == part
    assert Part.from_json(Part(part.chunk, pages, None).to_json()).changes is None


def test_a_part_of_another_version_or_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        Part.from_json(b'{"version": 99}')
    with pytest.raises(ValueError, match="not a run report part"):
        Part.from_json(b'{"version": 1}')


def test_part_keys_sit_under_the_reports_parts_and_name_the_chunks_place() -> None:
    key = part_key(RunRef("b", "competitors", "2026-11-23T22-19-03"), "p-1", 7)
    assert key == "reports/competitors/2026-11-23T22-19-03/p-1/_parts/00007.json"
    assert part_index(key) == 7
    assert part_index("reports/competitors/t/p-1/_parts/notes.txt") is None
