"""The ``competitors`` spider's ``-a`` arguments, checked before anything starts.

``CrawlArguments.parse`` is pure (strings in, a frozen value or a ``BadArgumentError`` out);
``load_url_text`` does the I/O of ``urls_file`` and ``watchlist`` (a local path, or ``s3://``
through boto3, which honours ``AWS_ENDPOINT_URL``). The ``crawl`` command calls both before the
crawl starts (``crawler.spiders.targets``), so a bad argument exits 2 with a message naming what
to fix, before any browser is launched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.spiders.sites import site_of
from rivalscope_core.keys import parse_s3_uri
from rivalscope_core.s3 import make_s3_client
from rivalscope_core.urls import BadUrlError, parse_shard, parse_url_list, select_shard

if TYPE_CHECKING:
    from collections.abc import Mapping

KNOWN = ("urls", "urls_file", "watchlist", "max_pages", "prompt", "shard", "render")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class BadArgumentError(ValueError):
    """A spider argument the crawl cannot take; the message says which and how to fix it."""


@dataclass(frozen=True)
class CrawlArguments:
    urls: str | None
    urls_file: str | None
    watchlist: str | None
    max_pages: int
    prompt: str | None
    shard: tuple[int, int]
    render: bool | None

    @classmethod
    def parse(cls, kwargs: Mapping[str, Any]) -> CrawlArguments:
        unknown = sorted(k for k in kwargs if k not in KNOWN and not k.startswith("_"))
        if unknown:
            raise BadArgumentError(
                f"unknown spider argument(s) {', '.join(unknown)}: use {', '.join(KNOWN)}"
            )
        urls = None if kwargs.get("urls") is None else str(kwargs["urls"])
        urls_file = _optional(kwargs, "urls_file")
        watchlist = _optional(kwargs, "watchlist")
        if urls is None and urls_file is None and watchlist is None:
            raise BadArgumentError(
                "no URL given: pass -a watchlist=PATH_OR_S3_URI (a YAML watch list), "
                "-a urls='https://a.example,https://b.example' or -a urls_file=PATH_OR_S3_URI"
            )
        try:
            max_pages = int(str(kwargs.get("max_pages", 1)))
        except ValueError:
            max_pages = 0
        if max_pages < 1:
            raise BadArgumentError(
                f"bad max_pages {kwargs.get('max_pages')!r}: a whole number >= 1 (pages per site)"
            )
        try:
            shard = parse_shard(str(kwargs.get("shard", "0/1")))
        except ValueError as exc:
            raise BadArgumentError(str(exc)) from exc
        if urls is not None and (watchlist is None or urls.strip()):
            check_url_text(urls, "urls")
        return cls(
            urls=urls,
            urls_file=urls_file,
            watchlist=watchlist,
            max_pages=max_pages,
            prompt=_optional(kwargs, "prompt"),
            shard=shard,
            render=_boolean(kwargs, "render"),
        )

    def start_urls(self, file_text: str | None) -> list[str]:
        """The URLs this task crawls: the given ones (de-duplicated), then this task's shard."""
        return select_shard(self.given_urls(file_text), *self.shard, site_of=site_of)

    def given_urls(self, file_text: str | None) -> list[str]:
        """The URLs of ``urls`` and ``urls_file`` (de-duplicated); none beside a watch list is
        fine, none at all is an error."""
        text = "\n".join(t for t in (self.urls, file_text) if t is not None)
        if self.watchlist is not None and not text.strip():
            return []
        return check_url_text(text, "urls" if self.urls_file is None else "urls_file")


def check_url_text(text: str, argument: str) -> list[str]:
    try:
        return parse_url_list(text)
    except BadUrlError as exc:
        raise BadArgumentError(f"{argument}: {exc}") from exc


def load_url_text(source: str, s3_client: Any = None, argument: str = "urls_file") -> str:
    """The text of ``urls_file`` (or ``watchlist``): a local path or an ``s3://`` URI.
    Blocking: call it from a thread (or before the reactor runs)."""
    try:
        if source.startswith("s3://"):
            ref = parse_s3_uri(source)
            client = s3_client or make_s3_client()
            body = client.get_object(Bucket=ref.bucket, Key=ref.key)["Body"].read()
            return bytes(body).decode("utf-8")
        return Path(source).read_text(encoding="utf-8")
    except Exception as exc:  # any reason the list cannot be read is the user's to fix
        raise BadArgumentError(
            f"cannot read {argument} {source!r}: {type(exc).__name__}: {exc}"
        ) from exc


def _optional(kwargs: Mapping[str, Any], name: str) -> str | None:
    value = kwargs.get(name)
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        raise BadArgumentError(f"{name} is empty")
    return text


def _boolean(kwargs: Mapping[str, Any], name: str) -> bool | None:
    value = kwargs.get(name)
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadArgumentError(f"bad {name} {value!r}: use true or false")
