"""ignore_selectors on the analyser's side: the elements' text is out of the text diff and the
reuse test, merged from CHANGE_RULES and the page's competitor."""

from __future__ import annotations

from analyzer_lambda.analyzers.gemini.text import reduce_html
from analyzer_lambda.changes.ignored import without_selectors
from analyzer_lambda.changes.rules import parse_rule_set
from analyzer_lambda.changes.text_diff import diff_text, model_input_fingerprint
from rivalscope_core.change_rules import ChangeRules as StoredRules


def _page(ad: str, price: str = "$49") -> str:
    return (
        "<html><body><main><h1>Acme pricing</h1><p>Team plan " + price + " a month</p>"
        f'<div class="ad"><p>{ad}</p></div><p>All plans include a free trial.</p>'
        "</main></body></html>"
    )


def _text(html: str, selectors: tuple[str, ...]) -> str:
    return reduce_html(without_selectors(html, selectors), 8000).text


def test_an_ignored_rotating_ad_is_no_text_change_and_a_price_still_is() -> None:
    before, after = _page("Buy shoes at Zappo, 20% off"), _page("Fly to Lisbon from €39")
    assert diff_text(_text(before, ()), _text(after, ())).changed  # the ad alone is a change
    diff = diff_text(_text(before, (".ad",)), _text(after, (".ad",)))
    assert not diff.changed
    assert diff.added == diff.removed == ()
    priced = _page("Fly to Lisbon from €39", price="$59")
    assert diff_text(_text(before, (".ad",)), _text(priced, (".ad",))).removed == (
        "Team plan $49 a month",
    )


def test_the_text_after_an_ignored_element_is_kept() -> None:
    html = "<html><body><p>Before <span class='live'>42 online</span> after</p></body></html>"
    assert _text(html, (".live",)) == "Before after"


def test_no_selector_or_no_match_leaves_the_page_as_it_is() -> None:
    html = _page("x")
    assert without_selectors(html, ()) is html
    assert without_selectors(html, (".nothing-here",)) is html
    assert without_selectors("", (".ad",)) == ""


def test_page_rules_merge_change_rules_with_the_competitors_from_the_record() -> None:
    rule_set = parse_rule_set('"*": {ignore_selectors: [".cookie"]}\n'
                              'acme.example: {ignore_text: ["^Visitors"]}')  # fmt: skip
    competitor = StoredRules(ignore_text=("^Trusted by",), ignore_selectors=(".ad",))
    rules = rule_set.for_page("https://acme.example/pricing", competitor)
    assert rules.ignore_selectors == (".cookie", ".ad")
    assert [p.pattern for p in rules.ignore_text] == ["^Visitors", "^Trusted by"]
    assert rule_set.for_page("https://acme.example/", None).ignore_selectors == (".cookie",)
    text = "Acme\nTrusted by 4,000 teams\nVisitors: 12"
    assert model_input_fingerprint(text, rules) == model_input_fingerprint("Acme", rules)


def test_a_competitor_pattern_that_no_longer_compiles_is_left_out() -> None:
    rules = parse_rule_set("").for_page("https://a.example/", StoredRules(ignore_text=("([a",)))
    assert rules.ignore_text == ()
