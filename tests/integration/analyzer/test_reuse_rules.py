"""The reuse test and the report's diffs under the page's own noise rules (issue #12): a
competitor's ``change_rules`` carried on the page record, merged with ``CHANGE_RULES``; the
crawl's ``ignored_boxes`` masking a screenshot change; and a capture with an error — a bot wall
included — never being anyone's previous capture. Proven with the fake Gemini's call counter on
the real handler, chunks in the moto server."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.analyzer.test_reuse import (
    RUNS,
    SHOT_WITH_BANNER,
    _analyse_run,
    _records,
    _results_of,
)
from tests.integration.report.conftest import run_report

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from tests.servers.gemini import GeminiServer
    from tests.servers.moto import MotoServer

pytestmark = pytest.mark.integration

ACME = 3  # the line of https://acme.example/ in _records
AD = '<div class="promo"><p>Spring sale: {0}% off everything</p></div>'


def _with_ad(run: str, percent: int, rules: dict[str, Any] | None) -> list[dict[str, Any]]:
    records = _records(run)
    body = records[ACME - 1]["body"].replace("</main>", AD.format(percent) + "</main>")
    records[ACME - 1].update(body=body, competitor="Acme", change_rules=rules)
    return records


@pytest.mark.parametrize(
    ("rules", "calls"),
    [
        (None, 3 + 1),
        ({"ignore_text": [], "ignore_selectors": [".promo"]}, 3),
        ({"ignore_text": ["^Spring sale"], "ignore_selectors": []}, 3),
    ],
)
def test_a_competitors_change_rules_on_the_record_apply_to_the_reuse_test(
    s3: S3Client, bucket: str, gemini: GeminiServer, rules: dict[str, Any] | None, calls: int
) -> None:
    _analyse_run(s3, bucket, RUNS[0], _with_ad(RUNS[0], 20, rules))
    _analyse_run(s3, bucket, RUNS[1], _with_ad(RUNS[1], 35, rules))
    assert gemini.calls == calls


def test_competitor_rules_merge_with_change_rules(
    s3: S3Client, bucket: str, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    (tmp_path / "rules.yaml").write_text('"*": {ignore_text: ["^Visitors online"]}')
    monkeypatch.setenv("CHANGE_RULES", str(tmp_path / "rules.yaml"))
    rules = {"ignore_text": [], "ignore_selectors": [".promo"]}
    for run, (percent, visitors) in zip(RUNS[:2], ((20, 41), (35, 977)), strict=True):
        records = _with_ad(run, percent, rules)
        body = records[ACME - 1]["body"]
        records[ACME - 1]["body"] = body.replace(
            "</main>", f"<p>Visitors online: {visitors}</p></main>"
        )
        _analyse_run(s3, bucket, run, records)
    assert gemini.calls == 3  # the ad by the competitor's rule, the counter by CHANGE_RULES


@pytest.mark.parametrize(("boxes", "calls"), [([], 3 + 1), ([[0, 0, 1280, 80]], 3)])
def test_a_change_inside_the_ignored_boxes_of_the_screenshot_is_no_change(
    s3: S3Client, bucket: str, gemini: GeminiServer, boxes: list[list[int]], calls: int
) -> None:
    _analyse_run(s3, bucket, RUNS[0], _records(RUNS[0]))
    second = _records(RUNS[1], shot=SHOT_WITH_BANNER)  # an 80 px banner on top of line 1
    second[0]["ignored_boxes"] = boxes  # where the crawl measured the banner's element
    _analyse_run(s3, bucket, RUNS[1], second)
    assert gemini.calls == calls


def test_a_bot_wall_is_never_the_previous_capture(
    s3: S3Client, bucket: str, gemini: GeminiServer, moto_server: MotoServer, tmp_path: Path
) -> None:
    first = _analyse_run(s3, bucket, RUNS[0], _records(RUNS[0]))
    walled = _records(RUNS[1], price="$99")  # what the wall's page said is not the page
    walled[ACME - 1]["error"] = {"type": "blocked_by_site", "message": "Cloudflare challenge"}
    _analyse_run(s3, bucket, RUNS[1], walled)
    assert gemini.calls == 3  # the wall is not analysed; the two other pages are reused
    _analyse_run(s3, bucket, RUNS[2], _records(RUNS[2]))
    again = _results_of(s3, bucket, RUNS[2])[ACME]
    assert again["reused_from"] == {"chunk": f"s3://{bucket}/{first}", "line": ACME}

    prompt_id = again["prompt_id"]
    out = tmp_path / "third"
    done = run_report(moto_server, f"s3://{bucket}/raw/competitors/{RUNS[2]}/", "--prompt",
                      prompt_id, "--out", out)  # fmt: skip
    assert done.returncode == 0, done.stderr
    changes = {
        c["url"]: c for c in map(json.loads, (out / "changes.jsonl").read_text().splitlines())
    }
    acme = changes["https://acme.example/"]
    assert acme["previous"]["run"] == RUNS[0]  # not the run whose capture was a wall
    assert acme["status"] == "unchanged"


@pytest.mark.parametrize(
    ("second_body", "reused"),
    [
        (lambda body: body, True),  # only the ignored promo rotated
        # a fact the offline analyser reads from the HTML, not the text: a new social link
        (lambda body: body.replace("</main>", '<a href="https://x.com/acme">x</a></main>'), False),
    ],
    ids=["promo-only", "new-social-link"],
)
def test_the_offline_analyser_reuses_its_answer_when_only_an_ignored_element_changed(
    s3: S3Client, bucket: str, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch,
    second_body: Any, reused: bool,
) -> None:  # fmt: skip
    """``make run`` with no key: the promo's word count must not make an unchanged page
    "changed" (the demo's acme-app), but a fact only the HTML shows still counts."""
    monkeypatch.setenv("ANALYZER", "extract")
    rules = {"ignore_text": [], "ignore_selectors": [".promo"]}
    _analyse_run(s3, bucket, RUNS[0], _with_ad(RUNS[0], 20, rules))
    second = _with_ad(RUNS[1], 5, rules)
    body = second[ACME - 1]["body"].replace("off everything", "off everything, today only")
    second[ACME - 1]["body"] = second_body(body)  # the promo: a word count of its own
    _analyse_run(s3, bucket, RUNS[1], second)
    assert gemini.calls == 0
    before, after = _results_of(s3, bucket, RUNS[0]), _results_of(s3, bucket, RUNS[1])
    assert after[ACME]["model"] == before[ACME]["model"] == "extract-v2"
    assert (after[ACME]["reused_from"] is not None) is reused
    assert (after[ACME]["analysis"] == before[ACME]["analysis"]) is reused
    assert all(after[line]["reused_from"] is not None for line in (1, 2))  # unchanged pages
