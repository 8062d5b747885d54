"""Page records to S3 as gzipped JSON-lines chunks, without losing any (SPEC.md "Stored layout").

A thin subclass of ``s3pipeline.S3Pipeline`` 0.7.0 that keeps its key template
(``S3PIPELINE_URL``: ``{chunk}`` is the offset of the chunk's first item, ``{time}`` looks like
``2026-11-23T22-19-03``), chunk size and exporter, and replaces how chunks are built, sealed and
uploaded, because of the flaws measured in s3pipeline 0.7.0 on Scrapy 2.19:

- the base class buffered a chunk's items and serialised them all at once (raw JSON, a copy of
  it, then the gzip output: ~100 MB of transient memory per 20-page chunk of screenshots): here
  each item is serialised and compressed in a thread as it arrives, as a gzip member of its own
  (a gzip file may hold several members; every gzip reader joins them), so only compressed bytes
  wait for the upload. The compressor is ISA-L's (``isal.igzip``, standard gzip output): on the
  benchmark's pages, base64 JPEG screenshots, its level 2 took 5 ms a page where zlib took 49
  (level 1) to 62 (level 6), and made slightly smaller chunks than zlib's level 6 (a stored
  20-page chunk of ``python -m bench.crawl --only rivalscope``; bench/RESULTS.md);
- the compressed members are not kept in memory either: each is appended to an unnamed
  temporary file (``tempfile.TemporaryFile``, in ``TMPDIR``; gone with the process) that becomes
  the chunk's body, streamed from the file to S3 or to the spill directory. A 20-page chunk is
  ~22 MB; held in memory, joined at sealing and held again while uploading, it made up a third
  of the python process's peak PSS (bench/RESULTS.md, "Screenshot copies in the crawler
  process"), and while S3 is down the pending chunks stay on disk, not in memory;
- uploads ran synchronously in ``process_item``, stalling the reactor (1.12 s for 1 s of upload
  latency): here encoding and upload run in a thread (``deferToThread``), awaited through
  ``maybe_deferred_to_future``;
- a ``threading.Timer`` flushed the buffer while ``process_item`` appended to it (in one run 7
  items sent and 3 stored, in another one key uploaded twice): here the time-based flush is a
  reactor timer, and a chunk is sealed (items taken, key fixed) in one synchronous step on the
  reactor thread;
- a failed upload emptied the buffer anyway and only ``ClientError`` was caught: here a sealed
  chunk stays pending until S3 confirms it, uploads are retried with exponential backoff on any
  ``ClientError`` or ``BotoCoreError`` (refused endpoint, timeouts), and a chunk still not
  stored at close is spilled to ``S3PIPELINE_SPILL_DIR`` (same bytes, the intended key in the
  file name), logged, and counted so the crawl exits non-zero.

Each chunk has one key, fixed when sealed, and is written with ``IfNoneMatch="*"``: a retry
after a lost response finds its own chunk there and counts it as stored, and a key already
holding other data (another task started in the same second) is never overwritten.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from io import BufferedRandom, BytesIO
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError
from isal import igzip
from s3pipeline import S3Pipeline
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy.utils.misc import load_object
from twisted.internet.defer import DeferredLock
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread

from crawler.stop import GracefulStop
from rivalscope_core.keys import new_run_id, with_shard
from rivalscope_core.s3 import make_s3_client

if TYPE_CHECKING:
    from typing import Self

    from mypy_boto3_s3 import S3Client
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.utils.asyncio import CallLaterResult

logger = logging.getLogger(__name__)

STAT_PREFIX = "s3pipeline"
_PRECONDITION_FAILED = {"PreconditionFailed", "412"}


def _base_init_without_client(pipeline: S3Pipeline, settings: BaseSettings, stats: Any) -> None:
    """What ``S3Pipeline.__init__`` (0.7.0) sets, but its S3 strategy: the base class builds a
    boto3 client (in the default session) that ``ReliableS3Pipeline`` never uses, since it
    uploads with its own client, and that client cost every crawl process 0.2–0.7 CPU s
    (bench/RESULTS.md, issue #13). tests/unit/crawler/test_pipeline_startup.py checks these
    attributes against the base class's own."""
    url = str(settings["S3PIPELINE_URL"])
    target = urlparse(url)
    pipeline.stats = stats
    pipeline.bucket_name = target.hostname
    pipeline.object_key_template = target.path[1:]
    pipeline.max_chunk_size = settings.getint("S3PIPELINE_MAX_CHUNK_SIZE", 100)
    pipeline.use_gzip = settings.getbool("S3PIPELINE_GZIP", url.endswith(".gz"))
    pipeline.max_wait_upload_time = settings.getfloat("S3PIPELINE_MAX_WAIT_UPLOAD_TIME", 30.0)
    extension = PurePosixPath(url.removesuffix(".gz")).suffix[1:].lower()
    exporters = settings.getwithbase("FEED_EXPORTERS")
    pipeline.exporter_cls = load_object(
        exporters.get(extension, "scrapy.exporters.JsonLinesItemExporter")
    )
    pipeline.strategy = None
    pipeline.items = []
    pipeline.chunk_number = 0


class ChunkKeyTakenError(Exception):
    """The chunk's key already holds different data; uploading again cannot help."""


@dataclass(frozen=True)
class UploadConfig:
    retries: int
    backoff: float
    spill_dir: Path
    max_wait: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> UploadConfig:
        if not str(settings.get("S3PIPELINE_URL") or "").startswith("s3://"):
            raise ValueError("S3PIPELINE_URL must be an s3:// URL (set PAGES_BUCKET)")
        retries = settings.getint("S3PIPELINE_UPLOAD_RETRIES")
        backoff = settings.getfloat("S3PIPELINE_RETRY_BACKOFF")
        max_wait = settings.getfloat("S3PIPELINE_MAX_WAIT_UPLOAD_TIME")
        spill_dir = str(settings.get("S3PIPELINE_SPILL_DIR") or "")
        if retries < 0:
            raise ValueError(f"S3PIPELINE_UPLOAD_RETRIES must be >= 0, got {retries}")
        if backoff < 0:
            raise ValueError(f"S3PIPELINE_RETRY_BACKOFF must be >= 0 seconds, got {backoff}")
        if max_wait <= 0:
            raise ValueError(f"S3PIPELINE_MAX_WAIT_UPLOAD_TIME must be > 0, got {max_wait}")
        if not spill_dir:
            raise ValueError("S3PIPELINE_SPILL_DIR must name a directory for unstored chunks")
        return cls(retries=retries, backoff=backoff, spill_dir=Path(spill_dir), max_wait=max_wait)


# ISA-L's compression level (0–3) of each page's gzip member; see the module docstring.
GZIP_LEVEL = 2


@dataclass
class _Chunk:
    key: str
    pages: int
    # The chunk's bytes, in an unnamed temporary file (see the module docstring).
    body: BufferedRandom = field(repr=False)
    prompts: tuple[str | None, ...] = ()  # each page's prompt reference, in line order

    def close(self) -> None:
        """Frees the chunk's file; called once it is stored or spilled."""
        self.body.close()


class ReliableS3Pipeline(S3Pipeline):  # type: ignore[misc] # s3pipeline ships no type hints
    # Set by S3Pipeline.__init__ / open_spider; declared for the type checker.
    chunk_number: int
    max_chunk_size: int
    bucket_name: str
    object_key_template: str
    use_gzip: bool
    ts: str

    def __init__(self, crawler: Crawler, client: S3Client, config: UploadConfig) -> None:
        _base_init_without_client(self, crawler.settings, crawler.stats)
        self._client = client
        self._config = config
        self._pending: deque[_Chunk] = deque()
        # The chunk being filled: its pages' encoded (gzip member) bytes, one after the other.
        self._body: BufferedRandom | None = None
        self._pages = 0
        self._prompts: list[str | None] = []  # the members' prompt references
        self._upload_lock = DeferredLock()
        self._timer: CallLaterResult | None = None
        self._crawler = crawler
        # Keys of the chunks S3 confirmed, in order: the shard marker lists them.
        self.stored_keys: list[str] = []
        # Each stored chunk's pages' prompt references, in line order (the marker's
        # ``page_prompts``: a watch list gives competitors prompts of their own).
        self.stored_prompts: dict[str, tuple[str | None, ...]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = UploadConfig.from_settings(crawler.settings)
        # its own retries are off so that ours, which keep the chunk, are the only ones
        client = make_s3_client(own_retries=True)
        return cls(crawler, client, config)

    @property
    def run_dir(self) -> str:
        """The key prefix of this crawl's chunks (``raw/{name}/{time}``): its marker goes there."""
        params = {**self._get_uri_params(), "chunk": 0}
        return str(self.object_key_template.format(**params)).rsplit("/", 1)[0]

    # --- Scrapy 2.19 pipeline API (no ``spider`` argument) ------------------------------------

    def open_spider(self) -> None:
        self._spider = self._crawler.spider
        # ``{time}`` is the run (``-a run=``, shared by every shard of it), else this crawl's
        # own start, as scrapy-s3pipeline gives it.
        self.ts = str(getattr(self._spider, "run_id", "") or new_run_id())
        self._timer = None

    async def process_item(self, item: Any) -> Any:
        member = await maybe_deferred_to_future(deferToThread(self._encode_item, item))
        # Back on the reactor thread: appending and sealing never interleave.
        if self._body is None:
            self._body = tempfile.TemporaryFile()  # noqa: SIM115 - closed once stored or spilled
        self._body.write(member)
        del member
        self._pages += 1
        self._prompts.append(_prompt_of(item))
        if self._pages == 1:
            self._timer = call_later(self._config.max_wait, self._flush_on_timer)
        if self._pages >= self.max_chunk_size:
            self._seal()
            await self._upload_pending()
        return item

    async def close_spider(self) -> None:
        self._seal()
        await self._upload_pending()
        while self._pending:
            chunk = self._pending.popleft()
            try:
                path = await maybe_deferred_to_future(deferToThread(self._spill, chunk))
            finally:
                chunk.close()
            self.stats.inc_value(f"{STAT_PREFIX}/chunks_spilled")
            self.stats.inc_value(f"{STAT_PREFIX}/items_spilled", chunk.pages)
            logger.error(
                "Could not store %d page(s) in s3://%s/%s; kept them in %s "
                "(upload that file to that key once S3 is reachable)",
                chunk.pages,
                self.bucket_name,
                chunk.key,
                path,
            )

    # --- sealing and uploading ----------------------------------------------------------------

    def _seal(self) -> None:
        """Take the buffer as one chunk with its final key and bytes. Runs on the reactor thread
        only, so no item can slip in between reading and clearing the buffer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._body is None:
            return
        key = self.object_key_template.format(**self._get_uri_params())
        key = with_shard(key, str(getattr(self._spider, "shard_label", "")))
        pages, body, prompts = self._pages, self._body, tuple(self._prompts)
        body.flush()
        self._pending.append(_Chunk(key=key, pages=pages, body=body, prompts=prompts))
        self.chunk_number += pages
        self._body, self._pages, self._prompts = None, 0, []

    def _flush_on_timer(self) -> None:
        self._timer = None
        self._seal()
        deferred_from_coro(self._upload_pending()).addErrback(
            lambda failure: logger.error("Timed chunk flush failed: %s", failure.value)
        )

    async def _upload_pending(self) -> None:
        """Upload pending chunks in order; a chunk leaves the queue only once stored."""
        await maybe_deferred_to_future(self._upload_lock.acquire())
        try:
            while self._pending:
                if not await self._upload_with_retries(self._pending[0]):
                    return
                self._pending.popleft().close()
        finally:
            self._upload_lock.release()

    async def _upload_with_retries(self, chunk: _Chunk) -> bool:
        for attempt in range(self._config.retries + 1):
            try:
                await maybe_deferred_to_future(deferToThread(self._put, chunk))
            except ChunkKeyTakenError as exc:
                logger.error("Not overwriting s3://%s/%s: %s", self.bucket_name, chunk.key, exc)
                return False
            except (ClientError, BotoCoreError) as exc:
                self.stats.inc_value(f"{STAT_PREFIX}/upload_errors")
                delay = self._config.backoff * 2**attempt
                logger.warning(
                    "Upload of s3://%s/%s failed (attempt %d of %d): %s",
                    self.bucket_name,
                    chunk.key,
                    attempt + 1,
                    self._config.retries + 1,
                    exc,
                )
                if attempt == self._config.retries or not self._may_retry_after(delay):
                    return False
                from twisted.internet import reactor  # the installed one, never a default

                await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))
            else:
                self.stored_keys.append(chunk.key)
                self.stored_prompts[chunk.key] = chunk.prompts
                self.stats.inc_value(f"{STAT_PREFIX}/chunks_stored")
                self.stats.inc_value(f"{STAT_PREFIX}/items_stored", chunk.pages)
                logger.info(
                    "Stored %d page(s) in s3://%s/%s",
                    chunk.pages,
                    self.bucket_name,
                    chunk.key,
                )
                return True
        return False

    def _may_retry_after(self, delay: float) -> bool:
        """False once a graceful stop's upload budget would be exceeded: the chunk is then
        spilled rather than holding the container past its stop timeout."""
        stop = self._crawler.get_downloader_middleware(GracefulStop)
        deadline = getattr(stop, "upload_deadline", None)
        if deadline is not None and time.monotonic() + delay > deadline:
            logger.warning("Stopping: no more upload retries for s3://%s", self.bucket_name)
            return False
        return True

    # --- blocking work, in threads ------------------------------------------------------------

    def _encode_item(self, item: Any) -> bytes:
        """One JSON line (the configured exporter's), compressed as a gzip member of its own;
        ``mtime=0`` so that the same page always encodes to the same bytes."""
        raw = BytesIO()
        exporter = self.exporter_cls(raw, encoding="utf-8")
        exporter.start_exporting()
        exporter.export_item(item)
        exporter.finish_exporting()
        line = raw.getvalue()
        return igzip.compress(line, compresslevel=GZIP_LEVEL, mtime=0) if self.use_gzip else line

    def _put(self, chunk: _Chunk) -> None:
        """Streams the chunk's file to S3 (botocore reads it in blocks for its checksum, its
        signature and the request, and rewinds it in between)."""
        body = chunk.body
        body.seek(0)
        try:
            self._client.put_object(
                Bucket=self.bucket_name, Key=chunk.key, Body=body, IfNoneMatch="*"
            )
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in _PRECONDITION_FAILED:
                raise
            # The key exists: ours from an attempt whose answer was lost, or someone else's.
            etag = self._client.head_object(Bucket=self.bucket_name, Key=chunk.key)["ETag"]
            if etag.strip('"') != _md5_of(body):
                raise ChunkKeyTakenError("the key holds a different object") from exc

    def _spill(self, chunk: _Chunk) -> Path:
        """Copy the chunk's bytes to the spill directory, its key in the file name."""
        self._config.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self._config.spill_dir / f"{self.bucket_name}__{chunk.key.replace('/', '__')}"
        chunk.body.seek(0)
        with path.open("wb") as spilled:
            shutil.copyfileobj(chunk.body, spilled)
        return path.resolve()


def _md5_of(body: BufferedRandom) -> str:
    """The hex MD5 of a file's bytes (S3's ETag of a single-part object)."""
    body.seek(0)
    return hashlib.file_digest(body, partial(hashlib.md5, usedforsecurity=False)).hexdigest()


def _prompt_of(item: Any) -> str | None:
    prompt = item.get("prompt") if hasattr(item, "get") else None
    return None if prompt is None else str(prompt)
