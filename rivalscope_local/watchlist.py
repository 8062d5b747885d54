"""The watch list of ``make run`` (``WATCHLIST=file``, default ``demo/watchlist.yaml``): checked
before anything starts, then handed to the crawl with the demo sites' loopback addresses put in.

Checked here with the crawler's own parser, so a bad file is exit 2 before the endpoint, the
demo sites or any browser start; a prompt given as a NAME or ``s3://`` URI lives in the local
endpoint, which is not up yet, so the crawl checks those (and still exits 2 before its
browsers start). A ``http://NAME.demo/`` URL stands for the folder ``demo/site/NAME``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from crawler.spiders.targets import check_css_selector, local_prompt
from rivalscope_core.watchlist import WatchList, WatchListError, parse_watchlist

if TYPE_CHECKING:
    from pathlib import Path

    from rivalscope_local.demo import DemoSites

DEMO_SUFFIX = ".demo"


def load_watchlist(path: Path) -> WatchList:
    """Parse and check ``path``; local prompt files become absolute paths (relative ones are
    relative to the watch list's folder, then to the working directory). Raises
    ``WatchListError`` (exit 2) naming the entry and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WatchListError(f"watchlist {path}: cannot read it: {exc}") from exc
    watchlist = parse_watchlist(text, str(path), check_selector=check_css_selector)
    competitors = []
    for index, competitor in enumerate(watchlist.competitors):
        prompt = competitor.prompt
        if prompt is not None and not prompt.startswith("s3://"):
            local = local_prompt(prompt, path.parent)
            if local is not None:
                prompt = str(local)
            elif prompt.endswith(".md") or "/" in prompt:  # not a NAME: a file that is not there
                raise WatchListError(
                    f'watchlist {path}: competitors[{index}] "{competitor.name}": prompt: '
                    f"{competitor.prompt!r} does not resolve: no such file in "
                    f"{path.parent}/ or the working directory"
                )
        competitors.append(dataclasses.replace(competitor, prompt=prompt))
    return WatchList(watchlist.source, tuple(competitors), watchlist.unnamed_urls)


def uses_demo(watchlist: WatchList) -> bool:
    return any(_demo_site(url) is not None for url in watchlist.urls)


def localize(watchlist: WatchList, demo: DemoSites) -> WatchList:
    """The list with every ``http://NAME.demo/...`` URL pointed at the served demo site."""

    def served(url: str, where: str) -> str:
        name = _demo_site(url)
        if name is None:
            return url
        base = demo.base_url(name)
        if base is None:
            raise WatchListError(f"{where}: urls: {url}: there is no demo site {name!r}")
        parts = urlsplit(url)
        return urlunsplit(urlsplit(base)[:2] + parts[2:])

    competitors = []
    for index, c in enumerate(watchlist.competitors):
        where = f'watchlist {watchlist.source}: competitors[{index}] "{c.name}"'
        urls = tuple(served(url, where) for url in c.urls)
        competitors.append(dataclasses.replace(c, urls=urls))
    unnamed = tuple(served(url, f"watchlist {watchlist.source}") for url in watchlist.unnamed_urls)
    return WatchList(watchlist.source, tuple(competitors), unnamed)


def _demo_site(url: str) -> str | None:
    host = urlsplit(url).hostname or ""
    return host.removesuffix(DEMO_SUFFIX) if host.endswith(DEMO_SUFFIX) else None
