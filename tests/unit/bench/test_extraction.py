"""The page-text benchmark's own parts: recall as documented, and a corpus that is checked."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bench.extraction.corpus import CORPUS_ENV, CorpusError, corpus_dir, verify
from bench.extraction.metrics import page_shingles, score, tokens


def test_tokens_are_normalised_alike_and_cjk_counts_per_character() -> None:
    assert tokens("Ｐｒｉｃｅ: $49/MONTH") == ["price", "49", "month"]
    assert tokens("料金プランabc") == ["料", "金", "プ", "ラ", "ン", "abc"]


def test_recall_counts_order_and_repeats() -> None:
    truth = "one two three four five. one two three four five."
    assert score(truth, truth)["recall_4"] == 1.0
    # 7 shingles in the truth; sending the sentence once matches 2 of them, not 4
    assert score(truth, "one two three four five.")["recall_4"] == pytest.approx(2 / 7)
    shuffled = score(truth, "five four three two one five four three two one")
    assert shuffled["word_recall"] == 1.0
    assert shuffled["recall_4"] == 0.0


def test_reachable_recall_ignores_truth_that_is_on_no_page() -> None:
    html = "<html><body><p>alpha beta gamma delta epsilon</p></body></html>"
    truth = "alpha beta gamma delta epsilon. A page listing products such as these."
    result = score(truth, "alpha beta gamma delta epsilon", page_shingles(html))
    assert result["reachable_4"] == 1.0
    assert result["recall_4"] < 0.5


def test_corpus_dir_prefers_the_argument_then_the_environment() -> None:
    assert corpus_dir("/a", {CORPUS_ENV: "/b"}) == Path("/a")
    assert corpus_dir(None, {CORPUS_ENV: "/b"}) == Path("/b")
    assert corpus_dir(None, {}).parts[-3:] == ("shared", "corpus", "extraction")


def test_an_absent_or_changed_corpus_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_bytes(b"<p>x</p>")
    good: dict[str, object] = {"sha256": {"a.html": hashlib.sha256(b"<p>x</p>").hexdigest()}}
    verify(tmp_path, good)
    with pytest.raises(CorpusError, match="shared/corpus/extraction"):
        verify(tmp_path / "missing", good)
    changed: dict[str, object] = {"sha256": {"a.html": "0" * 64}}
    with pytest.raises(CorpusError, match=r"1 differ \['a.html'\]"):
        verify(tmp_path, changed)
