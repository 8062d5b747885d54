"""What a new user sees on their second ``make run`` (issue #12): the demo sites keep their
addresses across runs, an identical second run asks the model nothing (every answer reused,
and the run says so), ``DEMO_CHANGE`` of one price costs exactly one model call, and
``DEMO_CHANGE=1`` shows exactly the edits of ``demo/changes.yaml`` in ``changes.jsonl`` — the
banner on top of the 13,000 px page as a small region, not a whole-page change.

``python -m rivalscope_local.run`` as ``make run`` starts it (default watch list, its own demo
sites), four times on one ``data/``, with the fake Gemini server counting calls."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.servers.gemini import GeminiServer

# the demo's fixed addresses, kept across starts: one such file at a time (tests/parallel.py's
# GROUPS). The first test's setup is four `make run`s: on a loaded machine (two workers, other
# builds) they took 2 min each, past the suite's 300 s per test; each run keeps its own 600 s.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[3]
PAGES = 8  # the demo's pages: acme 3, acme-app 1, northwind 2, hanami 2


@dataclass
class Run:
    stdout: str
    returncode: int
    calls: int  # page analyses this run asked the model for
    digest_calls: int  # and requests for the run's digest (made of the changes, #13)
    changes: dict[str, dict[str, Any]]  # path of the URL → its changes.jsonl line

    def status(self) -> dict[str, str]:
        return {path: line["status"] for path, line in self.changes.items()}


class MakeRun:
    def __init__(self, tmp: Path, gemini: GeminiServer, *, with_key: bool = True) -> None:
        self.data, self.out, self.gemini = tmp / "data", tmp / "out", gemini
        self.with_key = with_key  # False: a new user's `make run`, the offline analyser

    def __call__(self, demo_change: str = "") -> Run:
        env = {**os.environ, "GEMINI_API_KEY": "test-key", "SE_OFFLINE": "true",
               "GOOGLE_GEMINI_BASE_URL": self.gemini.base_url}  # fmt: skip
        for name in ("ANALYZER", "AWS_ENDPOINT_URL", "PAGES_BUCKET", "CHANGE_RULES"):
            env.pop(name, None)  # the local stack sets its own
        if not self.with_key:
            env.pop("GEMINI_API_KEY")
        before = len(self.gemini.requests)
        command = [sys.executable, "-m", "rivalscope_local.run", "--data-dir", str(self.data),
                   "--out", str(self.out)]  # fmt: skip
        if demo_change:
            command += ["--demo-change", demo_change]
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=600, check=False, stdin=subprocess.DEVNULL)  # fmt: skip
        report = re.findall(r"report: (\S+report\.html)", done.stdout)
        changes: dict[str, dict[str, Any]] = {}
        if report:
            for raw in (Path(report[-1]).parent / "changes.jsonl").read_text("utf-8").splitlines():
                line = json.loads(raw)
                site = re.sub(r"^http://[^/]+", "", line["url"])
                changes[f"{_site(line['url'], self.data)}{site}"] = line
        asked = self.gemini.requests[before:]
        pages = sum(1 for request in asked if request.page_delimited)
        return Run(done.stdout + done.stderr, done.returncode, pages, len(asked) - pages, changes)


def _site(url: str, data: Path) -> str:
    """The demo folder a served URL belongs to (data/demo-sites.json maps them)."""
    addresses = json.loads((data / "demo-sites.json").read_text("utf-8"))
    netloc = url.split("/")[2]
    return str(next(name for name, address in addresses.items() if address == netloc))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, gemini_server: GeminiServer) -> list[Run]:
    gemini_server.reset()
    make_run = MakeRun(tmp_path_factory.mktemp("demo-changes"), gemini_server)
    return [make_run(), make_run(), make_run("acme-price"), make_run("1")]


def test_the_first_run_asks_the_model_about_every_page_and_tells_how_to_see_a_change(
    runs: list[Run],
) -> None:
    first = runs[0]
    assert first.returncode == 0, first.stdout
    assert first.calls == PAGES
    assert set(first.status().values()) == {"new"}
    assert "make run DEMO_CHANGE=1" in first.stdout


def test_an_identical_second_run_reuses_every_answer_at_the_same_urls(runs: list[Run]) -> None:
    first, second = runs[0], runs[1]
    assert second.returncode == 0, second.stdout
    assert second.calls == 0
    assert second.digest_calls == 0  # no change: the digest says so without a model
    assert f"0 answered by the analyser (0 tokens), {PAGES} reused" in second.stdout
    assert set(second.changes) == set(first.changes)  # same URLs: same addresses
    assert set(second.status().values()) == {"unchanged"}


def test_one_changed_price_costs_one_model_call(runs: list[Run]) -> None:
    third = runs[2]
    assert third.returncode == 0, third.stdout
    assert third.calls == 1
    assert third.digest_calls >= 1  # a change: Gemini writes the digest of it
    assert "demo change acme-price: Acme Analytics raised its Team plan" in third.stdout
    changed = {path for path, status in third.status().items() if status == "changed"}
    assert changed == {"acme/pricing.html"}
    text = third.changes["acme/pricing.html"]["text"]
    assert [line for line in text["removed"] if "$49" in line]
    assert [line for line in text["added"] if "$59" in line]


def test_demo_change_shows_exactly_the_intended_changes(runs: list[Run]) -> None:
    fourth = runs[3]
    assert fourth.returncode == 0, fourth.stdout
    changed = {path for path, status in fourth.status().items() if status == "changed"}
    # the price changed in the run before: now the other three edits
    assert changed == {"northwind/pricing.html", "acme/", "northwind/"}
    assert fourth.calls == 3
    plan = fourth.changes["northwind/pricing.html"]["text"]
    assert any("Enterprise" in line for line in plan["added"])
    assert not plan["removed"]
    claim = fourth.changes["acme/"]["text"]
    assert claim["removed"]
    assert all("five minutes" in line for line in claim["removed"])
    assert all("two minutes" in line for line in claim["added"])
    banner = fourth.changes["northwind/"]
    assert banner["text"]["added"] == [
        "New: Northwind Metrics 5 — AI summaries on every dashboard"
    ]
    assert not banner["text"]["removed"]
    visual = banner["visual"]
    assert 0 < visual["changed_fraction"] < 0.01  # a 13,000 px page shifted by a banner
    assert sum(h for _x, _y, _w, h in visual["regions"]) < 100
    assert all(y < 100 for _x, y, _w, _h in visual["regions"])


@pytest.fixture(scope="module")
def offline_runs(
    tmp_path_factory: pytest.TempPathFactory, gemini_server: GeminiServer
) -> list[Run]:
    make_run = MakeRun(tmp_path_factory.mktemp("demo-offline"), gemini_server, with_key=False)
    return [make_run(), make_run("1")]


def test_without_a_key_demo_change_shows_the_four_edits_and_no_rotating_promo(
    offline_runs: list[Run],
) -> None:
    """acme-app's ``.promo`` rotates on every visit and is ignored by the watch list: the
    offline analyser's word count of it must not make that page "changed"."""
    first, second = offline_runs
    assert first.returncode == 0, first.stdout
    assert second.returncode == 0, second.stdout
    assert first.calls == second.calls == 0
    changed = {path for path, status in second.status().items() if status == "changed"}
    assert changed == {"acme/pricing.html", "northwind/pricing.html", "acme/", "northwind/"}
    assert second.status()["acme-app/"] == "unchanged"
    assert second.changes["acme-app/"]["answer"] is None
    assert "changes: 4 changed, 4 unchanged" in second.stdout
