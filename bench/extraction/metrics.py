"""Recall of the ground-truth main text, computed the same way for every extractor.

Both texts are normalised alike: Unicode NFKC, case-folded, then split into tokens, where a
token is a run of letters/digits, or a single CJK ideograph or kana (Chinese and Japanese have
no spaces; one character a token keeps their recall as fine-grained as a Latin word's).
Punctuation and whitespace only separate tokens, so layout never counts.

- word recall: ground-truth tokens found in the output, as a multiset (a word said three times
  in the truth must appear three times) / ground-truth tokens;
- 4-gram recall: the same over overlapping 4-token shingles, which also checks order and
  adjacency (a page whose words all survive but in shuffled fragments scores low);
- reachable 4-gram recall: the same, but only over the ground-truth shingles that occur
  somewhere in the page's own text (every text node, see ``page_text``). The wceb-2026 truths
  were drafted by a model and sometimes reorder or paraphrase ("category page displaying
  multiple products including ..."); no extractor can return words the page does not contain,
  so those shingles are left out of this measure's denominator. On the readability pages
  (verbatim truths) both measures agree to the third decimal;
- precision, the same shingles the other way round: the share of what was sent that is main
  text (what the rest costs the model).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def shingles(words: list[str], n: int) -> Counter[tuple[str, ...]]:
    if len(words) < n:
        return Counter([tuple(words)]) if words else Counter()
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def _share(truth: Counter[tuple[str, ...]], got: Counter[tuple[str, ...]]) -> float:
    total = sum(truth.values())
    return sum((truth & got).values()) / total if total else 1.0


_SKIP = ("script", "style", "noscript", "template", "head")


def page_shingles(html: str) -> Counter[tuple[str, ...]]:
    """4-gram shingles of every text node of the page (the most any extractor could return):
    nodes once joined by spaces and once run together, since extractors do either."""
    from lxml import etree
    from lxml import html as lxml_html

    try:
        root = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return Counter()
    etree.strip_elements(root, *_SKIP, etree.Comment, with_tail=False)
    nodes = [str(t) for t in root.itertext()]
    return shingles(tokens(" ".join(nodes)), 4) | shingles(tokens("".join(nodes)), 4)


def score(
    truth: str, output: str, reachable: Counter[tuple[str, ...]] | None = None
) -> dict[str, float]:
    truth_words, output_words = tokens(truth), tokens(output)
    truth_4, output_4 = shingles(truth_words, 4), shingles(output_words, 4)
    on_page = truth_4 & reachable if reachable is not None else truth_4
    return {
        "word_recall": _share(shingles(truth_words, 1), shingles(output_words, 1)),
        "recall_4": _share(truth_4, output_4),
        "reachable_4": _share(on_page, output_4),
        "precision_4": _share(output_4, truth_4) if output_4 else 0.0,
    }
