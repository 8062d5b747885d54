"""CHANGE_RULES (SPEC.md, Changes): which text and which screen areas are noise, per site.

The file is YAML keyed by site (``*`` for all)::

    "*":
      ignore_text: ["^Trusted by [0-9,]+ teams"]
    acme.example:
      ignore_text: ["visitors online"]
      ignore_selectors: [".ticker", "#live-chat"]

``ignore_text`` regular expressions drop matching lines from the text diff and from the reuse
test; ``ignore_selectors`` (CSS) name elements whose text and screen area are left out (the
crawl records their boxes). A bad regex, selector or field is a ``ChangeRulesError`` naming the
site and the field, so a user knows which line of the file to fix.

Rules merge: the watch list (issue #17) gives each competitor its own ``change_rules`` with the
same two fields, carried on every page record, so the rules of a page are ``*`` + its site + its
competitor (``RuleSet.for_page(url, page.change_rules)``), de-duplicated in that order. The
file format is parsed in ``rivalscope_core.change_rules``, shared with the crawler (which
records the boxes of the selectors' elements); this module compiles it.

Dates, times and relative times ("3 hours ago", "Dec 1, 2026", "2026年12月1日", "12:30") are
noise by default. They are *masked* inside a line rather than dropping the line, so "Starter
$49, updated 2 days ago" → "Starter $59, updated 3 hours ago" is still a price change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rivalscope_core.change_rules import (
    ALL_SITES,
    FIELDS,
    ChangeRulesError,
    covering_sites,
    parse_site_rules,
)
from rivalscope_core.change_rules import parse_rules as _parse_rules

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rivalscope_core.change_rules import ChangeRules as StoredRules

__all__ = ["ALL_SITES", "FIELDS", "ChangeRules", "ChangeRulesError", "RuleSet", "mask_dates"]

DATE_MASK = "<date>"

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_WEEKDAY = (
    r"(?:(?:Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)(?:day|nesday|urday|sday)?\.?,?\s+)?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_UNIT = r"(?:second|sec|minute|min|hour|hr|day|week|month|year|yr)s?"
_D = r"[0-9０-９]"  # Japanese pages often write full-width digits
# Patterns that start with a digit (ASCII or full-width: Python's \d matches both), ...
_NUMERIC = (
    # ISO 8601 dates and date-times: 2026-12-01, 2026-12-01T12:30:00Z
    r"\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
    # 12/01/2026, 1.12.2026, 2026/12/01
    r"(?<!\.)\d{1,2}[./]\d{1,2}[./]\d{2,4}(?![\d.])",
    r"\d{4}/\d{1,2}/\d{1,2}(?!\d)",
    # 1 December 2026
    rf"{_DAY}\s+{_MONTH}(?:,?\s+\d{{4}})?\b",
    # Japanese: 3時間前, 2日前, 2026年12月1日, 12月1日, 2026年12月, 12時30分
    rf"{_D}+\s*(?:秒|分|時間|日|週間|か月|ヶ月|年)前",
    rf"{_D}{{2,4}}年{_D}{{1,2}}月(?:{_D}{{1,2}}日)?(?:\s*[（(][月火水木金土日][)）])?",
    rf"{_D}{{1,2}}月{_D}{{1,2}}日(?:\s*[（(][月火水木金土日][)）])?",
    rf"{_D}{{1,2}}時(?:{_D}{{1,2}}分)?",
    # times: 12:30, 12:30:05, 9:05 pm, 9 am, with an optional zone (upper case: "UTC", "PST")
    r"(?<!:)\d{1,2}:\d{2}(?::\d{2})?(?![\d:])(?:\s?[ap]\.?m\.?)?(?:\s?(?-i:UTC|GMT|[A-Z]{2,4}T)\b)?",
    r"\d{1,2}\s?[ap]\.?m\b\.?",
    # relative times: 3 hours ago, 5m ago
    rf"\d+\s+{_UNIT}\s+ago\b",
    r"\d+\s?(?:s|m|h|d|w|mo|y)\s+ago\b",
)
# ... those that start with a month or weekday name (and hold a digit too) ...
_NAMED = (
    rf"{_WEEKDAY}{_MONTH}\s+{_DAY}(?:,?\s+\d{{4}})?\b",
    rf"{_WEEKDAY}{_DAY}\s+{_MONTH}(?:,?\s+\d{{4}})?\b",
    rf"{_MONTH}\s+\d{{4}}\b",
)
_NAME_START = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)"
# ... and the relative ones written in words.
_AGO = rf"\b(?:an?|one|a few|few|several)\s+{_UNIT}\s+ago\b"
_RELATIVE_WORDS = ("just now", "yesterday", "today", "tonight", "last week", "last month",
                   "last year")  # fmt: skip
_JAPANESE_WORDS = r"昨日|一昨日|今日|本日|先週|先月|たった今"
# Each pattern is tried only where it can start (a digit that no digit precedes, a month name
# that no letter precedes), and only on lines that can hold it (a digit, "ago", ...): one
# alternation tried at every character took 1.3 µs a character on long pages, 25x this.
_WITH_DIGITS = re.compile(
    rf"(?<!\d)(?=\d)(?:{'|'.join(_NUMERIC)})"
    rf"|(?<![^\W\d_])(?={_NAME_START})(?:{'|'.join(_NAMED)})",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")
_AGO_RE = re.compile(_AGO, re.IGNORECASE)
_RELATIVE_RE = re.compile(
    r"\b(?:" + "|".join(re.escape(w) for w in _RELATIVE_WORDS) + r")\b", re.IGNORECASE
)
_JAPANESE_RE = re.compile(_JAPANESE_WORDS)


@dataclass(frozen=True)
class ChangeRules:
    """The noise rules that apply to one page. Immutable and hashable; ``merged`` combines."""

    ignore_text: tuple[re.Pattern[str], ...] = ()
    ignore_selectors: tuple[str, ...] = ()

    def merged(self, *others: ChangeRules) -> ChangeRules:
        """These rules plus ``others``', in order, without repeats."""
        patterns = {p.pattern: p for rules in (self, *others) for p in rules.ignore_text}
        selectors = dict.fromkeys(s for rules in (self, *others) for s in rules.ignore_selectors)
        return ChangeRules(tuple(patterns.values()), tuple(selectors))

    def ignores_line(self, line: str) -> bool:
        return any(pattern.search(line) for pattern in self.ignore_text)

    @property
    def signature(self) -> str:
        """A stable text of the rules that change the model-input fingerprint: stored beside a
        fingerprint so one computed under other rules is never compared. Selectors count: the
        text of their elements is left out."""
        return "\n".join([*(p.pattern for p in self.ignore_text), *self.ignore_selectors])


