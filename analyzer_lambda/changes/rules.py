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
same two fields, so the rules of a page are ``*`` + its site + its competitor
(``RuleSet.for_url(url, competitor_rules)``), patterns de-duplicated in that order.

Dates, times and relative times ("3 hours ago", "Dec 1, 2026", "2026年12月1日", "12:30") are
noise by default. They are *masked* inside a line rather than dropping the line, so "Starter
$49, updated 2 days ago" → "Starter $59, updated 3 hours ago" is still a price change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

FIELDS = ("ignore_text", "ignore_selectors")
ALL_SITES = "*"
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


class ChangeRulesError(ValueError):
    """CHANGE_RULES (or a competitor's ``change_rules``) is wrong; the message names the site
    and the field."""


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
        fingerprint so one computed under other rules is never compared."""
        return "\n".join(p.pattern for p in self.ignore_text)


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
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        sites = sorted(
            (s for s in self.by_site if s != ALL_SITES and (host == s or host.endswith("." + s))),
            key=len,
        )
        parts = [self.by_site[s] for s in (ALL_SITES, *sites) if s in self.by_site]
        if competitor is not None:
            parts.append(competitor)
        return ChangeRules().merged(*parts)

    @property
    def signature(self) -> str:
        """What the fingerprints of every page depend on; "" for no rules, as for one empty
        ``ChangeRules``."""
        return "\n".join(
            f"{site}\t{rules.signature}" for site, rules in sorted(self.by_site.items())
            if rules.signature
        )  # fmt: skip


def parse_rule_set(text: str, source: str = "CHANGE_RULES") -> RuleSet:
    """YAML text → RuleSet. An empty file means no rules beyond the default noise."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ChangeRulesError(f"{source}: not valid YAML: {exc}") from exc
    if data is None:
        return RuleSet()
    if not isinstance(data, Mapping):
        raise ChangeRulesError(
            f"{source}: expected a mapping of site → rules (e.g. '\"*\": {{ignore_text: [...]}}')"
        )
    by_site: dict[str, ChangeRules] = {}
    for site, rules in data.items():
        name = _site_name(site, source)
        by_site[name] = by_site.get(name, ChangeRules()).merged(
            parse_rules(rules, f"{source}: site {site!r}")
        )
    return RuleSet(by_site)


def parse_rules(data: Any, where: str) -> ChangeRules:
    """One mapping with ``ignore_text`` and/or ``ignore_selectors`` → ChangeRules; ``where``
    starts every error message (``CHANGE_RULES: site 'acme.example'`` or a watch-list entry)."""
    if data is None:
        return ChangeRules()
    if not isinstance(data, Mapping):
        raise ChangeRulesError(f"{where}: expected a mapping with {' and/or '.join(FIELDS)}")
    unknown = sorted(str(k) for k in data if k not in FIELDS)
    if unknown:
        raise ChangeRulesError(
            f"{where}: unknown field {', '.join(unknown)} (known: {', '.join(FIELDS)})"
        )
    patterns = tuple(
        _compile(item, f"{where}, ignore_text")
        for item in _strings(data.get("ignore_text"), f"{where}, ignore_text")
    )
    selectors = _strings(data.get("ignore_selectors"), f"{where}, ignore_selectors")
    for selector in selectors:
        _check_selector(selector, f"{where}, ignore_selectors")
    return ChangeRules().merged(ChangeRules(patterns, selectors))


def _site_name(site: Any, source: str) -> str:
    if not isinstance(site, str) or not site.strip():
        raise ChangeRulesError(f"{source}: site {site!r} must be a host name or '*'")
    name = site.strip().lower()
    if "://" in name:  # a URL pasted where a host was meant: take its host
        name = urlsplit(name).hostname or ""
    if name != ALL_SITES and not re.fullmatch(r"[a-z0-9.-]+", name):
        raise ChangeRulesError(f"{source}: site {site!r} must be a host name or '*'")
    return name.rstrip(".")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ChangeRulesError(f"{where}: expected a list of non-empty strings")
    return tuple(value)


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ChangeRulesError(f"{where}: bad regular expression {pattern!r}: {exc}") from exc


def _check_selector(selector: str, where: str) -> None:
    from cssselect import GenericTranslator, SelectorError

    try:
        GenericTranslator().css_to_xpath(selector)
    except SelectorError as exc:
        raise ChangeRulesError(f"{where}: bad CSS selector {selector!r}: {exc}") from exc
