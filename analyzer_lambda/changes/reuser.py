"""The analyser's side of "unchanged pages cost nothing": for a page about to go to the model,
find its previous capture (``manifests``), that capture's result for the same prompt id and
model, and decide with ``reuse`` whether the previous answer stands. Also writes the chunk's
own manifest once every page of it has a result, so the next run finds it cheaply.

One ``ChunkReuse`` per analysed chunk; its pages run on several threads, so the caches (earlier
runs' indexes, previous chunks' pages) are filled under a lock. Any S3 trouble here means "no
reuse" (the model is asked, as before), never a failed page.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from analyzer_lambda.changes.history import (
    HISTORY_DEPTH,
    MAX_LOOKBACK_RUNS,
    Capture,
    capture_of,
    earlier_runs,
    page_key,
    rules_hash,
    run_index,
    seen_lines,
)
from analyzer_lambda.changes.ignored import without_selectors
from analyzer_lambda.changes.manifests import ManifestStore, captures_of_chunk
from analyzer_lambda.changes.reuse import (
    PageCapture,
    can_reuse,
    compare,
    reusable_result,
    reused_result_fields,
)
from analyzer_lambda.changes.rules import ChangeRulesError, RuleSet, parse_rule_set
from analyzer_lambda.chunks import BadLine, read_pages
from analyzer_lambda.exceptions import CorruptChunkError, StoreError
from rivalscope_core.change_rules import rules_location
from rivalscope_core.keys import ChunkRef, analysis_key, parse_s3_uri

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from mypy_boto3_s3 import S3Client

    from analyzer_lambda.changes.rules import ChangeRules
    from analyzer_lambda.prompts.parser import Prompt
    from rivalscope_core.records import PageRecord

    #: An analyser's own reuse test: (previous page, current page, ignore_selectors) -> same
    SameInput = Callable[[PageRecord, PageRecord, Sequence[str]], bool]

logger = logging.getLogger(__name__)

SCREENSHOT_ASPECT = 2.0  # the analyser shows the model the top, this many widths tall
MAX_CACHED_CHUNKS = 6  # chunks whose pages stay in memory (re-read from S3 past that)


def load_rule_set(ref: str | None, s3: S3Client, bucket: str | None) -> RuleSet:
    """``CHANGE_RULES``: a file, an ``s3://`` URI, or NAME for ``s3://BUCKET/config/NAME.yaml``;
    None or empty: no rules beyond the default noise. ``ChangeRulesError`` names the variable."""
    if not ref:
        return RuleSet()
    where = rules_location(ref, bucket, is_file=lambda path: Path(path).is_file())
    if not where.startswith("s3://"):
        return parse_rule_set(Path(where).read_text("utf-8"), f"CHANGE_RULES ({ref})")
    target = parse_s3_uri(where)
    try:
        body = s3.get_object(Bucket=target.bucket, Key=target.key)["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        raise ChangeRulesError(f"CHANGE_RULES: cannot read {target}: {exc}") from exc
    return parse_rule_set(body.decode("utf-8"), f"CHANGE_RULES ({target})")


class Reuser:
    """Built once per process: the S3 client, the noise rules and the text reducer.
    ``same_input``: the analyser's own test of "its input did not change" (previous page,
    current page, the page's ``ignore_selectors``) where that input is not the reduced text and
    screenshot top Gemini reads (the offline analyser reads the whole HTML); None: Gemini's."""

    def __init__(
        self,
        s3: S3Client,
        rule_set: RuleSet,
        text_of: Callable[[PageRecord], str],
        same_input: SameInput | None = None,
    ) -> None:
        self.s3 = s3
        self.rule_set = rule_set
        self.rules_hash = rules_hash(rule_set.signature)
        self.text_of = text_of
        self.same_input = same_input

    def rules_for(self, page: PageRecord) -> ChangeRules:
        """CHANGE_RULES for the page's site merged with its competitor's ``change_rules`` (from
        the watch list, carried on the page record)."""
        return self.rule_set.for_page(page.url, page.change_rules)

    def text(self, page: PageRecord) -> str:
        """The reduced text the comparison reads: the model's, without the elements of the
        page's ``ignore_selectors``."""
        selectors = self.rules_for(page).ignore_selectors
        if selectors:
            page = dataclasses.replace(page, body=without_selectors(page.body, selectors))
        return self.text_of(page)

    def capture(self, page: PageRecord) -> PageCapture:
        """What the comparison needs of a stored page: its text, screenshot and ignored boxes."""
        return PageCapture(self.text(page), image_of(page), page.ignored_boxes)

    def for_chunk(self, chunk: ChunkRef, runs: list[str] | None = None) -> ChunkReuse:
        """``runs``: look for previous captures only there (the report's ``--against``)."""
        return ChunkReuse(self, chunk, runs)


