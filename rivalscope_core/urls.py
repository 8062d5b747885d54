"""Parsing and checking the URL lists users give (``-a urls=``, ``urls_file``, ``URLS=``)."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_SEPARATORS = re.compile(r"[\s,]+")


class BadUrlError(ValueError):
    """A URL the crawl cannot take; the message names the URL and why."""


def normalize_url(raw: str) -> str:
    """Check one user-given URL and return it in a canonical form (lower-case scheme and host,
    ``/`` for an empty path). Raises BadUrlError with a message a user can act on."""
    url = raw.strip()
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise BadUrlError(f"malformed URL {raw!r}: {exc}") from exc
    if parts.scheme.lower() not in {"http", "https"}:
        raise BadUrlError(
            f"unsupported URL {raw!r}: only http:// and https:// can be crawled"
            if parts.scheme
            else f"malformed URL {raw!r}: it needs a scheme, e.g. https://{url}"
        )
    host = parts.hostname
    if not host or " " in url or (port is not None and not 0 < port < 65536):
        raise BadUrlError(f"malformed URL {raw!r}: no valid host")
    netloc = host if port is None else f"{host}:{port}"
    if ":" in host:  # IPv6 literal
        netloc = f"[{host}]" if port is None else f"[{host}]:{port}"
    if parts.username or parts.password:
        raise BadUrlError(f"URL {raw!r} carries credentials; remove them")
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def split_url_list(text: str) -> list[str]:
    """Comma- or whitespace-separated URLs; in files, ``#`` starts a comment."""
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    return [token for line in lines for token in _SEPARATORS.split(line) if token]


def parse_url_list(text: str) -> list[str]:
    """Parse, check and de-duplicate (keeping order). An empty list is an error."""
    urls = list(dict.fromkeys(normalize_url(token) for token in split_url_list(text)))
    if not urls:
        raise BadUrlError("no URL given: pass -a urls='https://…' or -a urls_file=PATH_OR_S3_URI")
    return urls


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (0-based I) → ``(I, N)``; a ValueError names the problem."""
    index_text, sep, count_text = text.partition("/")
    try:
        index, count = int(index_text), int(count_text)
    except ValueError:
        index, count = -1, 0
    if not sep or count < 1 or not 0 <= index < count:
        raise ValueError(f"bad shard {text!r}: use I/N with 0 <= I < N, e.g. 0/4")
    return index, count


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def balance_units(weights: Mapping[str, int], count: int) -> dict[str, int]:
    """Each unit's shard (0..count-1), filling the least-loaded shard with the heaviest unit
    first (longest-processing-time scheduling), so that shards finish together: a hash of the
    site name put 10, 20 and 30 pages into the three shards of six equal sites, and a run
    waits for its slowest shard. Ties go by a stable hash of the name (not ``hash()``), so every
    task of a run, given the same list in any order, computes the same split."""
    load = [0] * count
    shards: dict[str, int] = {}
    for unit in sorted(weights, key=lambda name: (-weights[name], _stable(name))):
        target = min(range(count), key=lambda index: (load[index], index))
        shards[unit] = target
        load[target] += weights[unit]
    return shards


def _stable(name: str) -> bytes:
    return hashlib.sha256(name.encode("utf-8")).digest()


def select_shard(
    urls: list[str],
    index: int,
    count: int,
    site_of: Callable[[str], str] = _host,
    competitor_of: Callable[[str], str | None] | None = None,
) -> list[str]:
    """The URLs shard ``index`` of ``count`` crawls, in their given order.

    URLs are split by site, not one by one: every URL of a site goes to the same task, so N
    tasks crawl each URL exactly once *and* no site is fetched by two tasks at the same time,
    which would defeat the per-site delay. The crawler passes its registrable-domain function.
    With ``competitor_of`` (a watch list), all sites of one competitor — and, transitively, of
    competitors sharing a site — are one unit too, so no competitor is crawled by two tasks."""
    units = _shard_units(urls, site_of, competitor_of)
    shards = balance_units(Counter(units[url] for url in set(urls)), count)
    return [url for url in urls if shards[units[url]] == index]


def count_shard_units(
    urls: list[str],
    site_of: Callable[[str], str] = _host,
    competitor_of: Callable[[str], str | None] | None = None,
) -> int:
    """How many units ``select_shard`` splits ``urls`` into: more shards than that would
    leave some empty (the shard planner's bound)."""
    return len(set(_shard_units(urls, site_of, competitor_of).values()))


def _shard_units(
    urls: list[str],
    site_of: Callable[[str], str],
    competitor_of: Callable[[str], str | None] | None,
) -> dict[str, str]:
    """Each URL's unit, named by its smallest site: sites joined by a competitor (union-find).
    A site alone keeps its own name, so a plain URL list shards exactly as before."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def join(a: str, b: str) -> None:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)

    sites = {url: site_of(url) for url in urls}
    for url, site in sites.items():
        find(site)
        name = competitor_of(url) if competitor_of is not None else None
        if name is not None:
            # a competitor node ("\0" cannot occur in a site name) only joins; the unit is named
            # by its smallest *site* below
            join(site, f"\0{name}")
    smallest: dict[str, str] = {}
    for site in sites.values():
        root = find(site)
        smallest[root] = min(smallest.get(root, site), site)
    return {url: smallest[find(site)] for url, site in sites.items()}
