from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

from rivalscope_local.archive import local_runs
from rivalscope_local.crawl import crawl_command, descendant_groups
from rivalscope_local.persistence import key_to_relpath
from rivalscope_local.stack import EXTRACT_NOTICE, choose_analyzer

if TYPE_CHECKING:
    from pathlib import Path


def test_the_crawl_gets_the_urls_prompt_and_exactly_the_allowed_private_hosts() -> None:
    command = crawl_command(
        ["http://127.0.0.2:8001/", "http://127.0.0.3:8002/"],
        prompt="/p.md",
        max_pages=3,
        allow_private="127.0.0.2:8001,127.0.0.3:8002",
    )
    assert command[1:5] == ["-m", "scrapy", "crawl", "competitors"]
    pairs = list(zip(command[5::2], command[6::2], strict=True))
    assert ("-a", "urls=http://127.0.0.2:8001/,http://127.0.0.3:8002/") in pairs
    assert ("-a", "max_pages=3") in pairs
    assert ("-a", "prompt=/p.md") in pairs
    assert ("-s", "ALLOW_PRIVATE_ADDRESSES=127.0.0.2:8001,127.0.0.3:8002") in pairs
    public = crawl_command(["https://a.example/"], prompt=None, max_pages=1)
    assert not any("ALLOW_PRIVATE" in part or part.startswith("prompt=") for part in public)


def test_without_a_key_the_offline_analyser_is_chosen_and_said() -> None:
    environ: dict[str, str] = {}
    assert choose_analyzer(environ) == EXTRACT_NOTICE
    assert environ["ANALYZER"] == "extract"
    with_key = {"GEMINI_API_KEY": "k"}
    assert choose_analyzer(with_key) is None
    assert "ANALYZER" not in with_key
    chosen = {"ANALYZER": "my-plugin"}
    assert choose_analyzer(chosen) is None
    assert chosen == {"ANALYZER": "my-plugin"}


def test_runs_are_found_on_disk_oldest_first(tmp_path: Path) -> None:
    assert local_runs(tmp_path) == []
    for time in ("2026-11-23T22-37-25", "2026-11-22T08-00-00"):
        key = f"raw/competitors/{time}/items.0000000.jl.gz"
        path = tmp_path / "s3" / "rivalscope-local" / key_to_relpath(key)
        path.parent.mkdir(parents=True)
        path.write_bytes(b"")
    assert local_runs(tmp_path) == [
        "s3://rivalscope-local/raw/competitors/2026-11-22T08-00-00/",
        "s3://rivalscope-local/raw/competitors/2026-11-23T22-37-25/",
    ]


def test_a_child_in_its_own_session_is_found_by_its_process_group() -> None:
    """What the crawl's chromedrivers are: children that left their parent's group."""
    own_group = subprocess.Popen(["sleep", "30"])
    own_session = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        groups = descendant_groups(os.getpid())
        assert own_session.pid in groups
        assert os.getpgid(own_group.pid) not in groups
    finally:
        for child in (own_group, own_session):
            child.kill()
            child.wait()
