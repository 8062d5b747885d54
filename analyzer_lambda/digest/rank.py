"""Which of a run's changes matter most (issue #13): ``changes.jsonl`` records in, ranked
changes out, most important first. Pure.

A page is classed by its strongest signal, in this order — what a product team watching
competitors acts on first:

1. ``price`` — an answer field about price (``pricing[Starter].price: 49 → 59``), or a changed
   text line that states a price (``Starter $59 per month``) when no answer field says it;
2. ``plan`` — a plan, tier or package that appeared, went or changed;
3. ``answer`` — any other answer field (a claim dropped, a feature added);
4. ``removed`` and ``new`` pages;
5. ``wording`` — text that changed without touching a price, then ``visual`` — only the
   screenshot changed;
6. ``blocked`` (the site served a bot wall) and ``failed`` (the crawl failed): we lost sight
   of the page, which the team should know, but it is not news about the competitor.

Within a class, more changed fields and lines come first, then competitor and URL, so the
order is the same on every machine. ``unchanged`` pages are not changes.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from rivalscope_core.records import BLOCKED_BY_SITE

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

Kind = Literal[
    "price", "plan", "answer", "removed", "new", "wording", "visual", "blocked", "failed"
]
Importance = Literal["high", "medium", "low"]
KINDS: tuple[Kind, ...] = (
    "price", "plan", "answer", "removed", "new", "wording", "visual", "blocked", "failed",
)  # fmt: skip
_ORDER = {kind: i for i, kind in enumerate(KINDS)}
IMPORTANCE: dict[Kind, Importance] = {
    "price": "high", "plan": "high", "answer": "medium", "removed": "medium", "new": "medium",
    "wording": "low", "visual": "low", "blocked": "low", "failed": "low",
}  # fmt: skip

_PRICE_FIELD = re.compile(
    r"price|pricing|cost|fee|amount|currency|discount|billing|per_?(?:month|year|seat|user)",
    re.IGNORECASE,
)
_PLAN_FIELD = re.compile(r"plan|tier|package|edition|subscription", re.IGNORECASE)
# "$49", "€ 12", "¥980", "49 USD", "1,980円", "29/mo", "9 per month"
_MONEY = re.compile(
    r"[$€£¥￥]\s?\d|\d[\d,.]*\s?(?:USD|EUR|GBP|JPY|円|ドル|/\s?(?:mo|month|yr|year|月|年)\b"
    r"|per (?:month|year|user|seat))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PageFacts:
    """What the run knows of a page beyond its change record: the watch list's competitor
    name, the page title, and the page's error type (``blocked_by_site`` is a bot wall)."""

    url: str
    competitor: str | None = None
    title: str | None = None
    error_type: str | None = None


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any
    added: tuple[Any, ...] = ()
    removed: tuple[Any, ...] = ()


