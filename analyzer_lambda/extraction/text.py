"""Language and length of a page's text, without a model.

Word count, CJK-aware: Japanese and Chinese write no spaces between words, so splitting on
whitespace would count a whole sentence as one word. We count every run of Latin/Hangul/digit
word characters as one word and **every two Han or kana characters as one word** (rounded
up): Japanese and Chinese words average roughly 1.5 to 2.5 characters, so half the character
count stays within about a third of a true word count and keeps pages comparable with English
ones. Korean separates words with spaces and is counted like English."""

from __future__ import annotations

import math
import re

# Han (CJK unified ideographs + extension A + compatibility), hiragana, katakana (incl.
# half-width), and the iteration mark 々.
_CJK = re.compile(
    r"[\u3005\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    r"\uff66-\uff9f]"
)
_KANA = re.compile(r"[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_NON_CJK_WORD = re.compile(
    r"[^\W\u3005\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    r"\uff66-\uff9f]+"
)
_LATIN_WORD = re.compile(r"[a-z]+")
_ENGLISH_STOPWORDS = frozenset(
    {"the", "and", "of", "to", "a", "in", "is", "for", "you", "your", "with", "on", "that"}
)
_LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


def count_cjk(text: str) -> int:
    return len(_CJK.findall(text))


def word_count(text: str) -> int:
    """Words in ``text``: see the module docstring for how CJK text is counted."""
    cjk = count_cjk(text)
    return len(_NON_CJK_WORD.findall(text)) + math.ceil(cjk / 2)


def normalise_lang(value: str | None) -> str | None:
    """``en_US`` → ``en-US``; anything that is not a language tag → None."""
    value = (value or "").strip()
    if not _LANG_TAG.match(value):
        return None
    primary, *rest = value.replace("_", "-").split("-")
    return "-".join(
        [primary.lower(), *(part.upper() if len(part) == 2 else part for part in rest)]
    )


def guess_language(text: str) -> str | None:
    """A script-based guess for pages without ``<html lang>``: kana means Japanese, Hangul
    Korean, Han without kana Chinese, Cyrillic Russian; Latin text is called English only when
    English function words are frequent. None when unsure."""
    letters = sum(ch.isalpha() for ch in text)
    if not letters:
        return None
    kana = len(_KANA.findall(text))
    if kana >= 5 or kana / letters > 0.05:  # a few kana settle it
        return "ja"
    if len(_HANGUL.findall(text)) / letters > 0.2:
        return "ko"
    if count_cjk(text) / letters > 0.2:
        return "zh"
    if len(_CYRILLIC.findall(text)) / letters > 0.3:
        return "ru"
    words = _LATIN_WORD.findall(text.lower())
    if len(words) >= 20 and sum(w in _ENGLISH_STOPWORDS for w in words) / len(words) > 0.08:
        return "en"
    return None
