"""The deterministic digest, read as a user reads ``digest.md``."""

from __future__ import annotations

import pytest

from analyzer_lambda.config import Config
from analyzer_lambda.digest.build import build_digest
from analyzer_lambda.digest.markdown import to_markdown
from analyzer_lambda.digest.offline import deterministic_digest
from analyzer_lambda.digest.phrases import MAX_WORDS, count_words
from analyzer_lambda.digest.rank import PageFacts, rank_changes, tally
from tests.unit.analyzer_lambda.digest.samples import (
    FACTS,
    NEW,
    RECORDS,
    RUN,
    UNCHANGED,
    record,
)


def _digest(records: list[dict[str, object]], language: str = "en",
            facts: dict[str, PageFacts] = FACTS) -> str:  # fmt: skip
    ranked = rank_changes(records, facts)
    return to_markdown(deterministic_digest(RUN, ranked, tally(records, facts), language))


def test_an_english_digest_puts_the_price_first_and_names_page_and_competitor() -> None:
    text = _digest(RECORDS)
    lines = text.splitlines()
    assert lines[0] == f"# rivalscope digest · run {RUN}"
    assert lines[2] == (
        "6 changed, 1 new, 1 removed, 1 failed and 1 blocked, of 10 pages across 3 competitors."
    )
    points = [line for line in lines if line.startswith("- ")]
    assert points[0] == (
        "- **high** · **Acme Analytics** — price changed: pricing\\[Starter\\].price: 49 → 59"
    )
    assert lines[lines.index(points[0]) + 1] == "  <https://acme.example/pricing>"
    assert "price text changed: “スタンダード 1,480円/月” → “スタンダード 1,980円/月”" in points[1]
    assert "pricing\\[Enterprise\\] added" in points[2]
    assert "claims: dropped “SOC 2”" in points[3]
    assert "page gone (last seen 2026-11-24)" in points[4]
    assert points[5].endswith("Acme Analytics** — new page: “Security”.")
    assert points[-1].endswith("could not be crawled (timeout).")
    assert "blocked by the site" in points[-2]
    assert text.rstrip().endswith("_Summary built from the run's changes, without a model._")


def test_a_japanese_team_reads_japanese_sentences() -> None:
    text = _digest(RECORDS, "ja-JP")
    assert text.startswith(f"# rivalscope ダイジェスト・実行 {RUN}\n")
    headline = "3 社・10 ページのうち、変更 6 件、新規 1 件、削除 1 件、失敗 1 件、ブロック 1 件。"
    assert text.splitlines()[2] == headline
    points = [line for line in text.splitlines() if line.startswith("- ")]
    assert points[0] == (
        "- **重要** · **Acme Analytics** — 価格が変わりました: pricing\\[Starter\\].price: 49 → 59"
    )
    assert "価格の表記が変わりました: 「スタンダード 1,480円/月」→「スタンダード 1,980円/月」" in (
        points[1].replace(" → ", "→")
    )
    assert "ページがなくなりました（前回の取得 2026-11-24）。" in text
    assert "サイトにブロックされました" in text
    assert "changed" not in text


def test_a_language_the_offline_digest_does_not_speak_falls_back_to_english_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = _digest(RECORDS, "de")
    assert "price changed" in text
    assert "DIGEST_LANGUAGE=de is not a language the offline summary speaks" in text


def test_a_run_with_no_change_says_so_in_one_line() -> None:
    assert _digest([UNCHANGED, record("https://acme.example/x", "unchanged")]) == (
        "No change across 1 competitors (2 pages) since the previous run.\n"
    )
    assert _digest([UNCHANGED], "ja") == "前回の実行から、1 社（1 ページ）に変更はありません。\n"


