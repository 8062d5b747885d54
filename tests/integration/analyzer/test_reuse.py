"""Unchanged pages cost nothing (issue #12), proven with the fake Gemini's call counter: the
handler on chunks of successive runs stored in the moto server, as the crawler leaves them."""

from __future__ import annotations

import base64
import gzip
import json
from typing import TYPE_CHECKING, Any

import pytest

from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.handler import lambda_handler
from bench.screenshot_pairs import Edits, screenshot_pair
from tests.conftest import load_event
from tests.integration.analyzer.conftest import page, results, retarget
from tests.integration.report.conftest import run_report

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from tests.servers.gemini import GeminiServer
    from tests.servers.moto import MotoServer

pytestmark = pytest.mark.integration

RUNS = ["2026-11-01T06-00-00", "2026-11-08T06-00-00", "2026-11-15T06-00-00"]
QUOTES = [
    "Acme cut our reporting time in half. — Jane Roe, CTO at Initech",
    "The dashboards sold our board on day one. — Raj Patel, COO at Globex",
]
SHOT, SHOT_WITH_BANNER = screenshot_pair(3_000, Edits(banner=80))


def _shot(data: bytes) -> dict[str, Any]:
    return {
        "format": "jpeg",
        "width": 1280,
        "height": 3_000,
        "data": base64.b64encode(data).decode(),
    }


def _carousel(quote: str, faq: tuple[str, str], price: str = "$49") -> str:
    return (
        "<html><body><main><h1>Acme pricing</h1>"
        f"<p>Starter {price} per month</p><p>Updated 3 hours ago</p>"
        f"<blockquote>{quote}</blockquote><p>{faq[0]}</p><p>{faq[1]}</p></main></body></html>"
    )


FAQ = ("Can I cancel at any time? Yes.", "Do non-profits get a discount? Yes, 50%.")


def _records(run: str, *, price: str = "$49", quote: str = QUOTES[0], faq: tuple[str, str] = FAQ,
             shot: bytes = SHOT) -> list[dict[str, Any]]:  # fmt: skip
    crawled = f"{run[:10]}T06:00:01.000000Z"
    return [
        page("pricing.html", crawled_at=crawled, screenshot=_shot(shot)),
        page("japanese.html", crawled_at=crawled, screenshot=_shot(SHOT)),
        page("article.html", url="https://acme.example/", crawled_at=crawled,
             body=_carousel(quote, faq, price)),
    ]  # fmt: skip


def _analyse_run(s3: S3Client, bucket: str, run: str, records: list[dict[str, Any]]) -> str:
    key = f"raw/competitors/{run}/items.0000000.jl.gz"
    body = gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in records))
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    event = retarget(load_event("s3_put.json"), bucket, key)
    assert lambda_handler(event, LocalContext(120))["chunks"][0]["complete"]
    return key


def _results_of(s3: S3Client, bucket: str, run: str) -> dict[int, dict[str, Any]]:
    found = results(s3, bucket).values()
    return {int(r["line"]): r for r in found if f"/{run}/" in r["chunk"]}


