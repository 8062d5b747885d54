from __future__ import annotations

from analyzer_lambda.digest.rank import FieldChange, field_kind, rank_changes, tally
from tests.unit.analyzer_lambda.digest.samples import FACTS, RECORDS, UNCHANGED, record


def test_prices_and_plans_come_before_other_facts_pages_wording_and_failures() -> None:
    ranked = rank_changes(RECORDS, FACTS)
    assert [(c.kind, c.url) for c in ranked] == [
        ("price", "https://acme.example/pricing"),  # answer field and text line: magnitude 3
        ("price", "https://hanami.example/ja/pricing"),  # a price stated in the text only
        ("plan", "https://northwind.example/plans"),
        ("answer", "https://northwind.example/"),
        ("removed", "https://northwind.example/legacy"),
        ("new", "https://acme.example/security"),
        ("wording", "https://acme.example/about"),
        ("visual", "https://hanami.example/"),
        ("blocked", "https://hanami.example/ja/company"),
        ("failed", "https://acme.example/careers"),
    ]
    assert [c.importance for c in ranked[:3]] == ["high"] * 3
    assert ranked[-1].importance == "low"


def test_the_order_does_not_depend_on_the_order_of_the_records() -> None:
    assert rank_changes(RECORDS, FACTS) == rank_changes(list(reversed(RECORDS)), FACTS)


def test_each_change_names_its_competitor_and_a_removed_page_takes_its_hosts() -> None:
    ranked = {c.url: c for c in rank_changes(RECORDS, FACTS)}
    assert ranked["https://hanami.example/ja/pricing"].competitor == "花見クラウド"
    # not in this run, so no facts: the competitor of the other northwind.example pages
    assert ranked["https://northwind.example/legacy"].competitor == "Northwind Metrics"
    stranger = rank_changes([record("https://other.example/x", "new", previous=None)], {})
    assert stranger[0].competitor == "other.example"


def test_unchanged_pages_are_not_changes_and_the_tally_counts_blocked_apart() -> None:
    assert rank_changes([UNCHANGED], FACTS) == []
    assert tally(RECORDS, FACTS) == {
        "changed": 6, "new": 1, "removed": 1, "failed": 1, "blocked": 1, "unchanged": 1,
        "pages": 10, "competitors": 3,
    }  # fmt: skip


def test_answer_fields_are_classed_by_path_and_value() -> None:
    assert field_kind(FieldChange("pricing[Pro].price", 10, 12)) == "price"
    assert field_kind(FieldChange("offer.monthly", "$10", "$12")) == "price"
    assert field_kind(FieldChange("plans[Team]", None, {"name": "Team"})) == "plan"
    assert field_kind(FieldChange("pricing[Team]", {"name": "Team"}, None)) == "plan"
    assert field_kind(FieldChange("headline", "Fast", "Faster")) == "answer"
