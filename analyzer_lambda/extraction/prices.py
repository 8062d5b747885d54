"""Prices in page text: amount, ISO 4217 currency, billing period and the text as written.

Written conservatively: a number counts as a price only beside a currency symbol, code or
``円``. Ambiguous symbols take the common reading (``$`` → USD, ``¥`` → JPY, or CNY on a
Chinese page); the original ``text`` is always kept so a reader can check."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

_SYMBOLS = {
    "US$": "USD", "A$": "AUD", "AU$": "AUD", "C$": "CAD", "CA$": "CAD", "NZ$": "NZD",
    "HK$": "HKD", "S$": "SGD", "R$": "BRL", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY",
    "￥": "JPY", "₹": "INR", "₩": "KRW", "₽": "RUB", "₺": "TRY", "₫": "VND", "₱": "PHP",
    "円": "JPY", "元": "CNY",
}  # fmt: skip
_CODES = "USD|EUR|GBP|JPY|CNY|AUD|CAD|CHF|INR|KRW|SEK|NOK|DKK|PLN|BRL|MXN|SGD|HKD|NZD|ZAR|TWD|CZK"
_SYMBOL_RE = "|".join(
    re.escape(s) for s in sorted((s for s in _SYMBOLS if s not in "円元"), key=len, reverse=True)
)
# 1,980 · 1.234,56 · 19.99 · 49 · 1 980 (thin/normal space groups), optional k/M multiplier.
_AMOUNT = r"\d{1,3}(?:[,.\u202f\u00a0 ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
# Not inside a number or a Latin word (``A100``), but right after a CJK character: in
# ``月額5,900円`` the amount follows 額, a word character to ``\w``, and a ``\w`` guard made the
# match start after the comma (900円).
_PRICE = re.compile(
    rf"(?<![0-9A-Za-z_$€£¥￥.,])(?:"
    rf"(?P<sym>{_SYMBOL_RE})\s?(?P<a1>{_AMOUNT})(?P<m1>[kKM](?![a-zA-Z]))?"
    rf"|(?P<code1>{_CODES})\s?(?P<a2>{_AMOUNT})(?P<m2>[kKM](?![a-zA-Z]))?"
    rf"|(?P<a3>{_AMOUNT})(?P<m3>[kKM](?![a-zA-Z]))?\s?(?:(?P<code2>{_CODES})\b|(?P<suf>円|元|€))"
    rf")(?!\d)"
)
# What follows a price and names its period (``/mo``, ``per user per month``, ``/月``,
# ``billed annually``); a bare word after a number (``5 days``) needs a separator to count.
_SEP = r"(?:/|／|per\s+|a\s+|an\s+|each\s+|every\s+)"
_UNIT = rf"(?:(?:users?|seats?|members?|agents?|editors?|ユーザー|人|名|ID)\s*{_SEP}\s*)?"
_PERIOD_AFTER = re.compile(
    r"^\s*(?:[(（]?(?:税込|税抜|税別|tax incl\.?|excl\. tax|\+ ?VAT)[)）]?\s*)?"
    r"(?:billed\s+|paid\s+)?"
    r"(?:(?P<adverb>monthly|annually|yearly)\b"
    rf"|{_SEP}\s*{_UNIT}"
    r"(?P<period>months?|mo|mth|years?|yr|annum|weeks?|wk|days?|月|ヶ月|か月|カ月|年|週|日)"
    r"(?![a-z]))",
    re.IGNORECASE,
)
_PERIOD_BEFORE = re.compile(
    r"(?P<period>月額|年額|月々|毎月|年間|monthly|yearly|annual)\s*[:：]?\s*$", re.IGNORECASE
)
_PERIODS = {
    "month": "month", "months": "month", "mo": "month", "mth": "month", "monthly": "month",
    "月": "month", "ヶ月": "month", "か月": "month", "カ月": "month", "月額": "month",
    "月々": "month", "毎月": "month",
    "year": "year", "years": "year", "yr": "year", "annually": "year", "yearly": "year",
    "annum": "year", "annual": "year", "年": "year", "年額": "year", "年間": "year",
    "week": "week", "weeks": "week", "wk": "week", "週": "week",
    "day": "day", "days": "day", "日": "day",
}  # fmt: skip
_MULTIPLIERS = {"k": 1000, "K": 1000, "M": 1_000_000}
MAX_PRICES = 60


def parse_amount(text: str) -> float | None:
    """``1,980`` → 1980, ``1.234,56`` → 1234.56, ``19,99`` → 19.99, ``19.99`` → 19.99.

    With both separators the last one is the decimal mark; with one kind only, it groups
    thousands when every group after it has three digits, else it is the decimal mark."""
    raw = re.sub(r"[\u202f\u00a0 ]", ",", text)
    if "," in raw and "." in raw:
        decimal_mark = "," if raw.rfind(",") > raw.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        raw = raw.replace(thousands, "").replace(decimal_mark, ".")
    elif "," in raw or "." in raw:
        mark = "," if "," in raw else "."
        groups = raw.split(mark)
        grouped = len(groups) > 2 or len(groups[-1]) == 3
        raw = "".join(groups) if grouped else raw.replace(",", ".")
    try:
        return float(Decimal(raw))
    except InvalidOperation:
        return None


def currency_code(symbol: str | None) -> str | None:
    """ISO 4217 for a symbol or code as written (``$`` → USD, ``eur`` → EUR), else None."""
    if not symbol:
        return None
    if symbol in _SYMBOLS:
        return _SYMBOLS[symbol]
    code = symbol.strip().upper()
    return code if re.fullmatch(_CODES, code) else None


def merge_prices(
    declared: list[dict[str, Any]], written: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Declared prices first; a written one that repeats a declared amount and currency only
    lends it its period when the declaration has none; the rest follow as ``text``."""
    merged = [dict(price) for price in declared]
    for price in written:
        twin = next(
            (
                p
                for p in merged
                if (p["amount"], p["currency"]) == (price["amount"], price["currency"])
            ),
            None,
        )
        if twin is None:
            merged.append({**price, "source": "text"})
        elif twin["period"] is None and price["period"] is not None:
            twin["period"] = price["period"]
    return merged[:MAX_PRICES]


