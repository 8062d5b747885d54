from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from analyzer_lambda.notify.facts import LocalFolder, NoReportError, read_facts

if TYPE_CHECKING:
    from pathlib import Path

CHUNK = "s3://b/raw/competitors/2026-11-30T06-00-00/items.0000000.shard1of2.jl.gz"


def _folder(tmp_path: Path, changes: list[dict[str, Any]], **files: str | bytes) -> LocalFolder:
    (tmp_path / "report.html").write_text("<title>r</title>")
    (tmp_path / "changes.jsonl").write_text("".join(json.dumps(c) + "\n" for c in changes))
    rows = [{"url": c["url"], "chunk": CHUNK, "line": n} for n, c in enumerate(changes, 1)]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for name, body in files.items():
        path = tmp_path / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body if isinstance(body, bytes) else body.encode())
    return LocalFolder(tmp_path)


def test_the_top_change_is_a_changed_page_whose_screenshot_changed_most(tmp_path: Path) -> None:
    changes: list[dict[str, Any]] = [
        {"url": "https://a.example/new", "status": "new"},
        {"url": "https://a.example/small", "status": "changed",
         "visual": {"changed_fraction": 0.01}},
        {"url": "https://a.example/big", "status": "changed",
         "visual": {"changed_fraction": 0.4}},
    ]  # fmt: skip
    crops = {
        "changes__items.0000000.shard1of2-3-1.after.jpg": b"big",
        "changes__items.0000000.shard1of2-3-2.after.jpg": b"big, second crop",
        "changes__items.0000000.shard1of2-2-1.after.jpg": b"small",
    }
    with read_facts(_folder(tmp_path, changes, **crops), "r", "here") as facts:
        assert facts.top_url == "https://a.example/big"
        assert facts.crop is not None
        assert facts.crop.read_bytes() == b"big"
        assert (facts.counts.changed, facts.counts.new, facts.counts.known) == (2, 1, True)
        assert facts.digest is None
    assert not facts.crop.exists()  # a temporary copy, gone after the message


def test_no_crop_when_the_top_page_has_none_and_a_folder_without_report_is_refused(
    tmp_path: Path,
) -> None:
    folder = _folder(tmp_path, [{"url": "https://a.example/", "status": "removed"}],
                     **{"digest.md": "- gone"})  # fmt: skip
    with read_facts(folder, "r", "here") as facts:
        assert (facts.top_url, facts.crop, facts.digest) == ("https://a.example/", None, "- gone")
    (tmp_path / "report.html").unlink()
    with pytest.raises(NoReportError, match="no report at here"), read_facts(folder, "r", "here"):
        pass
