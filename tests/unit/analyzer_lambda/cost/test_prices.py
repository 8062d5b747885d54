"""analyzer_lambda.cost.prices: one dated table with sources for everything the ledger prices,
and the ``RIVALSCOPE_PRICES_FILE`` override, which refuses a bad file naming the field."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from analyzer_lambda.cost.prices import (
    ARCHITECTURES,
    BUILTIN_PRICES,
    PriceTable,
    PriceTableError,
    load_price_table,
)

if TYPE_CHECKING:
    from pathlib import Path


def _file(tmp_path: Path, data: Any) -> str:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def test_every_builtin_price_has_a_date_and_a_source() -> None:
    table = load_price_table(None)
    entries: list[Any] = [*table.gemini.values(), *table.lambda_.values(),
                          *table.fargate.values(), table.s3]  # fmt: skip
    for entry in entries:
        assert entry.as_of
        assert entry.source.startswith("https://")
    assert set(table.lambda_) == set(table.fargate) == set(ARCHITECTURES)
    assert table.origin == "built-in"


def test_batch_prices_are_half_unless_given() -> None:
    price = PriceTable().model("models/gemini-2.5-flash")
    assert price is not None
    assert price.batch_cost(1_000_000, 1_000_000) == pytest.approx(
        price.cost(1_000_000, 1_000_000) / 2
    )


def test_the_file_overrides_any_section_and_keeps_the_rest(tmp_path: Path) -> None:
    table = load_price_table(_file(tmp_path, {
        "gemini": {"gemini-2.5-flash": {"input_per_million": 1, "output_per_million": 2,
                                        "batch_input_per_million": 0.1, "as_of": "2031-01"}},
        "lambda": {"arm64": {"per_gb_second": 0.5, "per_million_requests": 1,
                             "as_of": "2031-02", "source": "our contract"}},
        "fargate": {"x86_64": {"per_vcpu_hour": 3, "per_gb_hour": 4}},
        "s3": {"per_gb_month": 5, "per_1000_put": 6, "per_1000_get": 7, "as_of": "2031-03"},
        "my-model": {"input_per_million": 8, "output_per_million": 9},
    }))  # fmt: skip
    flash = table.model("gemini-2.5-flash")
    assert flash is not None
    assert (flash.input_per_million, flash.batch_input, flash.batch_output) == (1, 0.1, 1)
    assert flash.as_of == "2031-01"
    assert "RIVALSCOPE_PRICES_FILE=" in flash.source  # where an override came from
    assert table.lambda_["arm64"].source == "our contract"
    assert table.lambda_["x86_64"] == PriceTable().lambda_["x86_64"]
    assert table.fargate["x86_64"].per_vcpu_hour == 3
    assert table.fargate["x86_64"].as_of == "undated"
    assert table.s3.per_1000_get == 7
    assert table.model("my-model") is not None  # the format before the ledger still works
    assert table.model("gemini-2.5-pro") == BUILTIN_PRICES["gemini-2.5-pro"]
    assert table.origin.startswith("RIVALSCOPE_PRICES_FILE=")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lambda": {"x86_64": {"per_gb_second": "cheap", "per_million_requests": 1}}},
         "lambda.x86_64.per_gb_second"),
        ({"fargate": {"sparc": {"per_vcpu_hour": 1, "per_gb_hour": 1}}}, "fargate"),
        ({"s3": {"per_gb_month": 1, "per_1000_put": 1}}, "s3"),
        ({"s3": {"per_gb_month": 1, "per_1000_put": 1, "per_1000_get": 1, "per_gb": 2}}, "s3"),
        ({"gemini": {"m": {"input_per_million": -1, "output_per_million": 0}}},
         "gemini.m.input_per_million"),
        ({"gemini-2.5-flash": {"input_per_million": 1}}, "gemini-2.5-flash"),
        ([1, 2], "(the top level)"),
    ],
)  # fmt: skip
def test_a_bad_file_is_refused_naming_the_field(tmp_path: Path, data: Any, field: str) -> None:
    with pytest.raises(PriceTableError, match="RIVALSCOPE_PRICES_FILE=") as raised:
        load_price_table(_file(tmp_path, data))
    assert f": {field}:" in str(raised.value)


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PriceTableError, match="cannot read a JSON table"):
        load_price_table(_file(tmp_path, "{not json"))
    with pytest.raises(PriceTableError, match="cannot read"):
        load_price_table(str(tmp_path / "missing.json"))
