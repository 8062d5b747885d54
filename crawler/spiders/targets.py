"""What a crawl visits: the watch list (``-a watchlist``) plus any ``urls``/``urls_file``, read
and checked, with each competitor's prompt resolved to the reference its page records carry.

This is the I/O edge of ``rivalscope_core.watchlist`` (which parses, purely): reading the
file (local or ``s3://``), CSS selectors checked with cssselect (the parser Scrapy's selectors
use), and prompts that must resolve before any browser starts — a local file (relative to the
watch list's folder, then to the working directory), an ``s3://`` URI, or a NAME meaning
``s3://BUCKET/prompts/NAME.md`` in the pages bucket, as the analyser reads them
(``analyzer_lambda`` prompt references). A local prompt is carried as an absolute path, so the
analyser of ``make run`` finds it whatever its working directory."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cssselect import GenericTranslator, SelectorError

from crawler.spiders.arguments import BadArgumentError, load_url_text
from crawler.spiders.sites import site_of
from rivalscope_core.keys import parse_s3_uri, prompt_key
from rivalscope_core.s3 import make_s3_client
from rivalscope_core.urls import select_shard
from rivalscope_core.watchlist import WatchList, WatchListError, parse_watchlist

if TYPE_CHECKING:
    from crawler.spiders.arguments import CrawlArguments

_PROMPT_NAME = re.compile(r"^[A-Za-z0-9._-]+$")  # as analyzer_lambda's prompt references
_TRANSLATOR = GenericTranslator()


def check_css_selector(selector: str) -> None:
    """Raise ``ValueError`` unless cssselect can turn ``selector`` into XPath."""
    try:
        _TRANSLATOR.css_to_xpath(selector)
    except SelectorError as exc:
        raise ValueError(str(exc)) from exc


def load_targets(args: CrawlArguments, bucket: str | None, s3_client: Any = None) -> WatchList:
    """Every start URL of the crawl (before sharding) with its competitor, or a
    ``BadArgumentError`` naming the argument, the entry and the field. Blocking."""
    file_text = load_url_text(args.urls_file, s3_client) if args.urls_file else None
    given = args.given_urls(file_text)
    if args.watchlist is None:
        return WatchList("-a urls", unnamed_urls=tuple(given))
    text = load_url_text(args.watchlist, s3_client, argument="watchlist")
    try:
        watchlist = parse_watchlist(text, args.watchlist, check_selector=check_css_selector)
    except WatchListError as exc:
        raise BadArgumentError(str(exc)) from exc
    watchlist = _resolve_prompts(watchlist, bucket, s3_client)
    return watchlist.with_urls(given)


def shard_urls(targets: WatchList, shard: tuple[int, int]) -> list[str]:
    """This task's start URLs: a competitor's sites stay in one shard (and every site too)."""

    def competitor_of(url: str) -> str | None:
        competitor = targets.competitor_of(url)
        return competitor.name if competitor is not None else None

    return select_shard(targets.urls, *shard, site_of=site_of, competitor_of=competitor_of)


def bucket_of(pipeline_url: str | None) -> str | None:
    """The pages bucket, from ``S3PIPELINE_URL`` (where prompts NAME are looked up)."""
    parts = urlsplit(pipeline_url or "")
    return parts.netloc or None if parts.scheme == "s3" else None


def _resolve_prompts(watchlist: WatchList, bucket: str | None, s3_client: Any) -> WatchList:
    base = None if watchlist.source.startswith("s3://") else Path(watchlist.source).parent
    client = s3_client
    resolved = []
    for index, competitor in enumerate(watchlist.competitors):
        if competitor.prompt is None:
            resolved.append(competitor)
            continue
        where = f'watchlist {watchlist.source}: competitors[{index}] "{competitor.name}": prompt'
        try:
            if client is None and _needs_s3(competitor.prompt, base):
                client = make_s3_client()
            ref = resolve_prompt(competitor.prompt, base, bucket, client)
        except _Unresolved as exc:
            raise BadArgumentError(
                f"{where}: {competitor.prompt!r} does not resolve: {exc}"
            ) from exc
        resolved.append(dataclasses.replace(competitor, prompt=ref))
    return WatchList(watchlist.source, tuple(resolved), watchlist.unnamed_urls)


class _Unresolved(Exception):
    pass


def local_prompt(ref: str, base: Path | None) -> Path | None:
    """A prompt file ``ref`` relative to ``base`` (the watch list's folder), then to the working
    directory, as an absolute path; None when there is no such file."""
    for candidate in (base / ref if base is not None else None, Path(ref)):
        if candidate is not None and candidate.is_file():
            return candidate.resolve()
    return None


def _needs_s3(ref: str, base: Path | None) -> bool:
    return ref.startswith("s3://") or local_prompt(ref, base) is None


def resolve_prompt(ref: str, base: Path | None, bucket: str | None, s3_client: Any) -> str:
    """The reference a page record carries for the prompt ``ref``; ``_Unresolved`` says why
    there is none."""
    if ref.startswith("s3://"):
        try:
            uri = parse_s3_uri(ref)
        except ValueError as exc:
            raise _Unresolved(str(exc)) from exc
        _head(s3_client, uri.bucket, uri.key)
        return ref
    local = local_prompt(ref, base)
    if local is not None:
        return str(local)
    if not _PROMPT_NAME.match(ref) or ref.endswith(".md"):
        where = f"{base}/ or the working directory" if base is not None else "here"
        raise _Unresolved(f"no such file in {where}")
    if bucket is None:
        raise _Unresolved("a prompt NAME needs the pages bucket (set PAGES_BUCKET)")
    _head(s3_client, bucket, prompt_key(ref))
    return ref


def _head(s3_client: Any, bucket: str, key: str) -> None:
    try:
        s3_client.head_object(Bucket=bucket, Key=key)
    except Exception as exc:  # missing, forbidden or unreachable: the user's to fix
        raise _Unresolved(
            f"cannot read s3://{bucket}/{key} ({type(exc).__name__}: {exc})"
        ) from exc