def _period(line: str, start: int, end: int) -> str | None:
    after = _PERIOD_AFTER.match(line[end : end + 40])
    if after:
        word = after["adverb"] or after["period"]
        return _PERIODS.get(word.lower(), _PERIODS.get(word))
    before = _PERIOD_BEFORE.search(line[max(0, start - 12) : start])
    if before:
        return _PERIODS.get(before["period"].lower(), _PERIODS.get(before["period"]))
    return None


def find_prices(lines: list[str], *, language: str | None = None) -> list[dict[str, Any]]:
    """Every distinct price in the page's text lines, in page order."""
    found: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str | None]] = set()
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        for match in _PRICE.finditer(line):
            symbol = match["sym"] or match["suf"]
            currency = _SYMBOLS[symbol] if symbol else (match["code1"] or match["code2"])
            if currency == "JPY" and symbol in ("¥", "￥") and (language or "").startswith("zh"):
                currency = "CNY"
            amount_text = match["a1"] or match["a2"] or match["a3"]
            amount = parse_amount(amount_text)
            if amount is None:
                continue
            multiplier = match["m1"] or match["m2"] or match["m3"]
            if multiplier:
                amount = round(amount * _MULTIPLIERS[multiplier], 2)
            start, end = match.start(), match.end()
            context = line
            if not line[end:].strip() and _PERIOD_AFTER.match(following[:40]):
                # A plan card's price and its period are often two blocks, two lines:
                # "$49" then "per month, billed monthly".
                context = f"{line[:end]} {following}"
            period = _period(context, start, end)
            text = match[0].strip()
            key = (text, currency, period)
            if key in seen:
                continue
            seen.add(key)
            price: dict[str, Any] = {
                "amount": int(amount) if amount.is_integer() else amount,
                "currency": currency,
                "period": period,
                "text": _with_period_text(context, start, end, period),
            }
            found.append(price)
            if len(found) >= MAX_PRICES:
                return found
    return found


def _with_period_text(line: str, start: int, end: int, period: str | None) -> str:
    """The price as written, with its period when one was found (``$49/mo``, ``月額1,980円``)."""
    text = line[start:end].strip()
    if period is None:
        return text
    after = _PERIOD_AFTER.match(line[end : end + 40])
    if after:
        return (text + line[end : end + after.end()]).strip()
    before = _PERIOD_BEFORE.search(line[max(0, start - 12) : start])
    if before:
        return (before[0] + text).strip()
    return text
