from __future__ import annotations

import copy
from typing import Any

from analyzer_lambda.changes.answer_diff import diff_answers
from analyzer_lambda.prompts.parser import DEFAULT_SCHEMA

ANSWER: dict[str, Any] = {
    "offering": "Product analytics for SaaS teams.",
    "pricing": [
        {"plan": "Starter", "price": 49, "currency": "USD", "period": "month"},
        {"plan": "Team", "price": 99, "currency": "USD", "period": "month"},
    ],
    "audience": "Product managers",
    "positioning": "Fastest setup",
    "notable_claims": ["Trusted by 3,000 teams", "99.99% uptime", "SOC 2 Type II"],
    "summary": "Acme sells analytics.",
}


def _changed(**fields: Any) -> dict[str, Any]:
    answer = copy.deepcopy(ANSWER)
    answer.update(fields)
    return answer


def test_the_same_answer_has_no_change_even_reordered() -> None:
    reordered = _changed(
        pricing=list(reversed(ANSWER["pricing"])),
        notable_claims=list(reversed(ANSWER["notable_claims"])),
        summary="Acme   sells analytics. ",
    )
    assert diff_answers(ANSWER, reordered, DEFAULT_SCHEMA) == {}


def test_a_price_change_is_that_field_of_that_plan() -> None:
    after = copy.deepcopy(ANSWER)
    after["pricing"][0]["price"] = 59
    after["pricing"].reverse()  # the model listed the plans in another order: not a change
    assert diff_answers(ANSWER, after, DEFAULT_SCHEMA) == {
        "pricing[Starter].price": {"before": 49, "after": 59}
    }


def test_a_plan_that_appeared_and_one_that_disappeared() -> None:
    enterprise = {"plan": "Enterprise", "price": "custom", "currency": "USD"}
    after = _changed(pricing=[ANSWER["pricing"][1], enterprise])
    assert diff_answers(ANSWER, after, DEFAULT_SCHEMA) == {
        "pricing[Starter]": {"before": ANSWER["pricing"][0], "after": None},
        "pricing[Enterprise]": {"before": None, "after": enterprise},
    }


def test_a_dropped_claim_is_named() -> None:
    after = _changed(notable_claims=["SOC 2 Type II", "Trusted by 3,000 teams", "ISO 27001"])
    assert diff_answers(ANSWER, after, DEFAULT_SCHEMA) == {
        "notable_claims": {
            "before": ANSWER["notable_claims"],
            "after": after["notable_claims"],
            "removed": ["99.99% uptime"],
            "added": ["ISO 27001"],
        }
    }


NESTED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "$defs": {
        "feature": {"type": "object", "properties": {"title": {"type": "string"}, "tier": {}}},
    },
    "properties": {
        "company": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "offices": {"type": "array", "items": {"type": "string"}},
            },
        },
        "products": {
            "type": "array",
            "items": {
                "type": "object",
                "x-key": "sku",
                "properties": {
                    "sku": {"type": "string"},
                    "name": {"type": "string"},
                    "features": {
                        "anyOf": [
                            {"type": "null"},
                            {"type": "array", "items": {"$ref": "#/$defs/feature"}},
                        ]
                    },
                },
            },
        },
    },
}


def test_nested_objects_and_lists_of_lists_are_matched_by_their_keys() -> None:
    before = {
        "company": {"name": "Acme", "offices": ["Berlin", "Tokyo"]},
        "products": [
            {"sku": "A1", "name": "Insight", "features": [{"title": "SSO", "tier": "pro"}]},
            {"sku": "B2", "name": "Pulse", "features": None},
        ],
    }
    after = {
        "company": {"name": "Acme Inc.", "offices": ["Tokyo", "Berlin"]},
        "products": [
            {"sku": "B2", "name": "Pulse", "features": None},
            {
                "sku": "a1",  # the model changed the case of the key: still the same product
                "name": "Insight",
                "features": [
                    {"title": "Audit log", "tier": "pro"},
                    {"title": "SSO", "tier": "all"},
                ],
            },
        ],
    }
    assert diff_answers(before, after, NESTED_SCHEMA) == {
        "company.name": {"before": "Acme", "after": "Acme Inc."},
        "products[A1].features[SSO].tier": {"before": "pro", "after": "all"},
        "products[A1].features[Audit log]": {
            "before": None,
            "after": {"title": "Audit log", "tier": "pro"},
        },
    }


def test_without_a_schema_lists_pair_by_a_common_key_or_by_content() -> None:
    before = {"rows": [{"name": "x", "v": 1}], "blobs": [{"a": 1, "b": 2}, {"a": 5, "b": 6}]}
    after = {"rows": [{"name": "x", "v": 2}], "blobs": [{"a": 5, "b": 7}, {"a": 1, "b": 2}]}
    assert diff_answers(before, after) == {
        "rows[x].v": {"before": 1, "after": 2},
        "blobs[0].b": {"before": 6, "after": 7},
    }


def test_numbers_compare_by_value_and_types_count() -> None:
    assert diff_answers({"p": 49}, {"p": 49.0}) == {}
    assert diff_answers({"p": 1}, {"p": True}) == {"p": {"before": 1, "after": True}}
    assert diff_answers(None, {"p": 1}) == {".": {"before": None, "after": {"p": 1}}}
