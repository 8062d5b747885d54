"""The CHANGE_RULES format both sides read: which sites' rules apply to a page, merged with
its competitor's, and where the file is."""

from __future__ import annotations

import pytest

from rivalscope_core.change_rules import (
    ChangeRules,
    ChangeRulesError,
    covering_sites,
    parse_site_rules,
    rules_for,
    rules_location,
)

RULES = """
"*": {ignore_selectors: [".cookie"]}
acme.example: {ignore_selectors: [".ticker", ".cookie"], ignore_text: ["^Visitors"]}
app.acme.example: {ignore_selectors: ["#chat"]}
"""


def test_a_page_gets_every_covering_site_then_its_competitor_without_repeats() -> None:
    by_site = parse_site_rules(RULES)
    assert covering_sites(by_site, "https://APP.acme.example/plans") == [
        "*", "acme.example", "app.acme.example",
    ]  # fmt: skip
    competitor = ChangeRules(ignore_text=("^Trusted by",), ignore_selectors=("#chat", ".promo"))
    rules = rules_for(by_site, "https://app.acme.example/plans", competitor)
    assert rules.ignore_selectors == (".cookie", ".ticker", "#chat", ".promo")
    assert rules.ignore_text == ("^Visitors", "^Trusted by")
    assert rules_for(by_site, "https://other.example/").ignore_selectors == (".cookie",)
    assert rules_for({}, "https://other.example/") == ChangeRules()


def test_a_selector_the_checker_refuses_names_the_site_and_field() -> None:
    def refuse(selector: str) -> None:
        raise ValueError("unexpected token")

    with pytest.raises(ChangeRulesError, match=r"site 'a.example', ignore_selectors: bad CSS"):
        parse_site_rules("a.example: {ignore_selectors: ['div[']}", check_selector=refuse)


def test_the_file_is_a_path_an_s3_uri_or_a_name_in_the_bucket() -> None:
    def exists(path: str) -> bool:
        return path == "rules.yaml"

    assert rules_location("rules.yaml", "b", is_file=exists) == "rules.yaml"
    assert rules_location("s3://x/y.yaml", None, is_file=exists) == "s3://x/y.yaml"
    assert rules_location("noise", "b", is_file=exists) == "s3://b/config/noise.yaml"
    with pytest.raises(ChangeRulesError, match=r"file missing\.yaml not found"):
        rules_location("missing.yaml", "b", is_file=exists)
    with pytest.raises(ChangeRulesError, match="a name needs PAGES_BUCKET"):
        rules_location("noise", None, is_file=exists)