def test_a_second_identical_run_makes_no_model_call(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    first = _analyse_run(s3, bucket, RUNS[0], _records(RUNS[0]))
    assert gemini.calls == 3
    _analyse_run(s3, bucket, RUNS[1], _records(RUNS[1]))
    assert gemini.calls == 3  # nothing changed: every answer reused
    before, after = _results_of(s3, bucket, RUNS[0]), _results_of(s3, bucket, RUNS[1])
    for line, result in after.items():
        assert result["reused_from"] == {"chunk": f"s3://{bucket}/{first}", "line": line}
        assert result["usage"] == {"input_tokens": 0, "output_tokens": 0}
        assert result["analysis"] == before[line]["analysis"]
        assert before[line]["reused_from"] is None
    manifest = f"raw/competitors/{RUNS[0]}/_manifest/items.0000000.manifest.json"
    assert len(json.loads(s3.get_object(Bucket=bucket, Key=manifest)["Body"].read())["pages"]) == 3


def test_a_price_change_makes_exactly_one_call(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    _analyse_run(s3, bucket, RUNS[0], _records(RUNS[0]))
    _analyse_run(s3, bucket, RUNS[1], _records(RUNS[1], price="$59"))
    assert gemini.calls == 3 + 1
    changed = _results_of(s3, bucket, RUNS[1])[3]
    assert changed["reused_from"] is None
    assert changed["usage"]["input_tokens"] > 0


def test_a_reordered_block_and_a_testimonial_seen_before_make_no_call(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    _analyse_run(s3, bucket, RUNS[0], _records(RUNS[0], quote=QUOTES[0]))
    _analyse_run(s3, bucket, RUNS[1], _records(RUNS[1], quote=QUOTES[1]))
    assert gemini.calls == 3 + 1  # a testimonial never seen before is a change
    rotated_back = _records(RUNS[2], quote=QUOTES[0], faq=(FAQ[1], FAQ[0]))
    _analyse_run(s3, bucket, RUNS[2], rotated_back)
    assert gemini.calls == 3 + 1
    assert _results_of(s3, bucket, RUNS[2])[3]["reused_from"] is not None


def test_a_banner_in_the_screenshot_the_model_sees_makes_a_call(
    s3: S3Client, bucket: str, gemini: GeminiServer
) -> None:
    _analyse_run(s3, bucket, RUNS[0], _records(RUNS[0]))
    _analyse_run(s3, bucket, RUNS[1], _records(RUNS[1], shot=SHOT_WITH_BANNER))
    assert gemini.calls == 3 + 1
    assert _results_of(s3, bucket, RUNS[1])[1]["reused_from"] is None


def test_analyzer_reuse_false_asks_the_model_again(
    s3: S3Client, bucket: str, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYZER_REUSE", "false")
    _analyse_run(s3, bucket, RUNS[0], _records(RUNS[0]))
    _analyse_run(s3, bucket, RUNS[1], _records(RUNS[1]))
    assert gemini.calls == 6


@pytest.mark.parametrize(("fresh", "calls"), [(False, 3), (True, 6)])
def test_a_reanalyze_event_reuses_unless_fresh(
    s3: S3Client, bucket: str, gemini: GeminiServer, fresh: bool, calls: int
) -> None:
    _analyse_run(s3, bucket, RUNS[0], _records(RUNS[0]))
    key = f"raw/competitors/{RUNS[1]}/items.0000000.jl.gz"
    body = gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in _records(RUNS[1])))
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    request: dict[str, Any] = {
        "chunks": [f"s3://{bucket}/{key}"],
        **({"fresh": True} if fresh else {}),
    }
    lambda_handler({"reanalyze": request}, LocalContext(120))
    assert gemini.calls == calls


def test_the_report_writes_what_changed_since_the_previous_run(
    s3: S3Client, bucket: str, gemini: GeminiServer, moto_server: MotoServer, tmp_path: Path
) -> None:
    _analyse_run(s3, bucket, RUNS[0], _records(RUNS[0]))
    second = _records(RUNS[1], price="$59")
    second[1] = page("japanese.html", url="https://example.com/new.html", crawled_at="x")
    _analyse_run(s3, bucket, RUNS[1], second)
    prompt_id = next(iter(_results_of(s3, bucket, RUNS[1]).values()))["prompt_id"]
    for run, out in ((RUNS[0], tmp_path / "first"), (RUNS[1], tmp_path / "second")):
        done = run_report(moto_server, f"s3://{bucket}/raw/competitors/{run}/", "--prompt",
                          prompt_id, "--out", out)  # fmt: skip
        assert done.returncode == 0, done.stderr
    first = [
        json.loads(x) for x in (tmp_path / "first" / "changes.jsonl").read_text().splitlines()
    ]
    assert [c["status"] for c in first] == ["new", "new", "new"]  # the first capture
    changes = {
        c["url"]: c
        for c in map(json.loads, (tmp_path / "second" / "changes.jsonl").read_text().splitlines())
    }
    pricing = changes["https://example.com/pricing.html"]
    assert pricing["status"] == "unchanged"
    assert pricing["previous"]["run"] == RUNS[0]
    assert pricing["visual"] == {"changed_fraction": 0.0, "regions": []}
    acme = changes["https://acme.example/"]
    assert acme["status"] == "changed"
    assert acme["text"] == {
        "added": ["Starter $59 per month"],
        "removed": ["Starter $49 per month"],
    }
    assert changes["https://example.com/new.html"]["status"] == "new"
    assert changes["https://example.com/new.html"]["previous"] is None
    assert changes["https://example.com/japanese.html"]["status"] == "removed"
    assert len(changes) == 4


@pytest.mark.parametrize(
    ("rules", "calls"), [(None, 4), ('"*": {ignore_text: ["^Visitors online"]}', 3)]
)
def test_change_rules_leave_ignored_lines_out_of_the_reuse_test(
    s3: S3Client, bucket: str, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, rules: str | None, calls: int,
) -> None:  # fmt: skip
    if rules is not None:
        (tmp_path / "rules.yaml").write_text(rules)
        monkeypatch.setenv("CHANGE_RULES", str(tmp_path / "rules.yaml"))
    for run, visitors in ((RUNS[0], 41), (RUNS[1], 977)):
        records = _records(run)
        records[2]["body"] = records[2]["body"].replace(
            "</main>", f"<p>Visitors online: {visitors}</p></main>"
        )
        _analyse_run(s3, bucket, run, records)
    assert gemini.calls == calls


def test_a_bad_change_rules_file_is_a_configuration_error_naming_it(
    s3: S3Client, bucket: str, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    (tmp_path / "rules.yaml").write_text('acme.example: {ignore_text: ["(unclosed"]}')
    monkeypatch.setenv("CHANGE_RULES", str(tmp_path / "rules.yaml"))
    from analyzer_lambda.exceptions import ConfigurationError

    with pytest.raises(
        ConfigurationError, match=r"CHANGE_RULES .*site 'acme.example', ignore_text"
    ):
        _analyse_run(s3, bucket, RUNS[0], _records(RUNS[0]))
