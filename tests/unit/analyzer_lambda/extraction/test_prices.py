"""Price parsing edge cases, one line of page text each."""

from __future__ import annotations

from typing import Any

import pytest

from analyzer_lambda.extraction.prices import find_prices, parse_amount


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("$49/mo", (49, "USD", "month", "$49/mo")),
        ("Pro $1.2k per year", (1200, "USD", "year", "$1.2k per year")),
        ("€19", (19, "EUR", None, "€19")),
        ("¥1,980", (1980, "JPY", None, "¥1,980")),
        ("1,980円", (1980, "JPY", None, "1,980円")),
        ("49 USD billed annually", (49, "USD", "year", "49 USD billed annually")),
        ("19,99 € inkl. MwSt.", (19.99, "EUR", None, "19,99 €")),
        ("EUR 1.234,56", (1234.56, "EUR", None, "EUR 1.234,56")),
        ("£12.50 a week", (12.5, "GBP", "week", "£12.50 a week")),
        ("A$30 per seat per month", (30, "AUD", "month", "A$30 per seat per month")),
        ("1,980円/ユーザー/月", (1980, "JPY", "month", "1,980円/ユーザー/月")),
        ("年額 19,800円", (19800, "JPY", "year", "年額 19,800円")),
        # right after a kanji, no space: the whole amount (this read 900円 once)
        ("月額5,900円", (5900, "JPY", "month", "月額5,900円")),
        ("料金は月額1,980円（税込）", (1980, "JPY", "month", "月額1,980円")),
    ],
)
def test_one_price(line: str, expected: tuple[Any, ...]) -> None:
    (price,) = find_prices([line])
    assert (price["amount"], price["currency"], price["period"], price["text"]) == expected


@pytest.mark.parametrize(
    "line",
    [
        "Version 3.5 released 2026-01-15",
        "Save 20% on yearly plans",
        "Order #20260115-4471",
        "${price} is filled in by the template",
        "Up to 5 days of history",
        "Call 1-800-555-0199",
    ],
)
def test_not_a_price(line: str) -> None:
    assert find_prices([line]) == []


def test_yen_on_a_chinese_page_is_yuan() -> None:
    assert find_prices(["¥99/月"], language="zh-CN")[0]["currency"] == "CNY"


@pytest.mark.parametrize(
    ("text", "value"),
    [("1,980", 1980), ("1.234,56", 1234.56), ("19,99", 19.99), ("19.99", 19.99), ("1 000", 1000)],
)
def test_amounts(text: str, value: float) -> None:
    assert parse_amount(text) == value
