from __future__ import annotations

from typing import Any

from analyzer_lambda.changes.history import capture_of
from analyzer_lambda.changes.record import change_record, removed_record
from analyzer_lambda.changes.reuse import (
    PageCapture,
    can_reuse,
    compare,
    reusable_result,
    reused_result_fields,
    same_model_text,
)
from analyzer_lambda.changes.rules import ChangeRules
from analyzer_lambda.changes.text_diff import line_fingerprints, model_input_fingerprint
from bench.screenshot_pairs import Edits, encode, render_page, screenshot_pair

RULES = ChangeRules()
TOP = 2 * 1280  # what the analyser shows the model: the top, twice the width tall
QUOTES = ['"Great tool." — Jane, Initech', '"We ship twice as fast." — Raj, Globex']
TEXT = "Acme pricing\nStarter $49 per month\nUpdated 3 hours ago\n{quote}\nFAQ one\nFAQ two"
HEIGHT = 3_200


def _text(**kw: str) -> str:
    return TEXT.format(quote=kw.get("quote", QUOTES[0]))


def test_an_identical_page_reuses_its_answer() -> None:
    shot = encode(render_page(HEIGHT))
    comparison = compare(PageCapture(_text(), shot), PageCapture(_text(), shot), RULES)
    assert can_reuse(comparison, include_screenshot=True, screenshot_top=TOP)
    assert same_model_text(model_input_fingerprint(_text(), RULES), _text(), RULES)


def test_the_same_screenshot_bytes_are_unchanged_without_a_diff() -> None:
    shot = encode(render_page(HEIGHT))
    comparison = compare(PageCapture(_text(), shot), PageCapture(_text(), bytes(shot)), RULES)
    assert comparison.visual is not None
    assert comparison.visual.to_record() == {"changed_fraction": 0.0, "regions": []}
    assert comparison.visual.width == 1280
    same_junk = compare(PageCapture(_text(), b"junk"), PageCapture(_text(), b"junk"), RULES)
    assert same_junk.visual is None  # unreadable stays unreadable, same bytes or not
    assert not can_reuse(same_junk, include_screenshot=True)


def test_dates_and_reordered_lines_do_not_cost_a_call() -> None:
    changed = (
        _text()
        .replace("3 hours ago", "2 days ago")
        .replace("FAQ one\nFAQ two", "FAQ two\nFAQ one")
    )
    assert same_model_text(model_input_fingerprint(_text(), RULES), changed, RULES)
    comparison = compare(PageCapture(_text()), PageCapture(changed), RULES)
    assert can_reuse(comparison, include_screenshot=False)


def test_a_testimonial_rotating_below_what_the_model_sees_does_not_cost_a_call() -> None:
    page = render_page(HEIGHT)
    rotated = page.copy()
    rotated.paste((120, 30, 30), (40, HEIGHT - 300, 900, HEIGHT - 200))  # the carousel, low
    before = PageCapture(_text(), encode(page))
    after = PageCapture(_text(quote=QUOTES[1]), encode(rotated))
    seen = line_fingerprints("\n".join(QUOTES))
    assert not same_model_text(model_input_fingerprint(before.text, RULES), after.text, RULES)
    comparison = compare(before, after, RULES, seen)
    assert not comparison.text_changed
    assert can_reuse(comparison, include_screenshot=True, screenshot_top=TOP)
    assert not can_reuse(comparison, include_screenshot=True)  # the whole page did change


def test_a_price_change_costs_a_call() -> None:
    changed = _text().replace("$49", "$59")
    comparison = compare(PageCapture(_text()), PageCapture(changed), RULES)
    assert not can_reuse(comparison, include_screenshot=False)


def test_a_banner_at_the_top_costs_a_call_only_when_the_model_sees_the_screenshot() -> None:
    before, after = screenshot_pair(HEIGHT, Edits(banner=57))
    comparison = compare(PageCapture(_text(), before), PageCapture(_text(), after), RULES)
    assert not can_reuse(comparison, include_screenshot=True, screenshot_top=TOP)
    assert can_reuse(comparison, include_screenshot=False)


def test_a_screenshot_that_appeared_or_is_unreadable_costs_a_call() -> None:
    shot = encode(render_page(1_000))
    for before, after in ((None, shot), (shot, b"not an image")):
        comparison = compare(PageCapture(_text(), before), PageCapture(_text(), after), RULES)
        assert not can_reuse(comparison, include_screenshot=True)
        assert can_reuse(comparison, include_screenshot=False)


