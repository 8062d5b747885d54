"""Structural traps found in the extraction corpus (bench/extraction): each page is written
here in the same structure (no corpus file is copied), and the main text must survive."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer_lambda.analyzers.gemini.text import reduce_html

DEMO = Path(__file__).resolve().parents[5] / "demo" / "site"

_MENU = "".join(f"<li><a href='/p{n}'>Menu item {n}</a></li>" for n in range(30))


def _text(html: str) -> str:
    return reduce_html(html, 8000).text


def test_aspnet_webforms_page_wrapped_in_one_form_keeps_its_body_and_drops_the_controls() -> None:
    # ASP.NET WebForms: one <form runat=server> around the whole body, hidden __VIEWSTATE,
    # layout tables, a search box and a drop-down inside the same form.
    html = f"""<!doctype html><html><head><title>Electricians costs</title></head><body>
    <form name="aspnetForm" method="post" action="/cost/prices.aspx" id="aspnetForm">
    <input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="/wEPDwUKMTY3NzE5MjIyMA9k">
    <div id="header"><ul class="menu">{_MENU}</ul>
      <input type="text" name="q" value="Search this site"><select name="state">
      <option>Alabama</option><option>Alaska</option></select>
      <input type="submit" value="Go"></div>
    <table class="layout"><tr><td class="left"><h1>Electricians Costs &amp; Prices</h1>
      <p>The average cost of an electrician in Marietta is $65 to $85 per hour.</p>
      <table><tr><th>Job</th><th>Low</th><th>High</th></tr>
      <tr><td>Install outlet</td><td>$120</td><td>$180</td></tr></table>
      <label for="zip">Enter your zip code for local quotes</label>
      <textarea name="notes">typed by the user</textarea></td></tr></table>
    </form></body></html>"""
    text = _text(html)
    for fact in ("Electricians Costs & Prices", "$65 to $85 per hour", "Install outlet | $120"):
        assert fact in text
    assert "Enter your zip code for local quotes" in text  # a label is the page's own words
    for control in ("Search this site", "Alabama", "typed by the user", "/wEPDwUK", "Go"):
        assert control not in text.split()  # form controls' values are not text


def test_product_description_in_an_aside_drawer_inside_main_is_kept() -> None:
    # A shop's product page: description and delivery terms live in <aside> "sheets" inside
    # <main> (opened by a click), while the site's own <aside> filter panel is page-level.
    html = f"""<html><body><header><nav><ul>{_MENU}</ul></nav></header>
    <aside class="filters"><h2>Filter by</h2><ul>{_MENU}</ul></aside>
    <main><div class="pdp"><h1>Arrival T-Shirt</h1><p class="price">$30</p>
      <div role="dialog" class="sheet"><aside class="sheet-aside"><h2>Description</h2>
        <p>A lightweight training tee in recycled polyester that dries fast.</p></aside></div>
      <div role="dialog" class="sheet"><aside class="sheet-aside"><h2>Delivery</h2>
        <p>Standard shipping $5, 4-7 working days.</p></aside></div></div></main>
    <footer><a href="/help">Help</a></footer></body></html>"""
    text = _text(html)
    for fact in ("Arrival T-Shirt", "$30", "recycled polyester that dries fast", "shipping $5"):
        assert fact in text
    assert "Menu item" not in text
    assert "Filter by" not in text


def test_forum_posts_served_only_in_noscript_are_read_when_nothing_else_is() -> None:
    # A Discourse forum sends its posts in <noscript> for clients without JavaScript; the
    # rest of the body is an empty application shell.
    html = """<html><body><div id="app"><div class="ember-view"></div></div>
    <noscript><div id="main-outlet"><h1>My take on valuation</h1>
      <div class="post"><span class="creator">PaulWBryant</span>
      <p>I compare the enterprise value to next year's revenue and discount the growth.</p>
      </div></div></noscript></body></html>"""
    text = _text(html)
    assert "My take on valuation" in text
    assert "enterprise value to next year's revenue" in text


def test_class_names_are_hints_not_verdicts() -> None:
    # A wrapper whose class says "banner" state ("has-side-banner") holds the product grid; a
    # section whose id is a heading's anchor contains the word "sharing".
    menu = "".join(f"<li><a href='/c{n}'>Menu item {n}</a></li>" for n in range(5))
    html = f"""<html><body><div class="menu-bar"><ul>{menu}</ul></div>
    <div class="row has-side-banner"><div class="item-cell"><a href="/gpu">GeForce RTX 5070</a>
      <p>12 GB GDDR7, boost clock 2512 MHz, three fans, two slots, 250 W board power, HDMI
      2.1b and three DisplayPort 2.1b outputs.</p><p class="price">$549.99</p></div></div>
    <div class="section" id="sharing-with-a-single-developer"><h2>Sharing with a developer</h2>
      <p>Clone the repository, commit, then push the changes back.</p></div>
    <div class="cookie-banner">We use cookies. Accept all</div></body></html>"""
    text = _text(html)
    for fact in ("GeForce RTX 5070", "$549.99", "Clone the repository, commit"):
        assert fact in text
    assert "We use cookies" not in text
    assert "Menu item" not in text


def test_a_page_level_header_holding_the_h1_keeps_it_and_loses_only_its_nav() -> None:
    # Landing pages put the headline and the offer in the site's <header> hero.
    html = f"""<html><body><header class="site-header"><nav><ul>{_MENU}</ul></nav>
    <h1>Invoicing for freelancers</h1><p class="lead">Send your first 5 invoices free, then
    $12 a month.</p></header><section><p>Used by 40,000 studios.</p></section>
    <footer><p>© 2026 Example Ltd.</p></footer></body></html>"""
    text = _text(html)
    assert "Invoicing for freelancers" in text
    assert "$12 a month." in text
    assert "Menu item" not in text
    assert "© 2026" not in text


def test_a_page_nested_deeper_than_libxml2s_default_limit_keeps_its_text() -> None:
    # Component frameworks nest wrappers deeply; libxml2 stops at 256 levels by default.
    deep = "<div class='wrapper'>" * 300
    html = f"<html><body>{deep}<h1>Pricing</h1><p>Pro $79 per month</p>{'</div>' * 300}"
    html += "<p>Annual billing saves 20%.</p></body></html>"
    text = _text(html)
    assert "Pro $79 per month" in text
    assert "Annual billing saves 20%." in text


@pytest.mark.parametrize(
    ("site", "facts"),
    [
        ("acme", ["Starter", "$0", "Team", "$49", "per month, billed monthly", "Contact us"]),
        ("hanami", ["ライト", "¥980", "スタンダード", "¥4,980", "月額（税込）", "年間契約"]),
        ("northwind", ["Basic", "€19", "Pro", "€79", "Scale", "€249", "Prices exclude VAT"]),
    ],
)
def test_demo_pricing_pages_keep_every_plan_and_price(site: str, facts: list[str]) -> None:
    text = _text((DEMO / site / "pricing.html").read_text(encoding="utf-8"))
    for fact in facts:
        assert fact in text
