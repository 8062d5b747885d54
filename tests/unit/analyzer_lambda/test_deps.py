"""The composition root is the only way to the analyser's dependencies: nothing imports the
Lambda adapter to get them, so ``handler.py`` can change without breaking re-analysis, the
bench or the local stack."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
_IMPORTS_HANDLER = re.compile(
    r"^\s*(from analyzer_lambda\.handler import|import analyzer_lambda\.handler|"
    r"from analyzer_lambda import handler)",
    re.MULTILINE,
)
PACKAGES = ("analyzer_lambda", "rivalscope_core", "rivalscope_local", "crawler", "bench")
#: what may import the adapter: the code that hands it events, as Lambda would
#: (``make serve`` hands chunk and marker events to it as ``make run`` does)
EVENT_SOURCES = {
    "analyzer_lambda/__main__.py",
    "rivalscope_local/run.py",
    "rivalscope_local/serve.py",
}


def test_only_event_sources_import_the_lambda_handler() -> None:
    importers = {
        path.relative_to(ROOT).as_posix()
        for package in (
            "analyzer_lambda",
            "rivalscope_core",
            "rivalscope_local",
            "crawler",
            "bench",
        )
        for path in (ROOT / package).rglob("*.py")
        if _IMPORTS_HANDLER.search(path.read_text("utf-8"))
    }
    assert importers == EVENT_SOURCES
