"""Prices the page declares for machines: schema.org JSON-LD and microdata offers, and
OpenGraph ``product:price``. They come before prices read from the text (issue 11): a shop's
``Offer`` states amount, ISO currency and billing period exactly, where the text needs
guessing (``$`` is USD? is ``$49`` next to ``per month`` one price?).

extruct (Zyte) reads the three syntaxes; price-parser (Zyte) turns a declared price string
(``"1.299,00"``, ``"$49.00"``) into an amount, which it does better than the text regexes of
``prices.py`` (they insist on a currency beside the number, which a declared ``price`` field
never has). Pure: HTML in, price dicts out.
"""

from __future__ import annotations

import re
from typing import Any

from analyzer_lambda.extraction.prices import currency_code

_OFFER_TYPES = frozenset(
    ("Offer", "AggregateOffer", "PriceSpecification", "UnitPriceSpecification")
)
# UN/CEFACT unit codes schema.org uses for unitCode / referenceQuantity, and ISO 8601 periods.
_UNIT_PERIODS = {"MON": "month", "ANN": "year", "WEE": "week", "DAY": "day"}
_DURATION = re.compile(r"^P(?:1)?(?P<unit>[YMWD])$", re.IGNORECASE)
_DURATION_PERIODS = {"Y": "year", "M": "month", "W": "week", "D": "day"}
_OG_AMOUNT = ("product:price:amount", "og:price:amount")
_OG_CURRENCY = ("product:price:currency", "og:price:currency")


def find_declared_prices(html: str, base_url: str) -> list[dict[str, Any]]:
    """Offers from JSON-LD, then microdata, then OpenGraph, each once, in document order.

    Never raises for a page's markup: a broken JSON-LD block is skipped, as a browser would."""
    import lxml.html
    from extruct.jsonld import JsonLdExtractor
    from extruct.opengraph import OpenGraphExtractor
    from extruct.w3cmicrodata import MicrodataExtractor

    try:
        tree = lxml.html.fromstring(html, parser=lxml.html.HTMLParser(huge_tree=True))
    except (ValueError, lxml.etree.ParserError):
        return []
    found: list[dict[str, Any]] = []
    for source, items in (
        ("json-ld", _safe(lambda: JsonLdExtractor().extract_items(tree))),
        ("microdata", _safe(lambda: MicrodataExtractor().extract_items(tree, base_url))),
    ):
        for item in items:
            for offer, name in _offers(_as_jsonld(item), None):
                price = _price(offer, name, source)
                if price and not _known(found, price):
                    found.append(price)
    for og in _safe(lambda: list(OpenGraphExtractor().extract_items(tree))):
        price = _opengraph(dict(og.get("properties", [])))
        if price and not _known(found, price):
            found.append(price)
    return found


def _safe(read: Any) -> list[Any]:
    try:
        return list(read())
    except Exception:  # noqa: BLE001 - third-party markup of any shape: no declared prices
        return []


def _as_jsonld(item: Any) -> Any:
    """Microdata items (``{"type": url, "properties": {...}}``) in JSON-LD's shape."""
    if isinstance(item, list):
        return [_as_jsonld(x) for x in item]
    if not isinstance(item, dict):
        return item
    if "properties" in item and "type" in item:
        kinds = item["type"] if isinstance(item["type"], list) else [item["type"]]
        converted = {k: _as_jsonld(v) for k, v in item["properties"].items()}
        converted["@type"] = [str(k).rsplit("/", 1)[-1] for k in kinds]
        return converted
    return {k: _as_jsonld(v) for k, v in item.items()}


def _types(node: dict[str, Any]) -> set[str]:
    kinds = node.get("@type", [])
    return {str(k).rsplit("/", 1)[-1] for k in (kinds if isinstance(kinds, list) else [kinds])}


def _offers(node: Any, name: str | None) -> list[tuple[dict[str, Any], str | None]]:
    """Every offer-like node under ``node`` with the nearest enclosing name (the product's or
    plan's), depth first; a nested priceSpecification belongs to its offer, not beside it."""
    if isinstance(node, list):
        return [pair for child in node for pair in _offers(child, name)]
    if not isinstance(node, dict):
        return []
    own = node.get("name")
    here = own if isinstance(own, str) else name
    if _types(node) & _OFFER_TYPES and ("price" in node or "lowPrice" in node):
        return [(node, here)]
    return [pair for value in node.values() for pair in _offers(value, here)]


def _price(offer: dict[str, Any], name: str | None, source: str) -> dict[str, Any] | None:
    from price_parser import Price

    spec = offer.get("priceSpecification")
    spec = spec[0] if isinstance(spec, list) and spec else spec
    raw = offer.get("price", offer.get("lowPrice"))
    if raw is None and isinstance(spec, dict):
        raw = spec.get("price")
    parsed = Price.fromstring(str(raw)) if raw is not None else None
    if parsed is None or parsed.amount is None:
        return None
    currency = offer.get("priceCurrency") or (spec or {}).get("priceCurrency")
    code = str(currency).upper() if currency else currency_code(parsed.currency)
    period = _period(offer) or (_period(spec) if isinstance(spec, dict) else None)
    amount = float(parsed.amount)
    price: dict[str, Any] = {
        "amount": int(amount) if amount.is_integer() else amount,
        "currency": code,
        "period": period,
        "text": str(raw),
        "source": source,
    }
    if name:
        price["name"] = name
    return price


def _period(node: dict[str, Any]) -> str | None:
    duration = node.get("billingDuration")
    if isinstance(duration, str) and (match := _DURATION.match(duration.strip())):
        return _DURATION_PERIODS[match["unit"].upper()]
    quantity = node.get("referenceQuantity")
    unit = node.get("unitCode") or (
        quantity.get("unitCode") if isinstance(quantity, dict) else None
    )
    # microdata's <link itemprop=unitCode href=ANN> arrives resolved against the page URL
    return _UNIT_PERIODS.get(str(unit).rsplit("/", 1)[-1].upper()) if unit else None


def _opengraph(properties: dict[str, str]) -> dict[str, Any] | None:
    from price_parser import Price

    raw = next((properties[k] for k in _OG_AMOUNT if k in properties), None)
    parsed = Price.fromstring(raw) if raw else None
    if parsed is None or parsed.amount is None:
        return None
    currency = next((properties[k] for k in _OG_CURRENCY if k in properties), None)
    amount = float(parsed.amount)
    return {
        "amount": int(amount) if amount.is_integer() else amount,
        "currency": currency.upper() if currency else currency_code(parsed.currency),
        "period": None,
        "text": raw,
        "source": "opengraph",
    }


def _known(found: list[dict[str, Any]], price: dict[str, Any]) -> bool:
    """The same amount and currency already declared (a page often says it in two syntaxes)."""
    return any((p["amount"], p["currency"]) == (price["amount"], price["currency"]) for p in found)
