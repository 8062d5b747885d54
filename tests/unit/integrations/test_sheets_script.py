"""The Google Sheets Apps Script (integrations/sheets/Code.gs) under node's own test runner: its
syntax, its menu, and the mapping of rows to ``POST /runs`` / ``GET /runs/{run}`` and of the
API's answers back to cells (integrations/sheets/test/code.test.js). Node comes from Debian's
``nodejs`` package, which ``make test`` installs when missing (scripts/ensure-system-deps)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SHEETS = Path(__file__).resolve().parents[3] / "integrations" / "sheets"


def test_the_apps_script_passes_its_node_tests() -> None:
    node = shutil.which("node")
    assert node, "node is missing: `make test` installs it (scripts/ensure-system-deps)"
    result = subprocess.run(
        [node, "--test", str(SHEETS / "test" / "code.test.js")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
