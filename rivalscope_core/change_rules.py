"""The ``CHANGE_RULES`` file (SPEC.md, Changes), read by both sides: the crawler records the
screen boxes of each page's ``ignore_selectors`` elements (it needs them before the screenshot),
the analyser leaves those elements and the ``ignore_text`` lines out of its diffs and of the
reuse test (``analyzer_lambda.changes.rules`` compiles what this module parses).

The file is YAML keyed by site (``*`` for all); a site covers its subdomains
(``acme.example`` covers ``app.acme.example``)::

    "*":
      ignore_text: ["^Trusted by [0-9,]+ teams"]
    acme.example:
      ignore_selectors: [".ticker", "#live-chat"]

A bad regex, selector or field is a ``ChangeRulesError`` naming the site and the field. The
rules of one page are ``*`` + every site that covers its host, shortest first, + its
competitor's ``change_rules`` from the watch list (carried on the page record), in that order,
without repeats. Pure: text in, values out; the callers read the file (``rules_location``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

FIELDS = ("ignore_text", "ignore_selectors")
ALL_SITES = "*"
CONFIG_PREFIX = "config/"  # CHANGE_RULES=NAME means s3://BUCKET/config/NAME.yaml


@dataclass(frozen=True)
class ChangeRules:
    """Noise rules of one competitor, read by change tracking (issue #12): lines matching an
    ``ignore_text`` regex and the elements of ``ignore_selectors`` are left out of its diffs."""

    ignore_text: tuple[str, ...] = ()
    ignore_selectors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, list[str]]:
        return {"ignore_text": list(self.ignore_text),
                "ignore_selectors": list(self.ignore_selectors)}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ChangeRules | None:
        """Lenient, for readers of stored records (already validated when the crawl began)."""
        if not isinstance(data, dict):
            return None
        return cls(
            ignore_text=tuple(str(t) for t in data.get("ignore_text") or ()),
            ignore_selectors=tuple(str(s) for s in data.get("ignore_selectors") or ()),
        )


class ChangeRulesError(ValueError):
    """CHANGE_RULES (or a competitor's ``change_rules``) is wrong; the message names the site
    and the field."""


def parse_site_rules(
    text: str,
    source: str = "CHANGE_RULES",
    *,
    check_selector: Callable[[str], None] | None = None,
) -> dict[str, ChangeRules]:
    """YAML text → site → rules. An empty file means no rules. ``check_selector`` raises
    ``ValueError`` for a CSS selector it cannot parse (both sides pass cssselect's)."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ChangeRulesError(f"{source}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ChangeRulesError(
            f"{source}: expected a mapping of site → rules (e.g. '\"*\": {{ignore_text: [...]}}')"
        )
    by_site: dict[str, ChangeRules] = {}
    for site, rules in data.items():
        name = _site_name(site, source)
        parsed = parse_rules(rules, f"{source}: site {site!r}", check_selector=check_selector)
        by_site[name] = merge(by_site.get(name), parsed)
    return by_site


def parse_rules(
    data: Any, where: str, *, check_selector: Callable[[str], None] | None = None
) -> ChangeRules:
    """One mapping with ``ignore_text`` and/or ``ignore_selectors``; ``where`` starts every
    error message (``CHANGE_RULES: site 'acme.example'``)."""
    if data is None:
        return ChangeRules()
    if not isinstance(data, Mapping):
        raise ChangeRulesError(f"{where}: expected a mapping with {' and/or '.join(FIELDS)}")
    unknown = sorted(str(k) for k in data if k not in FIELDS)
    if unknown:
        raise ChangeRulesError(
            f"{where}: unknown field {', '.join(unknown)} (known: {', '.join(FIELDS)})"
        )
    patterns = _strings(data.get("ignore_text"), f"{where}, ignore_text")
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ChangeRulesError(
                f"{where}, ignore_text: bad regular expression {pattern!r}: {exc}"
            ) from exc
    selectors = _strings(data.get("ignore_selectors"), f"{where}, ignore_selectors")
    for selector in selectors:
        try:
            if check_selector is not None:
                check_selector(selector)
        except ValueError as exc:
            raise ChangeRulesError(
                f"{where}, ignore_selectors: bad CSS selector {selector!r}: "
                f"{' '.join(str(exc).split())}"
            ) from exc
    return merge(ChangeRules(patterns, selectors))


def merge(*parts: ChangeRules | None) -> ChangeRules:
    """The rules of ``parts`` in order, without repeats (None: no rules)."""
    given = [p for p in parts if p is not None]
    texts = dict.fromkeys(t for p in given for t in p.ignore_text)
    selectors = dict.fromkeys(s for p in given for s in p.ignore_selectors)
    return ChangeRules(tuple(texts), tuple(selectors))


def covering_sites(sites: Iterable[str], url: str) -> list[str]:
    """The configured sites whose rules apply to ``url``: ``*`` first, then the page's host and
    its parent domains, shortest first."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    names = set(sites)
    covering = sorted(
        (s for s in names if s != ALL_SITES and (host == s or host.endswith("." + s))), key=len
    )
    return ([ALL_SITES] if ALL_SITES in names else []) + covering


def rules_for(
    by_site: Mapping[str, ChangeRules], url: str, competitor: ChangeRules | None = None
) -> ChangeRules:
    """The rules of one page: its sites' (``covering_sites``), then its competitor's."""
    return merge(*(by_site[s] for s in covering_sites(by_site, url)), competitor)


def rules_location(ref: str, bucket: str | None, *, is_file: Callable[[str], bool]) -> str:
    """Where ``CHANGE_RULES`` is: a local file, an ``s3://`` URI, or NAME for
    ``s3://BUCKET/config/NAME.yaml``; ``ChangeRulesError`` when it can be none of them."""
    if ref.startswith("s3://") or is_file(ref):
        return ref
    if "/" in ref or ref.endswith((".yaml", ".yml")):
        raise ChangeRulesError(f"CHANGE_RULES: file {ref} not found")
    if not bucket:
        raise ChangeRulesError(f"CHANGE_RULES={ref}: a name needs PAGES_BUCKET (or give a path)")
    return f"s3://{bucket}/{CONFIG_PREFIX}{ref}.yaml"


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
