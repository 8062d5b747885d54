"""The cost ledger of a run adds up to what it was built from (issue #14): chunks analysed by
the real handler against the fake Gemini (usage in the results, runtime records beside them),
a second run whose unchanged pages reuse the first run's answers, shard markers, everything in
the moto server; then ``python -m analyzer_lambda.report`` writes ``cost.json`` and the Cost
section, whose numbers are checked here by arithmetic a reader can redo."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.cost.prices import BUILTIN_FARGATE, BUILTIN_LAMBDA, BUILTIN_PRICES
from analyzer_lambda.cost.section import usd
from analyzer_lambda.handler import lambda_handler
from analyzer_lambda.prompts.parser import default_prompt
from analyzer_lambda.report.__main__ import main as report_main
from rivalscope_core.keys import RunRef, marker_key, report_prefix
from rivalscope_core.markers import ShardMarker
from tests.conftest import load_event
from tests.integration.analyzer.conftest import page, retarget

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from tests.servers.gemini import GeminiServer

pytestmark = pytest.mark.integration

RUNS = ["2026-11-01T06-00-00", "2026-11-08T06-00-00"]
WALL_SECONDS = 150  # the shard marker's crawl, end minus start


def _records(price: str) -> list[dict[str, Any]]:
    body = f"<html><body><main><h1>Acme</h1><p>Starter {price} per month</p></main></body></html>"
    return [
        page("pricing.html"),
        page("japanese.html"),
        page("article.html", url="https://acme.example/", body=body),
    ]


def _chunk(s3: S3Client, bucket: str, run: str, records: list[dict[str, Any]]) -> str:
    key = f"raw/competitors/{run}/items.0000000.jl.gz"
    body = gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in records))
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return key


def _analyse(bucket: str, key: str) -> None:
    event = retarget(load_event("s3_put.json"), bucket, key)
    assert lambda_handler(event, LocalContext(120))["complete"]


def _mark(s3: S3Client, bucket: str, run: str, chunk: str, *, index: int = 0, count: int = 1,
          ) -> str:  # fmt: skip
    ended = datetime.now(UTC) - timedelta(seconds=1)
    marker = ShardMarker(
        run=run, spider="competitors", shard_index=index, shard_count=count, chunks=[chunk],
        pages=3, errors=0, started_at=(ended - timedelta(seconds=WALL_SECONDS)).isoformat(),
        ended_at=ended.isoformat(), exit_code=0, cpu_seconds=42.0,
        peak_memory_bytes=600_000_000, finish_reason="finished",
    )  # fmt: skip
    key = marker_key(RunRef(bucket, "competitors", run), index, count)
    s3.put_object(Bucket=bucket, Key=key, Body=marker.to_json())
    return key


def _objects(s3: S3Client, bucket: str, prefix: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for listing in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found.update((obj["Key"], dict(obj)) for obj in listing.get("Contents", []))
    return found


def _json(s3: S3Client, bucket: str, key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())  # type: ignore[no-any-return]


def _report(bucket: str, run: str, out: Path) -> tuple[int, dict[str, Any], dict[str, Any]]:
    code = report_main([f"s3://{bucket}/raw/competitors/{run}/", "--out", str(out)])
    cost = json.loads((out / "cost.json").read_text()) if (out / "cost.json").exists() else {}
    return code, cost, {line["key"]: line for line in cost.get("lines", [])}


@pytest.fixture
def two_runs(s3: S3Client, bucket: str, gemini: GeminiServer) -> list[str]:
    """Run 1 asks the model about 3 pages; run 2 changes one page, so 2 answers are reused."""
    chunks = [_chunk(s3, bucket, RUNS[0], _records("$49")),
              _chunk(s3, bucket, RUNS[1], _records("$59"))]  # fmt: skip
    for chunk in chunks:
        _analyse(bucket, chunk)
    assert gemini.calls == 4
    return chunks


def test_the_ledger_adds_up_to_the_usage_runtime_records_and_markers_it_was_built_from(
    s3: S3Client, bucket: str, two_runs: list[str], tmp_path: Path
) -> None:
    _mark(s3, bucket, RUNS[1], two_runs[1])
    code, cost, lines = _report(bucket, RUNS[1], tmp_path)
    assert code == 0

    stored = _objects(s3, bucket, "analysis/")
    results = {k: _json(s3, bucket, k) for k in stored if k.endswith(".json")}
    second = [r for r in results.values() if f"/{RUNS[1]}/" in r["chunk"]]
    asked = [r for r in second if r["reused_from"] is None]
    reused = [r for r in second if r["reused_from"] is not None]
    assert (len(asked), len(reused)) == (1, 2)
    flash = BUILTIN_PRICES["gemini-2.5-flash"]

    tokens_in = sum(r["usage"]["input_tokens"] for r in asked)
    tokens_out = sum(r["usage"]["output_tokens"] for r in asked)
    assert tokens_in > 0
    assert tokens_out > 0
    gemini_in, gemini_out = lines["gemini/gemini-2.5-flash/input"], lines[
        "gemini/gemini-2.5-flash/output"]  # fmt: skip
    assert (gemini_in["quantity"], gemini_out["quantity"]) == (tokens_in, tokens_out)
    assert gemini_in["cost"] == pytest.approx(tokens_in * 0.30 / 1e6)
    assert gemini_out["cost"] == pytest.approx(tokens_out * 2.50 / 1e6)
    assert gemini_in["batch_cost"] == pytest.approx(tokens_in * 0.15 / 1e6)
    assert gemini_in["as_of"] == flash.as_of

    # savings: each reused answer at the usage of the run-1 answer it reuses
    first = {r["line"]: r for r in results.values() if f"/{RUNS[0]}/" in r["chunk"]}
    saved_in = sum(first[r["reused_from"]["line"]]["usage"]["input_tokens"] for r in reused)
    [saving_in, saving_out] = cost["savings"]
    assert saving_in["quantity"] == saved_in > 0
    assert saving_in["cost"] == pytest.approx(saved_in * 0.30 / 1e6)
    assert saving_out["note"] == "2 answer(s)"

    # Lambda: run 2's runtime record (one chunk, one invocation) at the local 1,024 MB
    [record_key] = [k for k in stored if k.endswith(".runtime") and f"/{RUNS[1]}/" in k]
    record = _json(s3, bucket, record_key)
    assert (record["memory_mb"], record["memory_source"]) == (1024, "configured")
    assert record["done"] == 3
    x86 = BUILTIN_LAMBDA["x86_64"]
    assert lines["lambda/compute"]["quantity"] == pytest.approx(record["duration_seconds"])
    assert lines["lambda/compute"]["cost"] == pytest.approx(
        record["duration_seconds"] * x86.per_gb_second
    )
    assert lines["lambda/requests"]["quantity"] == 1

    # Fargate: the marker's wall time at the template's 1 vCPU / 3 GB
    fargate = BUILTIN_FARGATE["x86_64"]
    assert lines["fargate/vcpu"]["quantity"] == pytest.approx(WALL_SECONDS, abs=0.01)
    assert lines["fargate/memory"]["quantity"] == pytest.approx(3 * WALL_SECONDS, abs=0.01)
    assert lines["fargate/vcpu"]["cost"] == pytest.approx(
        WALL_SECONDS / 3600 * fargate.per_vcpu_hour, rel=1e-4
    )

    # S3: the bytes listed under the run's prefixes, at the GB-month price
    run_objects = {
        **_objects(s3, bucket, f"raw/competitors/{RUNS[1]}/"),
        **_objects(s3, bucket, f"analysis/competitors/{RUNS[1]}/"),
        **_objects(s3, bucket, f"reports/competitors/{RUNS[1]}/"),
    }
    run_bytes = sum(obj["Size"] for obj in run_objects.values())
    assert lines["s3/storage"]["quantity"] == pytest.approx(run_bytes / 1024**3)
    assert f"{run_bytes:,} bytes" in lines["s3/storage"]["note"]
    assert lines["s3/put"]["basis"] == "estimated"

    # the totals are the sum of the lines; per 1,000 pages over the run's 3 pages
    total = sum(line["cost"] for line in cost["lines"])
    assert cost["total"]["cost"] == pytest.approx(total)
    assert cost["total"]["per_1000_pages"] == pytest.approx(total / 3 * 1000)
    # Batch prices halve every model line: the pages' and the digest's (#13), when Gemini wrote it
    model_cost = sum(line["cost"] or 0 for key, line in lines.items()
                     if key.startswith(("gemini/", "digest/")))  # fmt: skip
    assert model_cost >= gemini_in["cost"] + gemini_out["cost"]
    assert cost["total"]["batch_cost"] == pytest.approx(total - model_cost / 2)
    assert cost["total"]["missing"] == []
    html = (tmp_path / "report.html").read_text()
    assert 'id="cost"' in html
    assert usd(cost["total"]["cost"]) in html
    assert "ai.google.dev" in html


def test_without_markers_the_crawl_is_not_measured_and_a_prices_file_overrides(
    s3: S3Client, bucket: str, two_runs: list[str], tmp_path: Path
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"fargate": {"x86_64": {
        "per_vcpu_hour": 1, "per_gb_hour": 1, "as_of": "2031-01-01"}},
        "gemini": {"gemini-2.5-flash": {"input_per_million": 1000, "output_per_million": 0,
                                        "as_of": "2031-02-02"}}}))  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RIVALSCOPE_PRICES_FILE", str(prices))
        code, cost, lines = _report(bucket, RUNS[1], tmp_path / "out")
    assert code == 0
    for key in ("fargate/vcpu", "fargate/memory"):
        assert lines[key]["basis"] == "not measured"
        assert lines[key]["quantity"] is None
        assert lines[key]["cost"] is None
        assert lines[key]["as_of"] == "2031-01-01"
    assert cost["total"]["missing"] == ["fargate/vcpu", "fargate/memory"]
    line = lines["gemini/gemini-2.5-flash/input"]
    assert line["as_of"] == "2031-02-02"
    assert line["cost"] == pytest.approx(line["quantity"] * 1000 / 1e6)
    assert "RIVALSCOPE_PRICES_FILE=" in cost["prices"]
    assert "not measured" in (tmp_path / "out" / "report.html").read_text()


def test_a_bad_prices_file_is_exit_2_naming_the_field_before_any_work(
    s3: S3Client, bucket: str, two_runs: list[str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"s3": {"per_gb_month": "a lot", "per_1000_put": 0,
                                         "per_1000_get": 0}}))  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RIVALSCOPE_PRICES_FILE", str(prices))
        code, cost, _ = _report(bucket, RUNS[1], tmp_path / "out")
    assert code == 2
    assert "s3.per_gb_month" in capsys.readouterr().err
    assert cost == {}
    assert not (tmp_path / "out" / "report.html").exists()


def test_a_duplicate_event_records_no_second_runtime(
    s3: S3Client, bucket: str, two_runs: list[str], gemini: GeminiServer
) -> None:
    before = [k for k in _objects(s3, bucket, "analysis/") if k.endswith(".runtime")]
    _analyse(bucket, two_runs[1])
    _analyse(bucket, two_runs[1])
    after = [k for k in _objects(s3, bucket, "analysis/") if k.endswith(".runtime")]
    assert after == before
    assert len(before) == 2  # one per run's chunk
    assert gemini.calls == 4


def test_the_run_complete_step_writes_cost_json_beside_its_report(
    s3: S3Client, bucket: str, two_runs: list[str]
) -> None:
    marker = _mark(s3, bucket, RUNS[1], two_runs[1])
    event = retarget(load_event("s3_put.json"), bucket, marker)
    [run] = lambda_handler(event, LocalContext(120))["runs"]
    assert run["outcome"] == "done"
    prefix = report_prefix(RunRef(bucket, "competitors", RUNS[1]), default_prompt().prompt_id)
    cost = _json(s3, bucket, prefix + "cost.json")
    head = s3.head_object(Bucket=bucket, Key=prefix + "cost.json")
    assert head["ContentType"] == "application/json"
    lines = {line["key"]: line for line in cost["lines"]}
    assert lines["fargate/vcpu"]["quantity"] == pytest.approx(WALL_SECONDS, abs=0.01)
    assert lines["gemini/gemini-2.5-flash/input"]["quantity"] > 0
    html = s3.get_object(Bucket=bucket, Key=prefix + "report.html")["Body"].read().decode()
    assert usd(cost["total"]["cost"]) in html


def test_a_bad_prices_file_costs_the_run_complete_step_its_ledger_not_its_report(
    s3: S3Client, bucket: str, two_runs: list[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    prices = tmp_path / "prices.json"
    prices.write_text("{broken")
    monkeypatch.setenv("RIVALSCOPE_PRICES_FILE", str(prices))
    marker = _mark(s3, bucket, RUNS[1], two_runs[1])
    [run] = lambda_handler(retarget(load_event("s3_put.json"), bucket, marker),
                           LocalContext(120))["runs"]  # fmt: skip
    assert run["outcome"] == "done"
    prefix = report_prefix(RunRef(bucket, "competitors", RUNS[1]), default_prompt().prompt_id)
    written = _objects(s3, bucket, prefix)
    assert prefix + "report.html" in written
    assert prefix + "cost.json" not in written


def test_inside_lambda_the_record_takes_the_function_s_configured_memory(
    s3: S3Client, bucket: str, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "rivalscope-analyzer")  # the runtime sets it
    chunk = _chunk(s3, bucket, RUNS[0], _records("$49"))
    context = LocalContext(120)
    context.memory_limit_in_mb = 2048
    assert lambda_handler(retarget(load_event("s3_put.json"), bucket, chunk), context)["complete"]
    [key] = [k for k in _objects(s3, bucket, "analysis/") if k.endswith(".runtime")]
    record = _json(s3, bucket, key)
    assert (record["memory_mb"], record["memory_source"]) == (2048, "lambda")
    assert record["invocation"] == context.aws_request_id
    assert key.endswith("/items.0000000/000001.runtime")  # named after the first result