def mask_dates(line: str) -> str:
    """``line`` with every date, time and relative time replaced by one placeholder."""
    if _DIGIT.search(line):
        line = _WITH_DIGITS.sub(DATE_MASK, line)
    if not line.isascii():
        line = _JAPANESE_RE.sub(DATE_MASK, line)
    lower = line.lower()
    if "ago" in lower:
        line = _AGO_RE.sub(DATE_MASK, line)
    if any(word in lower for word in _RELATIVE_WORDS):
        line = _RELATIVE_RE.sub(DATE_MASK, line)
    return line


@dataclass(frozen=True)
class RuleSet:
    """Rules per site as CHANGE_RULES gives them; ``for_url`` picks those of one page."""

    by_site: Mapping[str, ChangeRules] = field(default_factory=dict)

    def for_url(self, url: str, competitor: ChangeRules | None = None) -> ChangeRules:
        """``*`` + every configured site that is the page's host or a parent domain of it
        (``acme.example`` covers ``app.acme.example``), shortest first, + the competitor's."""
        parts = [self.by_site[s] for s in covering_sites(self.by_site, url)]
        if competitor is not None:
            parts.append(competitor)
        return ChangeRules().merged(*parts)

    def for_page(self, url: str, competitor: StoredRules | None) -> ChangeRules:
        """``for_url`` with the competitor's ``change_rules`` as a page record carries them."""
        return self.for_url(url, compiled(competitor) if competitor is not None else None)

    @property
    def signature(self) -> str:
        """What the fingerprints of every page depend on; "" for no rules, as for one empty
        ``ChangeRules``."""
        return "\n".join(
            f"{site}\t{rules.signature}" for site, rules in sorted(self.by_site.items())
            if rules.signature
        )  # fmt: skip


def parse_rule_set(text: str, source: str = "CHANGE_RULES") -> RuleSet:
    """YAML text → RuleSet (the format is ``rivalscope_core.change_rules``'s, shared with the
    crawler). An empty file means no rules beyond the default noise."""
    by_site = parse_site_rules(text, source, check_selector=_check_selector)
    return RuleSet({site: compiled(rules) for site, rules in by_site.items()})


def parse_rules(data: Any, where: str) -> ChangeRules:
    """One mapping with ``ignore_text`` and/or ``ignore_selectors`` → ChangeRules; ``where``
    starts every error message (``CHANGE_RULES: site 'acme.example'`` or a watch-list entry)."""
    return compiled(_parse_rules(data, where, check_selector=_check_selector))


def compiled(rules: StoredRules | None) -> ChangeRules:
    """The compiled form of rules as files and page records hold them (a competitor's
    ``change_rules``, checked when the crawl began; a pattern that no longer compiles is left
    out rather than failing the page)."""
    if rules is None:
        return ChangeRules()
    patterns = []
    for pattern in rules.ignore_text:
        try:
            patterns.append(re.compile(pattern))
        except re.error:
            continue
    return ChangeRules().merged(ChangeRules(tuple(patterns), tuple(rules.ignore_selectors)))


def _check_selector(selector: str) -> None:
    from cssselect import GenericTranslator, SelectorError

    try:
        GenericTranslator().css_to_xpath(selector)
    except SelectorError as exc:
        raise ValueError(str(exc)) from exc