@dataclass(frozen=True)
class RankedChange:
    kind: Kind
    url: str
    competitor: str
    site: str
    title: str | None = None
    fields: tuple[FieldChange, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    visual_fraction: float | None = None
    error_type: str | None = None
    last_seen: str | None = None
    # (before, after) when another browser build or flag set drew the previous screenshot
    # (the change record's ``renderer``): a visual change may then be rendering alone.
    renderer: tuple[str, str] | None = None

    @property
    def importance(self) -> Importance:
        return IMPORTANCE[self.kind]

    @property
    def magnitude(self) -> int:
        return len(self.fields) + len(self.added) + len(self.removed)


def site_of(url: str) -> str:
    return (urlsplit(url).hostname or url).lower()


def field_kind(field: FieldChange) -> Kind:
    """``price``, ``plan`` or ``answer`` for one changed answer field."""
    leaf = re.split(r"[.\[]", field.path)[-1]
    values = [v for v in (field.before, field.after) if isinstance(v, str | int | float)]
    if _PRICE_FIELD.search(leaf) or any(
        isinstance(v, str) and _MONEY.search(v) and len(v) < 40 for v in values
    ):
        return "price"
    if _PLAN_FIELD.search(field.path) or (
        _PRICE_FIELD.search(field.path) and (field.before is None or field.after is None)
    ):
        return "plan"  # "pricing[Enterprise]: null → {...}" is a plan that appeared
    return "answer"


def states_price(line: str) -> bool:
    return bool(_MONEY.search(line))


def _fields(answer: Mapping[str, Any] | None) -> tuple[FieldChange, ...]:
    out = []
    for path, entry in (answer or {}).items():
        if not isinstance(entry, dict):
            continue
        out.append(
            FieldChange(
                str(path), entry.get("before"), entry.get("after"),
                tuple(entry.get("added") or ()), tuple(entry.get("removed") or ()),
            )
        )  # fmt: skip
    return tuple(sorted(out, key=lambda f: _ORDER[field_kind(f)]))  # stable: schema order kept


def _classify(
    record: Mapping[str, Any], facts: PageFacts | None, fields: tuple[FieldChange, ...]
) -> Kind | None:
    status = record.get("status")
    if status == "failed":
        blocked = facts is not None and facts.error_type == BLOCKED_BY_SITE
        return "blocked" if blocked else "failed"
    if status in ("new", "removed"):
        return "removed" if status == "removed" else "new"
    if status != "changed":
        return None
    if fields:
        return field_kind(fields[0])
    text = record.get("text") or {}
    lines = [*(text.get("added") or ()), *(text.get("removed") or ())]
    if any(states_price(str(line)) for line in lines):
        return "price"
    return "wording" if lines else "visual"


def rank_changes(
    records: Iterable[Mapping[str, Any]], facts: Mapping[str, PageFacts]
) -> list[RankedChange]:
    """The run's changes, most important first (``facts`` by URL; a removed page takes the
    competitor of its host's other pages in this run)."""
    by_host = {site_of(f.url): f.competitor for f in facts.values() if f.competitor}
    ranked = []
    for record in records:
        url = str(record.get("url") or "")
        fact = facts.get(url)
        fields = _fields(record.get("answer"))
        kind = _classify(record, fact, fields)
        if kind is None:
            continue
        site = site_of(url)
        competitor = (fact.competitor if fact else None) or by_host.get(site) or site
        text = record.get("text") or {}
        visual = record.get("visual") or {}
        previous = record.get("previous") or {}
        ranked.append(
            RankedChange(
                kind=kind, url=url, competitor=competitor, site=site,
                title=fact.title if fact else None,
                fields=fields,
                added=tuple(str(x) for x in text.get("added") or ()),
                removed=tuple(str(x) for x in text.get("removed") or ()),
                visual_fraction=visual.get("changed_fraction"),
                error_type=fact.error_type if fact else None,
                last_seen=previous.get("crawled_at"),
                renderer=_renderer(record.get("renderer")),
            )
        )  # fmt: skip
    return sorted(ranked, key=lambda c: (_ORDER[c.kind], -c.magnitude, c.competitor, c.url))


def _renderer(value: Any) -> tuple[str, str] | None:
    if not isinstance(value, dict) or not value.get("before") or not value.get("after"):
        return None
    return str(value["before"]), str(value["after"])


def tally(records: Iterable[Mapping[str, Any]], facts: Mapping[str, PageFacts]) -> dict[str, int]:
    """Pages per status, with ``blocked`` counted apart from ``failed``, the run's page total
    (removed pages are not in this run) and the number of competitors (hosts of none)."""
    counts: Counter[str] = Counter()
    competitors: set[str] = set()
    by_host = {site_of(f.url): f.competitor for f in facts.values() if f.competitor}
    for record in records:
        status = str(record.get("status"))
        url = str(record.get("url") or "")
        fact = facts.get(url)
        if status == "failed" and fact is not None and fact.error_type == BLOCKED_BY_SITE:
            status = "blocked"
        counts[status] += 1
        competitors.add((fact.competitor if fact else None) or by_host.get(site_of(url)) or
                        site_of(url))  # fmt: skip
    result = {s: counts[s] for s in ("changed", "new", "removed", "failed", "blocked")}
    result["unchanged"] = counts["unchanged"]
    result["pages"] = sum(n for s, n in counts.items() if s != "removed")
    result["competitors"] = len(competitors)
    return result
