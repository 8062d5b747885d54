"""All of the front door's S3 I/O: prompts, the run's request record and URL list under
``config/runs/``, and the facts ``GET /runs/{run}`` is made of (markers, results, ``run.json``,
the report's screenshots). ``ClientError``/``BotoCoreError`` become ``StoreError``
(``analyzer_lambda.store.s3_errors``).

A run id is a second (``YYYY-MM-DDTHH-MM-SS``, SPEC.md "Runs"), so two requests in the same
second would share one. ``claim_run`` writes the request record with ``IfNoneMatch='*'``: of
two concurrent requests (two Lambda instances) one gets the second, the other takes the next
free second. Results are written once and never change, so they are cached in memory."""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from analyzer_lambda.exceptions import StoreError
from analyzer_lambda.prompts.parser import parse_prompt
from analyzer_lambda.store import NOT_FOUND, put_if_absent, s3_errors
from rivalscope_core.keys import (
    ANALYSIS_PREFIX,
    CHUNK_SUFFIX,
    MARKERS_DIR,
    REPORTS_PREFIX,
    RUN_ID_FORMAT,
    RunRef,
    parse_marker_key,
    prompt_key,
    report_prefix,
    run_status_key,
)
from rivalscope_core.markers import ShardMarker
from rivalscope_core.records import ResultRecord

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_s3 import S3Client

SPIDER = "competitors"
RUNS_PREFIX = "config/runs/"  # the crawl tasks and the planner read their lists here
RECORD_SUFFIX = ".request.json"
ADHOC_PREFIX = "adhoc-"
_RESULT_CACHE = 20_000


def record_key(run: str) -> str:
    return f"{RUNS_PREFIX}{run}{RECORD_SUFFIX}"


def list_key(run: str, watchlist: bool) -> str:
    """The run's URL list: a watch list (YAML) or a plain list; the planner tells them apart by
    the suffix (``analyzer_lambda.runs.plan``)."""
    return f"{RUNS_PREFIX}{run}.{'watchlist.yaml' if watchlist else 'urls.txt'}"


def adhoc_prompt_name(text: str) -> str:
    """The content-addressed NAME of an ad-hoc prompt: the same text is the same prompt (and
    its results are found again), another text another one."""
    return ADHOC_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class RunFacts:
    """What S3 says about a run, read for one ``GET /runs/{run}``."""

    markers: list[ShardMarker]
    chunks: int
    result_keys: list[str]
    results: list[ResultRecord]
    run_doc: dict[str, Any] | None  # run.json of the request's prompt, once the step ran
    report_files: list[str]  # keys under the run's report prefix


