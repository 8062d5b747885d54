"""Prices the page declares (JSON-LD, microdata, OpenGraph) come before prices in its text."""

from __future__ import annotations

from pathlib import Path

from analyzer_lambda.extraction import extract_facts

DEMO = Path(__file__).resolve().parents[4] / "demo" / "site"
BASE = "https://shop.example/"


def _prices(head: str = "", body: str = "") -> list[dict[str, object]]:
    html = f"<html><head>{head}</head><body>{body}</body></html>"
    return extract_facts(html, BASE)["prices"]  # type: ignore[no-any-return]


def test_json_ld_offer_with_a_monthly_unit_price() -> None:
    head = """<script type="application/ld+json">{"@context": "https://schema.org",
      "@type": "Product", "name": "Team plan", "offers": {"@type": "Offer", "price": "49.00",
      "priceCurrency": "USD", "priceSpecification": {"@type": "UnitPriceSpecification",
      "price": 49, "priceCurrency": "USD", "billingDuration": "P1M"}}}</script>"""
    assert _prices(head) == [
        {
            "amount": 49,
            "currency": "USD",
            "period": "month",
            "text": "49.00",
            "source": "json-ld",
            "name": "Team plan",
        }
    ]


def test_microdata_offer_with_a_european_amount() -> None:
    body = """<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Pro</h1>
      <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
      <meta itemprop="priceCurrency" content="EUR"><span itemprop="price">1.299,00</span>
      <link itemprop="unitCode" href="ANN"></div></div>"""
    (price,) = [p for p in _prices(body=body) if p["source"] == "microdata"]
    assert (price["amount"], price["currency"], price["period"]) == (1299, "EUR", "year")
    assert price["name"] == "Pro"


def test_opengraph_product_price() -> None:
    head = """<meta property="og:type" content="product">
      <meta property="product:price:amount" content="19.99">
      <meta property="product:price:currency" content="GBP">"""
    assert _prices(head) == [
        {
            "amount": 19.99,
            "currency": "GBP",
            "period": None,
            "text": "19.99",
            "source": "opengraph",
        }
    ]


def test_the_text_lends_a_declared_price_its_period_and_adds_what_is_not_declared() -> None:
    head = """<script type="application/ld+json">{"@type": "Offer", "price": 49,
      "priceCurrency": "USD"}</script>"""
    body = "<p>Team $49/mo</p><p>Enterprise $199/mo</p>"
    assert [(p["amount"], p["period"], p["source"]) for p in _prices(head, body)] == [
        (49, "month", "json-ld"),
        (199, "month", "text"),
    ]


def test_broken_json_ld_is_skipped_and_the_text_still_read() -> None:
    head = '<script type="application/ld+json">{"@type": "Offer", "price": </script>'
    assert [p["source"] for p in _prices(head, "<p>Only $5 a week</p>")] == ["text"]


def test_demo_pricing_page_price_and_period_on_two_lines() -> None:
    html = (DEMO / "acme" / "pricing.html").read_text(encoding="utf-8")
    prices = extract_facts(html, "https://acme.example/pricing.html")["prices"]
    team = next(p for p in prices if p["amount"] == 49)
    assert (team["currency"], team["period"]) == ("USD", "month")
    assert team["text"] == "$49 per month"


def test_prices_below_256_levels_of_nesting_are_found_in_both_places() -> None:
    deep, close = "<div>" * 300, "</div>" * 300
    head = """<script type="application/ld+json">{"@type": "Offer", "price": "79",
      "priceCurrency": "EUR"}</script>"""
    body = f"{deep}<div itemscope itemtype='https://schema.org/Offer'>"
    body += "<meta itemprop='priceCurrency' content='GBP'><span itemprop='price'>15</span></div>"
    body += f"<p>Team $29/mo</p>{close}"
    assert [(p["amount"], p["source"]) for p in _prices(head, body)] == [
        (79, "json-ld"),
        (15, "microdata"),
        (29, "text"),
    ]
