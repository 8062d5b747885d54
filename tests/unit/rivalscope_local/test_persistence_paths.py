from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from rivalscope_local.persistence import key_to_relpath, relpath_to_key

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    "key",
    [
        "raw/competitors/2026-11-23T22-19-03/items.0000005.jl.gz",
        "analysis/competitors/t/name-1a2b/models%2Fgemini/items.0000000/000001.json",
        "prompts/プロンプト 日本.md",
        "a//b/",
        "../../etc/passwd",
        "./x/./y",
        "100%/done",
        "%",
    ],
)
def test_every_key_maps_to_a_path_and_back(key: str) -> None:
    assert relpath_to_key(key_to_relpath(key)) == key


@pytest.mark.parametrize("key", ["../../etc/passwd", "..", "a/../../b", "/abs/key"])
def test_no_key_escapes_its_bucket_directory(key: str, tmp_path: Path) -> None:
    bucket_dir = tmp_path / "bucket"
    target = (bucket_dir / key_to_relpath(key)).resolve()
    assert target.is_relative_to(bucket_dir)