class FrontStore:
    def __init__(self, s3: S3Client, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self._results: dict[str, ResultRecord] = {}
        self._lock = threading.Lock()

    # --- prompts ---------------------------------------------------------------------------
    def prompt_id(self, name: str) -> str | None:
        """The prompt id of ``prompts/NAME.md``, or None when there is no such prompt."""
        text = self._read_text(prompt_key(name))
        if text is None:
            return None
        return parse_prompt(text, source=name, fallback_name=name).prompt_id

    def store_adhoc_prompt(self, text: str) -> tuple[str, str]:
        """``prompts/adhoc-<hash>.md`` holding exactly ``text``; its NAME and prompt id. Written
        once (a repeat finds it there: same name, same bytes)."""
        name = adhoc_prompt_name(text)
        self._put_once(prompt_key(name), text.encode("utf-8"), "text/markdown; charset=utf-8")
        return name, parse_prompt(text, source=name, fallback_name=name).prompt_id

    # --- the request record ----------------------------------------------------------------
    def claim_run(self, record: dict[str, Any], now: datetime, tries: int = 30) -> str:
        """Write ``record`` under the first free run id from ``now`` on; returns the id."""
        for step in range(tries):
            run = (now + timedelta(seconds=step)).astimezone(UTC).strftime(RUN_ID_FORMAT)
            body = json.dumps({**record, "run": run}, indent=1).encode("utf-8")
            if self._put_once(record_key(run), body, "application/json"):
                return run
        raise StoreError(f"no free run id in the {tries} s from {now:%H:%M:%S}")

    def update_record(self, run: str, record: dict[str, Any]) -> None:
        body = json.dumps(record, indent=1).encode("utf-8")
        with s3_errors(f"update s3://{self.bucket}/{record_key(run)}"):
            self.s3.put_object(
                Bucket=self.bucket, Key=record_key(run), Body=body, ContentType="application/json"
            )

    def read_record(self, run: str) -> dict[str, Any] | None:
        text = self._read_text(record_key(run))
        return None if text is None else dict(json.loads(text))

    def outside_record(self, run: str) -> dict[str, Any] | None:
        """A stand-in record for a run not started through the front door (the schedule,
        ``scripts/run-crawl``, ``make run``), or None when the bucket has no such run: its
        prompt is the one its ``run.json`` was written for, if any yet."""
        ref = RunRef(self.bucket, SPIDER, run)
        if not self._list(ref.raw_prefix, limit=1):
            return None
        docs = [
            k for k in self._list(f"{REPORTS_PREFIX}{SPIDER}/{run}/") if k.endswith("/run.json")
        ]
        prompt_id = docs[0].rsplit("/", 2)[-2] if docs else None
        return {"run": run, "outside": True, "prompt": {"prompt_id": prompt_id}}

    def recent_runs(self, limit: int) -> list[str]:
        """Run ids of the front door's requests, newest first."""
        keys = [k for k in self._list(RUNS_PREFIX) if k.endswith(RECORD_SUFFIX)]
        runs = sorted((k[len(RUNS_PREFIX) : -len(RECORD_SUFFIX)] for k in keys), reverse=True)
        return runs[:limit]

    def write_list(self, key: str, text: str) -> None:
        with s3_errors(f"write s3://{self.bucket}/{key}"):
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=text.encode("utf-8"),
                ContentType="text/plain; charset=utf-8",
            )

    # --- a run's state ---------------------------------------------------------------------
    def run_facts(self, run: str, prompt_id: str | None, *, with_results: bool) -> RunFacts:
        ref = RunRef(self.bucket, SPIDER, run)
        raw = self._list(ref.raw_prefix)
        markers = []
        for key in raw:
            if key.startswith(f"{ref.raw_prefix}{MARKERS_DIR}") and parse_marker_key(
                self.bucket, key
            ):
                text = self._read_text(key)
                if text is not None:
                    try:
                        markers.append(ShardMarker.from_json(text))
                    except ValueError:
                        continue  # the run-complete step logs it; the run shows as crawling
        result_keys = [
            k for k in self._list(f"{ANALYSIS_PREFIX}{SPIDER}/{run}/") if k.endswith(".json")
        ]
        run_doc = None
        report_files: list[str] = []
        if prompt_id:
            text = self._read_text(run_status_key(ref, prompt_id))
            run_doc = json.loads(text) if text else None
            if run_doc is not None:
                report_files = self._list(report_prefix(ref, prompt_id))
        return RunFacts(
            markers=markers,
            chunks=sum(1 for k in raw if k.endswith(CHUNK_SUFFIX)),
            result_keys=result_keys,
            results=self._read_results(result_keys) if with_results else [],
            run_doc=run_doc,
            report_files=report_files,
        )

    def presigner(self, expires: int) -> Callable[[str], str]:
        def presign(key: str) -> str:
            url: str = self.s3.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires
            )
            return url

        return presign

    # --- plumbing --------------------------------------------------------------------------
    def _read_results(self, keys: list[str]) -> list[ResultRecord]:
        with self._lock:
            missing = [k for k in keys if k not in self._results]
        if missing:
            with ThreadPoolExecutor(max_workers=16) as pool:
                fetched = list(pool.map(self._read_result, missing))
            with self._lock:
                if len(self._results) > _RESULT_CACHE:
                    self._results.clear()
                self._results.update((k, r) for k, r in zip(missing, fetched, strict=True) if r)
        with self._lock:
            return [self._results[k] for k in keys if k in self._results]

    def _read_result(self, key: str) -> ResultRecord | None:
        text = self._read_text(key)
        if text is None:
            return None
        try:
            return ResultRecord.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError):
            return None  # not a result record: the page shows as not analysed

    def _read_text(self, key: str) -> str | None:
        try:
            with s3_errors(f"read s3://{self.bucket}/{key}"):
                body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except StoreError as exc:
            if exc.code in NOT_FOUND:
                return None
            raise
        return body.decode("utf-8")

    def _put_once(self, key: str, body: bytes, content_type: str) -> bool:
        """True when this call wrote ``key``; False when it already existed."""
        return put_if_absent(self.s3, self.bucket, key, body, content_type=content_type)

    def _list(self, prefix: str, limit: int | None = None) -> list[str]:
        with s3_errors(f"list s3://{self.bucket}/{prefix}"):
            if limit is not None:
                listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=limit)
                return [obj["Key"] for obj in listed.get("Contents", [])]
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            return [obj["Key"] for page in pages for obj in page.get("Contents", [])]