class ChunkReuse:
    def __init__(self, reuser: Reuser, chunk: ChunkRef, runs: list[str] | None = None) -> None:
        self.reuser = reuser
        self.chunk = chunk
        self.store = ManifestStore(reuser.s3, chunk.bucket, chunk.run.spider)
        self._lock = threading.Lock()
        self._diff_slot = threading.Lock()
        self._runs: list[str] | None = runs
        self._indexes: dict[str, Mapping[str, Capture]] = {}
        # chunk key -> its pages, least recently used first: a chunk of 20 pages with full-page
        # screenshots holds tens of MB, and the report walks every chunk of two runs
        self._pages: OrderedDict[str, dict[int, PageRecord]] = OrderedDict()
        self._captures: dict[int, Capture] = {}

    def note(self, line: int, page: PageRecord) -> None:
        """Remember a page of this chunk for its manifest."""
        text = None if page.error is not None else self.reuser.text(page)
        capture = capture_of(
            self.chunk.run.time, self.chunk.key, line, page.url, page.crawled_at, text,
            self.reuser.rules_for(page), self.reuser.rules_hash,
        )  # fmt: skip
        with self._lock:
            self._captures[line] = capture

    def finish(self) -> None:
        """Write this chunk's manifest (call once every page has a result)."""
        try:
            self.store.write(self.chunk, self.reuser.rules_hash, self._captures.values())
        except StoreError as exc:
            logger.warning(
                "%s: manifest not written (rebuilt when needed): %s", self.chunk.uri, exc
            )

    def reused_fields(
        self, line: int, page: PageRecord, prompt: Prompt, model: str
    ) -> dict[str, Any] | None:
        """The result fields that reuse the previous capture's answer, or None: ask the model."""
        try:
            return self._decide(line, page, prompt, model)
        except (StoreError, CorruptChunkError, ClientError, BotoCoreError, ValueError, KeyError,
                TypeError) as exc:  # fmt: skip
            logger.info("%s line %d: no reuse: %s", self.chunk.uri, line, exc)
            return None

    def _decide(
        self, line: int, page: PageRecord, prompt: Prompt, model: str
    ) -> dict[str, Any] | None:
        history = self.history(page_key(page.url))
        if not history:
            return None
        previous = history[0]
        previous_chunk = ChunkRef(self.chunk.bucket, previous.chunk)
        stored = self.stored_json(
            analysis_key(previous_chunk, previous.line, prompt.prompt_id, model)
        )
        if stored is None or not reusable_result(stored, prompt.prompt_id, model):
            return None
        old_page = self.page(previous_chunk, previous.line)
        if old_page is None:
            return None
        rules = self.reuser.rules_for(page)
        if self.reuser.same_input is not None:
            if not self.reuser.same_input(old_page, page, rules.ignore_selectors):
                return None
            logger.info(
                "%s line %d: the analyser's input is unchanged since %s line %d: answer reused",
                self.chunk.uri, line, previous_chunk.uri, previous.line,
            )  # fmt: skip
            return reused_result_fields(stored)
        current, before = self.reuser.capture(page), self.reuser.capture(old_page)
        # one diff at a time: a 1280 x 15,000 px pair takes ~110 MB (bench/RESULTS.md), and
        # the pages in flight must not multiply that inside a 1 GB Lambda
        with self._diff_slot:
            comparison = compare(
                before, current, rules, seen_lines(history),
                with_screenshots=prompt.include_screenshot,
            )  # fmt: skip
        width = page.screenshot.width if page.screenshot else 0
        if not can_reuse(
            comparison,
            include_screenshot=prompt.include_screenshot,
            screenshot_top=int(width * SCREENSHOT_ASPECT) or None,
        ):
            return None
        logger.info("%s line %d: unchanged since %s line %d: answer reused", self.chunk.uri,
                    line, previous_chunk.uri, previous.line)  # fmt: skip
        return reused_result_fields(stored)

    def history(self, url: str) -> list[Capture]:
        """The page's error-free captures in earlier runs, newest first."""
        with self._lock:
            if self._runs is None:
                self._runs = earlier_runs(self.store.runs(), self.chunk.run.time)
            found: list[Capture] = []
            for run in self._runs[:MAX_LOOKBACK_RUNS]:
                if run not in self._indexes:
                    captures = self.store.captures(run, self._rebuild, self.reuser.rules_hash)
                    self._indexes[run] = run_index(captures)
                capture = self._indexes[run].get(url)
                if capture is not None and not capture.error:
                    found.append(capture)
                    if len(found) >= HISTORY_DEPTH:
                        break
            return found

    def previous_run(self) -> Mapping[str, Capture]:
        """The index of the latest earlier run (every capture, failed ones too), or {}."""
        with self._lock:
            if self._runs is None:
                self._runs = earlier_runs(self.store.runs(), self.chunk.run.time)
            if not self._runs:
                return {}
            run = self._runs[0]
            if run not in self._indexes:
                captures = self.store.captures(run, self._rebuild, self.reuser.rules_hash)
                self._indexes[run] = run_index(captures)
            return self._indexes[run]

    def _rebuild(self, chunk: ChunkRef) -> list[Capture]:
        pages = self._read(chunk)
        return captures_of_chunk(
            chunk, pages.items(), self.reuser.text, self.reuser.rules_for, self.reuser.rules_hash
        )

    def page_records(self, chunk: ChunkRef | None = None) -> dict[int, PageRecord]:
        """The page records of this chunk (or of another chunk of its run) by line."""
        return self._cached(chunk or self.chunk)

    def _cached(self, chunk: ChunkRef) -> dict[int, PageRecord]:
        with self._lock:
            if chunk.key in self._pages:
                self._pages.move_to_end(chunk.key)
            else:
                self._pages[chunk.key] = self._read(chunk)
                while len(self._pages) > MAX_CACHED_CHUNKS:
                    self._pages.popitem(last=False)
            return self._pages[chunk.key]

    def forget(self, chunk: ChunkRef) -> None:
        """Drop a chunk's cached pages (the report, once it has compared them)."""
        with self._lock:
            self._pages.pop(chunk.key, None)

    def page(self, chunk: ChunkRef, line: int) -> PageRecord | None:
        """A stored page record (its chunk read once)."""
        return self._cached(chunk).get(line)

    def _read(self, chunk: ChunkRef) -> dict[int, PageRecord]:
        try:
            body = self.reuser.s3.get_object(Bucket=chunk.bucket, Key=chunk.key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"cannot read {chunk.uri}: {exc}") from exc
        pages = read_pages(io.BytesIO(body), key=chunk.key)
        return {line: page for line, page in pages if not isinstance(page, BadLine)}

    def stored_json(self, key: str) -> dict[str, Any] | None:
        """A JSON object stored in the chunk's bucket, or None when there is none."""
        try:
            body = self.reuser.s3.get_object(Bucket=self.chunk.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in {"NoSuchKey", "404"}:
                return None
            raise
        data = json.loads(body)
        return data if isinstance(data, dict) else None


def image_of(page: PageRecord) -> bytes | None:
    """The decoded screenshot of a page record, or None."""
    if page.screenshot is None or not page.screenshot.data:
        return None
    return base64.b64decode(page.screenshot.data)
