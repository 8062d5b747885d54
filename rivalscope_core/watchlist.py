"""The watch list (SPEC.md, "Watch list"): competitors by name, each with its URLs, page
budget, prompt and change rules, as one YAML file a team reviews in git or S3.

Pure: text in, a frozen ``WatchList`` or a ``WatchListError`` out. The crawler parses it (and
the local run, before anything starts); reading the file and checking that each prompt resolves
are I/O and live with their callers. Every error names the file, the entry and the field, the
way Scrapy names the setting to fix::

    watchlist demo/watchlist.yaml: competitors[1] "Northwind": urls: must not be empty

A file that is not a YAML mapping but a plain URL list (one URL a line, ``#`` comments) is
accepted too, so a deployment whose scheduled list is still ``urls.txt`` keeps working: its
URLs belong to no competitor (``competitor`` null, as with ``-a urls``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from rivalscope_core.change_rules import ChangeRules, ChangeRulesError, parse_rules
from rivalscope_core.urls import BadUrlError, normalize_url, parse_url_list

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

COMPETITOR_FIELDS = ("name", "urls", "max_pages", "prompt", "change_rules")
_TOP_FIELDS = ("competitors",)


class WatchListError(ValueError):
    """A watch list the crawl cannot take; the message names the entry and the field."""


@dataclass(frozen=True)
class Competitor:
    name: str
    urls: tuple[str, ...]
    max_pages: int | None = None
    prompt: str | None = None
    change_rules: ChangeRules | None = None


@dataclass(frozen=True)
class WatchList:
    """The competitors, and URLs that belong to none (a plain URL list, ``-a urls``)."""

    source: str
    competitors: tuple[Competitor, ...] = ()
    unnamed_urls: tuple[str, ...] = ()
    _by_url: dict[str, Competitor] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for competitor in self.competitors:
            for url in competitor.urls:
                self._by_url.setdefault(url, competitor)

    @property
    def urls(self) -> list[str]:
        """Every start URL once, competitors' first, in the file's order."""
        ordered = [url for c in self.competitors for url in c.urls] + list(self.unnamed_urls)
        return list(dict.fromkeys(ordered))

    def competitor_of(self, url: str) -> Competitor | None:
        """The competitor a start URL (as normalised by ``normalize_url``) is listed under."""
        return self._by_url.get(url)

    def to_yaml(self) -> str:
        """The list as a watch-list file again (what ``make run`` hands the crawl once it has
        put the demo sites' addresses in); unnamed URLs cannot be written and are left out."""
        entries = []
        for competitor in self.competitors:
            entry: dict[str, Any] = {"name": competitor.name, "urls": list(competitor.urls)}
            if competitor.max_pages is not None:
                entry["max_pages"] = competitor.max_pages
            if competitor.prompt is not None:
                entry["prompt"] = competitor.prompt
            if competitor.change_rules is not None:
                entry["change_rules"] = competitor.change_rules.to_dict()
            entries.append(entry)
        return yaml.safe_dump({"competitors": entries}, allow_unicode=True, sort_keys=False)

    def with_urls(self, urls: Iterable[str]) -> WatchList:
        """This list plus unnamed URLs (``-a urls`` given beside ``-a watchlist``)."""
        extra = [u for u in urls if u not in self._by_url]
        unnamed = tuple(dict.fromkeys([*self.unnamed_urls, *extra]))
        return WatchList(self.source, self.competitors, unnamed)


def parse_watchlist(
    text: str, source: str, *, check_selector: Callable[[str], None] | None = None
) -> WatchList:
    """Parse and validate a watch list. ``check_selector`` raises ``ValueError`` for a CSS
    selector it cannot parse (the crawler passes cssselect's parser; None skips the check)."""
    where = f"watchlist {source}"
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        # a plain URL list is one too, and is seldom valid YAML once a comment ends a line
        # between two URLs (the scheduled run passes its URL list as the watch list)
        try:
            return WatchList(source, unnamed_urls=tuple(parse_url_list(text)))
        except BadUrlError:
            pass
        raise WatchListError(f"{where}: not valid YAML: {_yaml_problem(exc)}") from exc
    if data is None or isinstance(data, str):
        return _plain_list(text, where, source)
    if not isinstance(data, dict):
        raise WatchListError(f"{where}: expected a mapping with 'competitors:', got {_kind(data)}")
    _no_unknown(data, _TOP_FIELDS, where)
    entries = data.get("competitors")
    if not isinstance(entries, list) or not entries:
        raise WatchListError(f"{where}: competitors: must be a non-empty list of competitors")
    competitors: list[Competitor] = []
    names: dict[str, int] = {}
    owners: dict[str, str] = {}
    for index, entry in enumerate(entries):
        competitor = _competitor(entry, f"{where}: competitors[{index}]", check_selector)
        label = f'{where}: competitors[{index}] "{competitor.name}"'
        key = competitor.name.casefold()
        if key in names:
            raise WatchListError(
                f"{label}: name: duplicate of competitors[{names[key]}] (names must be unique)"
            )
        names[key] = index
        for url in competitor.urls:
            if url in owners:
                raise WatchListError(
                    f'{label}: urls: {url} is already listed under "{owners[url]}" '
                    "(a URL belongs to one competitor)"
                )
            owners[url] = competitor.name
        competitors.append(competitor)
    return WatchList(source, tuple(competitors))


class _StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load``'s loader, except that a key given twice in one mapping is an error:
    plain YAML keeps the last one, which would hide a second ``urls:`` silently."""


def _unique_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"{key}: given twice in one entry", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _competitor(
    entry: Any, where: str, check_selector: Callable[[str], None] | None
) -> Competitor:
    if not isinstance(entry, dict):
        raise WatchListError(f"{where}: expected a mapping (name, urls, ...), got {_kind(entry)}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise WatchListError(f"{where}: name: required, a non-empty text")
    where = f'{where} "{name.strip()}"'
    _no_unknown(entry, COMPETITOR_FIELDS, where)
    return Competitor(
        name=name.strip(),
        urls=_urls(entry.get("urls"), where),
        max_pages=_max_pages(entry.get("max_pages"), where),
        prompt=_text(entry, "prompt", where),
        change_rules=_change_rules(entry.get("change_rules"), where, check_selector),
    )


def _urls(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if value is None or value == []:
        raise WatchListError(f"{where}: urls: must not be empty")
    if not isinstance(value, list):
        raise WatchListError(f"{where}: urls: expected a list of URLs, got {_kind(value)}")
    urls: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise WatchListError(f"{where}: urls: expected a URL, got {_kind(item)}")
        try:
            urls.append(normalize_url(item))
        except BadUrlError as exc:
            raise WatchListError(f"{where}: urls: {exc}") from exc
    return tuple(dict.fromkeys(urls))


def _max_pages(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise WatchListError(f"{where}: max_pages: a whole number >= 1 (pages per site), "
                             f"got {value!r}")  # fmt: skip
    return value


def _text(entry: dict[str, Any], name: str, where: str) -> str | None:
    value = entry.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise WatchListError(f"{where}: {name}: expected a non-empty text, got {value!r}")
    return value.strip()


def _change_rules(
    value: Any, where: str, check_selector: Callable[[str], None] | None
) -> ChangeRules | None:
    """The entry's ``change_rules``, checked by the same parser as ``CHANGE_RULES``' sites, so
    a rule means the same and fails the same way in either place."""
    if value is None:
        return None
    try:
        return parse_rules(value, f"{where}: change_rules", check_selector=check_selector)
    except ChangeRulesError as exc:
        raise WatchListError(str(exc)) from exc


def _plain_list(text: str, where: str, source: str) -> WatchList:
    try:
        urls = parse_url_list(text)
    except BadUrlError as exc:
        raise WatchListError(
            f"{where}: neither a watch list (a mapping with 'competitors:') nor a URL list: {exc}"
        ) from exc
    return WatchList(source, unnamed_urls=tuple(urls))


def _no_unknown(data: dict[Any, Any], known: tuple[str, ...], where: str) -> None:
    unknown = [str(k) for k in data if k not in known]
    if unknown:
        raise WatchListError(f"{where}: {unknown[0]}: unknown field (known: {', '.join(known)})")


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "a text" if isinstance(value, str) else repr(value)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """``line 4, column 5: urls: given twice in one entry`` rather than PyYAML's three lines."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or problem is None:
        return _one_line(exc)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
