from __future__ import annotations

from analyzer_lambda.changes.rules import parse_rule_set
from analyzer_lambda.changes.text_diff import (
    diff_text,
    line_fingerprints,
    model_input_fingerprint,
    word_segments,
)

PAGE = """Acme Analytics pricing
Starter $49 per month
Team $99 per month
Enterprise: contact sales
Updated 3 hours ago
"Acme cut our reporting time in half." — Jane Roe, CTO at Initech
Frequently asked questions
Can I cancel at any time? Yes.
Do you offer discounts? Non-profits get 50% off."""

TESTIMONIALS = [
    '"Acme cut our reporting time in half." — Jane Roe, CTO at Initech',
    '"The dashboards sold our board on day one." — Raj Patel, COO at Globex',
    '"Support answers within minutes, every time." — Ana Lima, Head of Ops at Umbrella',
]


def _swap(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


def test_an_identical_page_has_no_change() -> None:
    diff = diff_text(PAGE, PAGE)
    assert not diff.changed
    assert diff.to_record() == {"added": [], "removed": []}


def test_a_price_change_is_exactly_that_line_with_word_highlights() -> None:
    diff = diff_text(PAGE, _swap(PAGE, "Starter $49", "Starter $59"))
    assert diff.to_record() == {
        "added": ["Starter $59 per month"],
        "removed": ["Starter $49 per month"],
    }
    (edit,) = diff.edits
    assert edit.segments == (("=", "Starter $"), ("-", "49"), ("+", "59"), ("=", " per month"))


def test_a_reordered_block_is_no_change() -> None:
    faq = "Can I cancel at any time? Yes.\nDo you offer discounts? Non-profits get 50% off."
    swapped = "Do you offer discounts? Non-profits get 50% off.\nCan I cancel at any time? Yes."
    lines = _swap(PAGE, faq, swapped).splitlines()
    moved_up = [lines[0], *lines[6:], *lines[1:6]]  # the whole FAQ block moved to the top too
    diff = diff_text(PAGE, "\n".join(moved_up))
    assert not diff.changed
    assert diff.moved >= 2


def test_a_date_change_is_no_change_but_a_price_beside_it_is() -> None:
    assert not diff_text(PAGE, _swap(PAGE, "3 hours ago", "2 days ago")).changed
    assert not diff_text("Posted Dec 1, 2026 at 12:30", "Posted 2026年12月2日 at 9:05 pm").changed
    diff = diff_text("Starter $49, updated 2 days ago", "Starter $59, updated 3 hours ago")
    assert diff.removed == ("Starter $49, updated 2 days ago",)


def test_a_testimonial_rotating_among_variants_seen_before_is_no_change() -> None:
    earlier = line_fingerprints("\n".join(TESTIMONIALS))  # captures before the previous one
    rotated = _swap(PAGE, TESTIMONIALS[0], TESTIMONIALS[2])
    diff = diff_text(PAGE, rotated, seen=earlier)
    assert not diff.changed
    assert diff.rotated == 1
    # without that history the new testimonial is a change, as it would be the first time
    assert diff_text(PAGE, rotated).added == (TESTIMONIALS[2],)


def test_a_rotation_does_not_hide_a_price_change_in_the_same_block() -> None:
    earlier = line_fingerprints(
        "\n".join([*TESTIMONIALS, "Starter $49 per month", "Starter $59 per month"])
    )
    changed = _swap(PAGE, "Starter $49", "Starter $59")
    changed = _swap(changed, "Team $99 per month\n", "")  # a plan dropped
    changed = _swap(changed, TESTIMONIALS[0], TESTIMONIALS[1])
    diff = diff_text(PAGE, changed, seen=earlier)
    # $49 → $59 differ only in digits: an edit of one item, never a rotation, even when the
    # new price was seen before (a price that flip-flops is reported every time)
    assert diff.to_record() == {
        "added": ["Starter $59 per month"],
        "removed": ["Starter $49 per month", "Team $99 per month"],
    }


def test_a_new_unseen_testimonial_is_a_change() -> None:
    earlier = line_fingerprints("\n".join(TESTIMONIALS))
    new = '"Best purchase this year." — Kim Cho, CEO at Hooli'
    diff = diff_text(PAGE, _swap(PAGE, TESTIMONIALS[0], new), seen=earlier)
    assert diff.to_record() == {"added": [new], "removed": [TESTIMONIALS[0]]}


def test_ignore_text_lines_are_left_out() -> None:
    rules = parse_rule_set('"*": {ignore_text: ["^Visitors online: \\\\d+$"]}').for_url(
        "https://acme.example/"
    )
    before = PAGE + "\nVisitors online: 41"
    after = PAGE + "\nVisitors online: 977"
    assert not diff_text(before, after, rules).changed
    assert diff_text(before, after).changed


def test_the_model_input_fingerprint_ignores_noise_but_not_content() -> None:
    rules = parse_rule_set('"*": {ignore_text: ["^Visitors online"]}').for_url(
        "https://a.example/"
    )
    base = model_input_fingerprint(PAGE, rules)
    reordered = "\n".join(reversed(PAGE.splitlines()))
    for same in (
        _swap(PAGE, "3 hours ago", "yesterday"),
        PAGE + "\nVisitors online: 5",
        _swap(PAGE, "Team $99 per month", "Team   $99  per month"),
        reordered,
    ):
        assert model_input_fingerprint(same, rules) == base
    assert model_input_fingerprint(_swap(PAGE, "$49", "$59"), rules) != base
    assert len(base) == 32


def test_japanese_lines_are_highlighted_per_character() -> None:
    segments = word_segments("スタンダード | 1,980円/月", "スタンダード | 2,480円/月")
    assert ("-", "1") in segments
    assert ("+", "2") in segments
    assert segments[-1] == ("=", "円/月")
