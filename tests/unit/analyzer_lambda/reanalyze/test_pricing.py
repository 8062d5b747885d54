"""analyzer_lambda.reanalyze.pricing: the one price table, its override, and the token estimate
that ``reanalyze --dry-run`` prints."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from analyzer_lambda.prompts.parser import parse_prompt
from analyzer_lambda.reanalyze.pricing import (
    BUILTIN_PRICES,
    PRICES_FILE_ENV,
    PriceTableError,
    estimate_page_tokens,
    image_tokens,
    load_prices,
    price_for,
)
from rivalscope_core.records import ErrorInfo, PageRecord, Screenshot

if TYPE_CHECKING:
    from pathlib import Path


def test_every_builtin_price_is_dated() -> None:
    assert BUILTIN_PRICES
    for price in BUILTIN_PRICES.values():
        assert price.as_of
        assert price.input_per_million > 0
        assert price.output_per_million > 0


def test_cost_is_tokens_times_price_per_million() -> None:
    price = price_for("models/gemini-2.5-flash", load_prices({}))
    assert price is not None
    assert price.cost(1_000_000, 0) == pytest.approx(price.input_per_million)
    assert price.cost(0, 2_000_000) == pytest.approx(2 * price.output_per_million)


def test_a_prices_file_overrides_and_adds_models(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({
        "gemini-2.5-flash": {"input_per_million": 9, "output_per_million": 99, "as_of": "2031-02"},
        "my-model": {"input_per_million": 1, "output_per_million": 2},
    }))  # fmt: skip
    prices = load_prices({PRICES_FILE_ENV: str(path)})
    assert prices["gemini-2.5-flash"].input_per_million == 9
    assert prices["gemini-2.5-flash"].as_of == "2031-02"
    assert price_for("my-model", prices) is not None
    assert price_for("gemini-2.5-pro", prices) == BUILTIN_PRICES["gemini-2.5-pro"]


def test_a_bad_prices_file_names_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"m": {"input_per_million": "cheap"}}))
    with pytest.raises(PriceTableError, match=PRICES_FILE_ENV):
        load_prices({PRICES_FILE_ENV: str(path)})


def test_unknown_models_have_no_price_and_the_offline_analyser_is_free() -> None:
    assert price_for("gemini-9-ultra", load_prices({})) is None
    free = price_for("extract-v1", load_prices({}))
    assert free is not None
    assert free.cost(10**6, 10**6) == 0


def test_screenshot_tokens_follow_what_the_analyser_sends() -> None:
    assert image_tokens(1280, 700, 1536) == 2 * 258  # two tiles wide, one high
    assert image_tokens(1280, 900, 1536) == 4 * 258  # two by two
    assert image_tokens(1280, 20_000, 1536) == 2 * 258  # top 2560 px, scaled to 768x1536
    assert image_tokens(0, 0, 1536) == 0


def test_a_page_estimate_counts_prompt_text_and_screenshot_and_a_failed_page_costs_nothing() -> (
    None
):
    prompt = parse_prompt("Summarise the page.", fallback_name="p")
    body = "<html><body><main>" + "<p>Pro plan $49 per month.</p>" * 200 + "</main></body></html>"
    shot = Screenshot(format="webp", width=1280, height=4000, data="")
    page = PageRecord("https://a.example/", None, 200, "", body, screenshot=shot)
    tokens_in, tokens_out = estimate_page_tokens(
        page, prompt, text_budget=8000, image_max_side=1536, max_output=4096
    )
    no_shot_in, _ = estimate_page_tokens(
        PageRecord("https://a.example/", None, 200, "", body),
        prompt, text_budget=8000, image_max_side=1536, max_output=4096,
    )  # fmt: skip
    assert tokens_in - no_shot_in == 2 * 258
    assert no_shot_in > 200 * 6  # the page text is most of it
    assert 0 < tokens_out <= 4096
    failed = PageRecord("https://a.example/", None, None, "", "", error=ErrorInfo("timeout", "x"))
    assert estimate_page_tokens(
        failed, prompt, text_budget=8000, image_max_side=1536, max_output=4096
    ) == (0, 0)
