"""The S3 side of ``history``: list runs and chunks, read and write chunk manifests, and walk
back to a page's previous captures. The client is passed in (never built here);
``ClientError``/``BotoCoreError`` become ``StoreError``.

Requests for one lookup: one LIST of the spider's runs (1,000 a page), then per earlier run
read: one LIST of its chunks (``Delimiter='/'`` keeps ``_manifest/`` and ``_done/`` out), one
LIST of its manifests and one GET per manifest. The walk stops at the first run that holds every
page (``history.find_history``), so the count does not grow with the archive
(``python -m bench.changes --lookup``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from analyzer_lambda.changes.history import (
    HISTORY_DEPTH,
    MANIFEST_SUFFIX,
    Capture,
    capture_of,
    chunks_without_manifest,
    decode_manifest,
    earlier_runs,
    encode_manifest,
    find_history,
    lazy_indexes,
    manifest_key,
    manifest_prefix,
)
from analyzer_lambda.chunks import BadLine
from analyzer_lambda.exceptions import StoreError
from rivalscope_core.keys import RAW_PREFIX, ChunkRef, RunRef, is_raw_chunk_key

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from mypy_boto3_s3 import S3Client

    from analyzer_lambda.changes.rules import ChangeRules
    from rivalscope_core.records import PageRecord


def captures_of_chunk(
    chunk: ChunkRef,
    pages: Iterable[tuple[int, PageRecord | BadLine]],
    text_of: Callable[[PageRecord], str],
    rules_of: Callable[[PageRecord], ChangeRules],
    rules_id: str,
) -> list[Capture]:
    """A chunk's manifest entries from its pages (``chunks.read_pages``); ``text_of`` is the
    text the comparison reads (``Reuser.text``), ``rules_of`` a page's noise rules and
    ``rules_id`` the hash of the rule set they come from. A page with ``error`` (a bot wall's
    ``blocked_by_site`` included) is a failed capture, never a previous one; a line that is no
    page record has no URL to remember and is left out."""
    captures = []
    for line, page in pages:
        if isinstance(page, BadLine):
            continue
        text = None if page.error is not None else text_of(page)
        rules = rules_of(page)
        captures.append(
            capture_of(chunk.run.time, chunk.key, line, page.url, page.crawled_at, text, rules,
                       rules_id)
        )  # fmt: skip
    return captures


class ManifestStore:
    """Manifests of one bucket and spider."""

    def __init__(self, s3: S3Client, bucket: str, spider: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._spider = spider

    def runs(self) -> list[str]:
        prefix = f"{RAW_PREFIX}{self._spider}/"
        return [p.removeprefix(prefix).rstrip("/") for p in self._prefixes(prefix)]

    def chunk_keys(self, run: str) -> list[str]:
        prefix = RunRef(self._bucket, self._spider, run).raw_prefix
        return [key for key in self._keys(prefix, delimiter="/") if is_raw_chunk_key(key)]

    def manifest_keys(self, run: str) -> list[str]:
        prefix = manifest_prefix(RunRef(self._bucket, self._spider, run))
        return [key for key in self._keys(prefix) if key.endswith(MANIFEST_SUFFIX)]

    def write(self, chunk: ChunkRef, rules: str, captures: Iterable[Capture]) -> None:
        """Idempotent: the body is a pure function of the chunk, so a repeat writes the same."""
        body = encode_manifest(chunk.run.time, chunk.key, rules, captures)
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=manifest_key(chunk),
                Body=body,
                ContentType="application/json",
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"cannot write the manifest of {chunk.uri}: {exc}") from exc

    def read(self, key: str) -> list[Capture]:
        """A manifest's captures; ``ValueError`` when it is damaged or of another version."""
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"cannot read s3://{self._bucket}/{key}: {exc}") from exc
        return decode_manifest(body)

    def captures(
        self, run: str, rebuild: Callable[[ChunkRef], list[Capture]], rules: str
    ) -> list[Capture]:
        """Every capture of ``run``. A chunk without a readable manifest (not analysed yet,
        damaged, older version) is rebuilt from the chunk by ``rebuild`` and its manifest
        written, so a lagging index never makes a page look new."""
        found: list[Capture] = []
        readable: list[str] = []
        for key in self.manifest_keys(run):
            try:
                found += self.read(key)
            except ValueError:
                continue
            readable.append(key)
        for key in chunks_without_manifest(self.chunk_keys(run), readable):
            chunk = ChunkRef(self._bucket, key)
            rebuilt = rebuild(chunk)
            self.write(chunk, rules, rebuilt)
            found += rebuilt
        return found

    def history(
        self,
        run: str,
        urls: Iterable[str],
        rebuild: Callable[[ChunkRef], list[Capture]],
        rules: str,
        depth: int = HISTORY_DEPTH,
    ) -> dict[str, list[Capture]]:
        """URL → its error-free captures in runs before ``run``, newest first (``depth`` at
        most); reads runs only as far back as needed."""
        earlier = earlier_runs(self.runs(), run)
        indexes = lazy_indexes(earlier, lambda name: self.captures(name, rebuild, rules))
        return find_history(urls, indexes, depth=depth)

    def _prefixes(self, prefix: str) -> list[str]:
        out: list[str] = []
        try:
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=prefix, Delimiter="/"
            )
            for page in pages:
                out += [p["Prefix"] for p in page.get("CommonPrefixes", []) if "Prefix" in p]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"cannot list s3://{self._bucket}/{prefix}: {exc}") from exc
        return out

    def _keys(self, prefix: str, delimiter: str = "") -> list[str]:
        out: list[str] = []
        try:
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=prefix, Delimiter=delimiter
            )
            for page in pages:
                out += [obj["Key"] for obj in page.get("Contents", []) if "Key" in obj]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"cannot list s3://{self._bucket}/{prefix}: {exc}") from exc
        return out
