"""analyzer_lambda.cost.ledger: measurements times prices, by hand-computable arithmetic; what
was not measured stays out of the total and says so, never a guess."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from analyzer_lambda.cost.ledger import GIB, TaskSize, build_ledger
from analyzer_lambda.cost.measure import Measurements, Stored, TokenUse, _digest
from analyzer_lambda.cost.prices import FargatePrice, LambdaPrice, Price, PriceTable, S3Price
from analyzer_lambda.cost.runtime import ChunkRuntime
from analyzer_lambda.cost.section import render_cost_section, usd
from rivalscope_core.markers import ShardMarker

if TYPE_CHECKING:
    from pathlib import Path

# round prices, so that every figure below can be checked on paper
PRICES = PriceTable(
    gemini={"flash": Price(1.0, 10.0, "2030-01", batch_input_per_million=0.5,
                           batch_output_per_million=5.0)},
    lambda_={"x86_64": LambdaPrice(0.001, 1.0, "2030-02")},
    fargate={"x86_64": FargatePrice(3.6, 0.36, "2030-03")},
    s3=S3Price(2.0, 1.0, 0.1, "2030-04"),
)  # fmt: skip


def _marker(index: int, count: int, seconds: int) -> ShardMarker:
    return ShardMarker(
        run="2026-11-23T22-19-03", spider="competitors", shard_index=index, shard_count=count,
        chunks=[], pages=2, errors=0, started_at="2026-11-23T22:19:03+00:00",
        ended_at=f"2026-11-23T22:{19 + seconds // 60:02d}:{3 + seconds % 60:02d}+00:00",
        exit_code=0, cpu_seconds=10.0, peak_memory_bytes=1,
    )  # fmt: skip


def _runtime(seconds: float, memory: int | None = 2048, invocation: str = "a") -> ChunkRuntime:
    return ChunkRuntime("s3://b/raw/competitors/r/items.0000000.jl.gz", invocation, "", seconds,
                        memory, "lambda", "x86_64", 2, 0, 0, 0)  # fmt: skip


MEASURED = Measurements(
    pages=4,
    tokens=[TokenUse("flash", 2_000_000, 100_000, 3)],
    reused=[TokenUse("flash", 1_000_000, 0, 1)],
    reused_unvalued=0,
    digest=TokenUse("flash", 0, 200_000, 1),
    runtimes=[_runtime(10.0), _runtime(5.0, invocation="b")],
    markers=[_marker(0, 2, 120), _marker(1, 2, 30)],
    missing_markers=[],
    stored=Stored(bytes=GIB // 2, objects=10, chunks=2, markers=2, results=4, runtime_records=2),
)


def _ledger(measured: Measurements = MEASURED) -> dict[str, dict[str, object]]:
    ledger = build_ledger(measured, PRICES, TaskSize(2048, 4096), run="r", prompt_id="p",
                          generated_at="now")  # fmt: skip
    return {line["key"]: line for line in ledger.to_dict()["lines"]}


def test_every_line_is_quantity_times_its_unit_price() -> None:
    lines = _ledger()
    assert lines["gemini/flash/input"]["cost"] == pytest.approx(2.0)  # 2 M x $1
    assert lines["gemini/flash/output"]["cost"] == pytest.approx(1.0)  # 0.1 M x $10
    assert lines["gemini/flash/input"]["batch_cost"] == pytest.approx(1.0)
    assert lines["digest/flash/output"]["cost"] == pytest.approx(2.0)
    # 15 s at 2 GB = 30 GB-s x $0.001; two invocations x $1 per million
    assert lines["lambda/compute"]["quantity"] == pytest.approx(30.0)
    assert lines["lambda/compute"]["cost"] == pytest.approx(0.03)
    assert lines["lambda/requests"]["quantity"] == 2
    # 120 s + 30 s billed as 60 s (Fargate's minimum) = 180 s x 2 vCPU = 360 vCPU-s = 0.1 h
    assert lines["fargate/vcpu"]["quantity"] == pytest.approx(360.0)
    assert lines["fargate/vcpu"]["cost"] == pytest.approx(0.1 * 3.6)
    assert lines["fargate/memory"]["quantity"] == pytest.approx(720.0)  # x 4 GB
    assert lines["fargate/memory"]["cost"] == pytest.approx(0.2 * 0.36)
    assert lines["s3/storage"]["cost"] == pytest.approx(1.0)  # half a GB-month x $2
    assert lines["s3/put"]["basis"] == "estimated"
    for line in lines.values():
        assert line["as_of"]
        assert line["source"]


def test_totals_per_1000_pages_and_batch_comparison() -> None:
    ledger = build_ledger(MEASURED, PRICES, TaskSize(), run="r", prompt_id="p",
                          generated_at="now")  # fmt: skip
    data = ledger.to_dict()
    costs = [line["cost"] for line in data["lines"]]
    assert data["total"]["cost"] == pytest.approx(sum(costs))
    assert data["total"]["per_1000_pages"] == pytest.approx(sum(costs) / 4 * 1000)
    gemini = sum(
        line["cost"] for line in data["lines"] if line["key"].startswith(("gemini", "digest"))
    )
    assert data["total"]["batch_cost"] == pytest.approx(sum(costs) - gemini / 2)
    assert data["total"]["missing"] == []
    # savings: the reused answer's own usage, valued but not in the total
    [saved_in, saved_out] = data["savings"]
    assert saved_in["cost"] == pytest.approx(1.0)
    assert saved_out["cost"] == 0


def test_missing_markers_and_runtime_records_are_not_measured_never_guessed() -> None:
    lines = _ledger(replace(MEASURED, markers=[], runtimes=[]))
    for key in ("fargate/vcpu", "fargate/memory", "lambda/compute"):
        assert lines[key]["basis"] == "not measured"
        assert lines[key]["quantity"] is None
        assert lines[key]["cost"] is None
    assert "no shard marker" in str(lines["fargate/vcpu"]["note"])
    ledger = build_ledger(replace(MEASURED, markers=[]), PRICES, TaskSize(), run="r",
                          prompt_id="p", generated_at="now")  # fmt: skip
    assert ledger.missing == ["fargate/vcpu", "fargate/memory"]
    assert "not measured" in render_cost_section(ledger)


def test_a_missing_shard_is_named_and_left_out() -> None:
    lines = _ledger(replace(MEASURED, markers=[_marker(0, 2, 120)], missing_markers=["2of2.json"]))
    assert lines["fargate/vcpu"]["quantity"] == pytest.approx(240.0)
    assert "2of2.json" in str(lines["fargate/vcpu"]["note"])


def test_a_model_without_a_price_says_so_and_memory_not_recorded_is_not_measured() -> None:
    lines = _ledger(replace(MEASURED, tokens=[TokenUse("gemini-9", 5, 5, 1)],
                            runtimes=[_runtime(3.0, memory=None)]))  # fmt: skip
    assert lines["gemini/gemini-9/input"]["basis"] == "no price"
    assert lines["gemini/gemini-9/input"]["cost"] is None
    assert "RIVALSCOPE_PRICES_FILE" in str(lines["gemini/gemini-9/input"]["note"])
    assert lines["lambda/compute"]["basis"] == "not measured"


def test_the_section_escapes_what_it_shows_and_links_only_http_sources() -> None:
    evil = PriceTable(gemini={"<b>m</b>": Price(1, 1, "<i>", source="javascript:alert(1)")})
    measured = replace(MEASURED, tokens=[TokenUse("<b>m</b>", 1, 1, 1)], reused=[], digest=None)
    section = render_cost_section(build_ledger(measured, evil, TaskSize(), run="r",
                                               prompt_id="p", generated_at="now"))  # fmt: skip
    assert "<b>m</b>" not in section
    assert "&lt;b&gt;m&lt;/b&gt;" in section
    assert 'href="javascript' not in section
    assert 'href="https://aws.amazon.com/fargate/pricing/"' in section
    assert "style=" not in section
    assert "<script" not in section


def test_dollars_are_readable_at_every_scale() -> None:
    assert usd(None) == "—"
    assert usd(0) == "$0"
    assert usd(1234.5) == "$1,234.50"
    assert usd(0.0123) == "$0.0123"
    assert usd(0.000123) == "$0.000123"
    assert usd(0.0000001) == "< $0.000001"


def test_the_offline_analyser_is_one_free_line_of_answers_not_tokens() -> None:
    lines = _ledger(replace(MEASURED, tokens=[TokenUse("extract-v2", 0, 0, 8)]))
    line = lines["gemini/extract-v2"]
    assert (line["quantity"], line["unit"], line["cost"]) == (8, "answers", 0.0)
    assert isinstance(line["quantity"], int)
    assert lines["lambda/requests"]["quantity"] == 2
    assert isinstance(lines["lambda/requests"]["quantity"], int)


def test_the_digest_s_tokens_come_from_digest_json_beside_the_report(tmp_path: Path) -> None:
    notes: list[str] = []
    assert _digest(tmp_path, notes) is None  # no digest written: no line
    (tmp_path / "digest.json").write_text(
        json.dumps({"model": "flash", "usage": {"input_tokens": 1_000_000, "output_tokens": 0}})
    )
    digest = _digest(tmp_path, notes)
    assert digest == TokenUse("flash", 1_000_000, 0, 1)  # "calls" absent: one
    lines = _ledger(replace(MEASURED, digest=digest))
    assert lines["digest/flash/input"]["cost"] == pytest.approx(1.0)
    (tmp_path / "digest.json").write_text("{not json")
    assert _digest(tmp_path, notes) is None
    assert "digest.json unreadable" in notes[0]
