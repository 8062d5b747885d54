"""Runs ``polite_crawl`` in its own process (a fresh reactor per crawl) and reads its pages back:
the one way both politeness tests start a rendered crawl."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[4]


def run_polite_crawl(
    settings: dict[str, Any], out: Path, urls: list[str], timeout: float
) -> list[dict[str, Any]]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.integration.crawler.politeness.polite_crawl",
            json.dumps(settings),
            str(out),
            *urls,
        ],
        cwd=REPO_ROOT,
        check=True,
        timeout=timeout,
    )
    return [json.loads(line) for line in out.read_text().splitlines()]