def test_a_first_capture_is_one_headline_not_a_point_per_new_page() -> None:
    text = _digest([NEW, record("https://acme.example/y", "new", previous=None)])
    assert "First capture: 2 pages of 1 competitors recorded" in text
    assert "- " not in text


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_run_with_many_changes_stays_under_the_word_cap_and_says_how_many_are_left(
    language: str,
) -> None:
    records = [
        record(
            f"https://site{i}.example/pricing",
            "changed",
            answer={f"pricing[Plan {j}].price": {"before": j, "after": j + i} for j in range(5)},
        )
        for i in range(1, 60)
    ]
    text = _digest(records, language, {})
    assert count_words(text) <= MAX_WORDS
    shown = sum(1 for line in text.splitlines() if line.startswith("- "))
    assert 3 <= shown < 59
    left = 59 - shown
    assert (f"…and {left} more change(s)" if language == "en" else f"ほか {left} 件の変更") in text


def test_untrusted_page_text_cannot_make_markup_in_the_markdown() -> None:
    evil = record(
        "https://evil.example/", "changed",
        text={"added": ["[Click](https://phish.example) <script>x</script> **now**"],
              "removed": []},
    )  # fmt: skip
    text = _digest([evil], facts={})
    assert "\\[Click\\](https://phish.example) \\<script\\>x\\</script\\> \\*\\*now\\*\\*" in text


def test_words_are_counted_for_latin_and_japanese_text() -> None:
    assert count_words("Starter went from $49 to $59.") == 6
    assert count_words("価格が変わりました") == 5  # 9 characters, two to a word


@pytest.mark.parametrize(
    ("records", "first_line"),
    [
        ([NEW], "First capture: 1 pages of 1 competitors recorded"),
        ([UNCHANGED], "No change across 1 competitors (1 pages) since the previous run."),
        (RECORDS, f"# rivalscope digest · run {RUN}"),
    ],
)
def test_without_a_key_the_build_writes_the_offline_digest_of_the_whole_run(
    records: list[dict[str, object]], first_line: str
) -> None:
    digest = build_digest(RUN, records, FACTS, Config())
    assert to_markdown(digest).startswith(first_line)
    assert (digest.writer, digest.calls) == ("deterministic", 0)


LEAD = "Acme Analytics shows which features your customers use, where they {} and what makes them"
LEAD += " stay."


@pytest.mark.parametrize(
    ("before", "after", "shown_before", "shown_after"),
    [
        (
            LEAD.format("get stuck"),
            LEAD.format("struggle"),
            "…customers use, where they get stuck and what makes them st…",
            "…customers use, where they struggle and what makes them sta…",
        ),
        (  # Japanese has no spaces: the window starts at the character
            "当社のサービスは" * 9 + "高速です。",
            "当社のサービスは" * 9 + "安全です。",
            "…のサービスは" + "当社のサービスは" * 6 + "高速です。",
            "…のサービスは" + "当社のサービスは" * 6 + "安全です。",
        ),
        ("Fast and simple", "Simple and fast", "Fast and simple", "Simple and fast"),
    ],
)
def test_a_reworded_answer_shows_where_the_words_differ_not_two_same_beginnings(
    before: str, after: str, shown_before: str, shown_after: str
) -> None:
    reworded = record(
        "https://acme.example/", "changed", answer={"lead": {"before": before, "after": after}}
    )
    point = next(line for line in _digest([reworded]).splitlines() if line.startswith("- "))
    assert f"lead: “{shown_before}” → “{shown_after}”" in point


@pytest.mark.parametrize(
    ("language", "says"),
    [
        ("en", "the browser that draws it changed too (chromium 156 → chromium 157): it may be"),
        ("ja", "描画するブラウザも変わったため（chromium 156 → chromium 157）、表示の違いだけ"),
    ],
)
def test_a_screenshot_change_after_a_browser_upgrade_says_it_may_be_rendering_alone(
    language: str, says: str
) -> None:
    upgraded = record(
        "https://hanami.example/", "changed",
        visual={"changed_fraction": 0.31, "regions": [[0, 0, 1280, 900]]},
        renderer={"before": "chromium 156", "after": "chromium 157"},
    )  # fmt: skip
    points = [line for line in _digest([upgraded], language).splitlines() if line.startswith("- ")]
    assert len(points) == 1
    assert says in points[0]
    plain = record("https://hanami.example/", "changed", visual=upgraded["visual"])
    assert "rendering alone" not in _digest([plain])
