from __future__ import annotations

import pytest

from analyzer_lambda.changes.rules import (
    DATE_MASK,
    ChangeRules,
    ChangeRulesError,
    mask_dates,
    parse_rule_set,
    parse_rules,
)

RULES = """
"*":
  ignore_text: ["^Trusted by [0-9,]+ teams"]
acme.example:
  ignore_text: ["visitors online"]
  ignore_selectors: [".ticker", "#live-chat"]
https://Beta.Example/pricing:
  ignore_selectors: ".carousel"
"""


def test_rules_of_a_page_are_the_global_ones_plus_its_site_and_parent_domains() -> None:
    rules = parse_rule_set(RULES)
    page = rules.for_url("https://app.acme.example/plans")
    assert [p.pattern for p in page.ignore_text] == [
        "^Trusted by [0-9,]+ teams",
        "visitors online",
    ]
    assert page.ignore_selectors == (".ticker", "#live-chat")
    assert page.ignores_line("Trusted by 3,000 teams")
    assert page.ignores_line("42 visitors online now")
    assert not page.ignores_line("Starter $49")
    other = rules.for_url("https://other.example/")
    assert other.ignore_selectors == ()
    assert not other.ignores_line("42 visitors online now")
    # a URL given as the site key counts as its host
    assert rules.for_url("https://beta.example/x").ignore_selectors == (".carousel",)


def test_a_competitors_rules_merge_after_the_sites_without_repeats() -> None:
    competitor = parse_rules(
        {"ignore_text": ["visitors online", "^Last deploy"], "ignore_selectors": [".ticker"]},
        "watch list: competitor 'Acme'",
    )
    page = parse_rule_set(RULES).for_url("https://acme.example/", competitor)
    assert [p.pattern for p in page.ignore_text] == [
        "^Trusted by [0-9,]+ teams",
        "visitors online",
        "^Last deploy",
    ]
    assert page.ignore_selectors == (".ticker", "#live-chat")
    assert page == ChangeRules().merged(page)  # frozen value: equal by content


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('acme.example: {ignore_text: ["(unclosed"]}', "site 'acme.example', ignore_text: bad"),
        ('acme.example: {ignore_selectors: ["div[[x"]}', "site 'acme.example', ignore_selectors"),
        ("acme.example: {ignore_txt: [a]}", "site 'acme.example': unknown field ignore_txt"),
        ("acme.example: {ignore_text: [1, 2]}", "ignore_text: expected a list"),
        ("acme.example: [a, b]", "site 'acme.example': expected a mapping"),
        ("[a, b]", "expected a mapping of site"),
        ("'bad site!': {}", "site 'bad site!' must be a host name"),
        ("a: [unclosed", "not valid YAML"),
    ],
)
def test_a_bad_file_names_the_site_and_the_field(text: str, message: str) -> None:
    with pytest.raises(ChangeRulesError, match=r"^CHANGE_RULES: ") as caught:
        parse_rule_set(text)
    assert message in str(caught.value)


def test_an_empty_file_has_no_rules() -> None:
    assert parse_rule_set("").for_url("https://a.example/") == ChangeRules()


@pytest.mark.parametrize(
    "date",
    [
        "3 hours ago",
        "an hour ago",
        "5m ago",
        "Dec 1, 2026",
        "December 1st, 2026",
        "Tuesday, 1 December 2026",
        "2026-12-01",
        "2026-12-01T12:30:00Z",
        "12/01/2026",
        "12:30",
        "9:05 pm",
        "yesterday",
        "2026年12月1日",
        "１２月１日（火）",
        "3時間前",
    ],
)
def test_dates_times_and_relative_times_are_masked(date: str) -> None:
    assert mask_dates(f"Updated {date} by the team") == f"Updated {DATE_MASK} by the team"


@pytest.mark.parametrize(
    "text",
    ["Starter $49 per month", "24/7 support", "Version 2.3.1", "Trusted by 3,000 teams since 2019",
     "May we help?", "Ratio 16:9", "1,980円/月"],
)  # fmt: skip
def test_prices_counts_and_versions_are_not_dates(text: str) -> None:
    assert mask_dates(text) == text


def test_a_rule_sets_signature_changes_with_its_text_and_selector_rules() -> None:
    assert parse_rule_set("").signature == "" == ChangeRules().signature
    base = parse_rule_set(RULES).signature
    assert base == parse_rule_set(RULES).signature
    assert "visitors online" in base
    selectors_only = parse_rule_set('a.example: {ignore_selectors: [".x"]}')
    # selectors leave their elements' text out of the fingerprint too
    assert selectors_only.signature == "a.example\t.x"