def test_a_reused_answer_names_the_capture_the_model_answered_for() -> None:
    original = {
        "chunk": "s3://b/raw/competitors/2026-11-01T00-00-00/items.0000000.jl.gz",
        "line": 3, "prompt_id": "overview-abc", "model": "m", "analysis": {"offering": "x"},
        "usage": {"input_tokens": 900, "output_tokens": 80}, "error": None, "reused_from": None,
    }  # fmt: skip
    first = reused_result_fields(original)
    assert first == {
        "analysis": {"offering": "x"},
        "usage": {"input_tokens": 0, "output_tokens": 0},
        "error": None,
        "reused_from": {"chunk": original["chunk"], "line": 3},
    }
    later = {
        **original,
        **first,
        "chunk": "s3://b/raw/competitors/2026-11-08T00-00-00/x",
        "line": 9,
    }
    assert reused_result_fields(later)["reused_from"] == {"chunk": original["chunk"], "line": 3}
    assert reusable_result(original, "overview-abc", "m")
    assert not reusable_result(original, "overview-def", "m")  # an edited prompt is new
    assert not reusable_result(original, "overview-abc", "other-model")
    assert not reusable_result(
        {**original, "analysis": None, "error": {"type": "x"}}, "overview-abc", "m"
    )
    assert not reusable_result(None, "overview-abc", "m")


def test_change_records_say_new_changed_unchanged_failed_and_removed() -> None:
    url = "https://acme.example/pricing"
    run = "2026-11-01T00-00-00"
    previous = capture_of(
        run, f"raw/competitors/{run}/items.0000000.jl.gz", 2, url, "t", "x", RULES
    )
    same = compare(PageCapture(_text()), PageCapture(_text()), RULES)
    price = compare(PageCapture(_text()), PageCapture(_text().replace("$49", "$59")), RULES)
    kw: dict[str, Any] = {"bucket": "b", "failed": False, "answer": None}
    assert change_record(url, previous=None, comparison=None, **kw)["status"] == "new"
    unchanged = change_record(url, previous=previous, comparison=same, **kw)
    chunk = f"s3://b/{previous.chunk}"
    assert unchanged == {
        "url": url, "status": "unchanged",
        "previous": {"run": run, "chunk": chunk, "line": 2, "crawled_at": "t"},
        "text": {"added": [], "removed": []}, "visual": None, "answer": None,
    }  # fmt: skip
    changed = change_record(url, previous=previous, comparison=price, **kw)
    assert changed["status"] == "changed"
    assert changed["text"] == {
        "added": ["Starter $59 per month"],
        "removed": ["Starter $49 per month"],
    }
    answer = {"pricing[Starter].price": {"before": 49, "after": 59}}
    by_answer = change_record(
        url, previous=previous, comparison=same, bucket="b", failed=False, answer=answer
    )
    assert by_answer["status"] == "changed"
    assert by_answer["answer"] == answer
    failed = change_record(
        url, previous=previous, comparison=None, bucket="b", failed=True, answer=None
    )
    assert failed["status"] == "failed"
    assert failed["text"] is None
    assert removed_record(previous, "b")["status"] == "removed"


def test_a_change_record_names_the_browsers_when_another_one_drew_the_previous_screenshot() -> (
    None
):
    url = "https://acme.example/"
    run = "2026-11-01T00-00-00"
    previous = capture_of(
        run, f"raw/competitors/{run}/items.0000000.jl.gz", 0, url, "t", "x", RULES
    )
    same = compare(PageCapture(_text()), PageCapture(_text()), RULES)
    kw: dict[str, Any] = {"bucket": "b", "failed": False, "answer": None}
    old, new = "chrome-headless-shell 156.0.1, flags 1f0c9a2e", "chrome 157.0.2, flags 1f0c9a2e"
    upgraded = change_record(url, previous=previous, comparison=same, renderers=(old, new), **kw)
    assert upgraded["renderer"] == {"before": old, "after": new}
    # the same browser, or a previous capture stored before renderers were recorded: no claim
    assert "renderer" not in change_record(
        url, previous=previous, comparison=same, renderers=(new, new), **kw
    )
    assert "renderer" not in change_record(
        url, previous=previous, comparison=same, renderers=(None, new), **kw
    )
