"""Where a report's facts come from: the run's raw chunks (page facts and screenshots) and its
stored results, read from S3.

Every S3 call goes through ``s3_call``, so a wrong run URI, missing credentials or an
unreachable endpoint becomes a ``UsageError`` (exit 2) whose message names what to check,
never a traceback. A run holds thousands of small objects, so results are fetched in threads
and screenshots are written in threads while the next chunk lines stream in. What cannot be
read (a bad line, a corrupt chunk, a result that is not a record) costs that page, not the
report: it shows as an error or as "not analysed"."""

from __future__ import annotations

import json
import logging
import os
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer_lambda.chunks import BadLine, read_pages
from analyzer_lambda.exceptions import CorruptChunkError, PromptUnavailableError, StoreError
from analyzer_lambda.prompts.parser import PromptError, parse_prompt
from analyzer_lambda.prompts.resolver import PromptResolver
from analyzer_lambda.report.rows import ReportPage
from analyzer_lambda.report.screenshots import write_screenshot
from analyzer_lambda.store import Store, s3_errors
from rivalscope_core.exit_codes import UsageError
from rivalscope_core.keys import (
    ANALYSIS_PREFIX,
    ChunkRef,
    RunRef,
    analysis_prefix,
    is_raw_chunk_key,
    parse_s3_uri,
    result_chunk_stem,
)
from rivalscope_core.records import ErrorInfo, ResultRecord

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from mypy_boto3_s3 import S3Client

    from analyzer_lambda.report.rows import ShotFiles

# the report command's logger (the CLI sets its level), so its warnings keep one name
logger = logging.getLogger("analyzer_lambda.report")

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def s3_call(what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``; a missing object or bucket, refused credentials or an
    unreachable endpoint become a ``UsageError`` saying "cannot {what}" and what to check."""
    try:
        with s3_errors(what):
            return call(*args, **kwargs)
    except StoreError as exc:
        cause = exc.__cause__
        if exc.code in ("NoSuchBucket", "NoSuchKey", "404", "NotFound"):
            raise UsageError(f"cannot {what}: {exc.code} (check RUN_URI)") from cause
        if exc.code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
            raise UsageError(f"cannot {what}: {exc.code} (check the AWS credentials)") from cause
        if not exc.code:
            raise UsageError(
                f"cannot {what}: {cause} (check AWS_ENDPOINT_URL and the network)"
            ) from cause
        raise


def _list_keys(s3: S3Client, bucket: str, prefix: str) -> list[str]:
    paginator = s3.get_paginator("list_objects_v2")
    pages = s3_call(
        f"list s3://{bucket}/{prefix}", list, paginator.paginate(Bucket=bucket, Prefix=prefix)
    )
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def list_chunks(s3: S3Client, target: RunRef | ChunkRef) -> list[ChunkRef]:
    if isinstance(target, ChunkRef):
        s3_call(f"find {target.uri}", s3.head_object, Bucket=target.bucket, Key=target.key)
        return [target]
    keys = sorted(
        k for k in _list_keys(s3, target.bucket, target.raw_prefix) if is_raw_chunk_key(k)
    )
    if not keys:
        raise UsageError(
            f"no chunks under {target.uri}: check RUN_URI (s3://BUCKET/raw/SPIDER/TIME/)"
        )
    return [ChunkRef(target.bucket, key) for key in keys]


def _prompt_ids(s3: S3Client, run: RunRef) -> list[str]:
    prefix = f"{ANALYSIS_PREFIX}{run.spider}/{run.time}/"
    pages = s3_call(
        "list prompt ids",
        list,
        s3.get_paginator("list_objects_v2").paginate(
            Bucket=run.bucket, Prefix=prefix, Delimiter="/"
        ),
    )
    return sorted(
        p["Prefix"][len(prefix) :].strip("/")
        for page in pages
        for p in page.get("CommonPrefixes", [])
    )


def resolve_prompt_id(s3: S3Client, run: RunRef, value: str) -> str:
    """A prompt file (local path or ``s3://``) gives its id; otherwise ``value`` is an id, or
    the name part of exactly one id with results in this run."""
    if value.startswith("s3://"):
        ref = parse_s3_uri(value)
        body = s3_call(f"read the prompt {value}", s3.get_object, Bucket=ref.bucket, Key=ref.key)
        raw, stem = body["Body"].read().decode("utf-8"), Path(ref.key).stem
    elif Path(value).is_file():
        raw, stem = Path(value).read_text("utf-8"), Path(value).stem
    elif value.endswith(".md") or "/" in value:
        raise UsageError(f"prompt file {value} not found (pass a prompt file or a prompt id)")
    else:
        raw, stem = "", ""
    known = _prompt_ids(s3, run)
    if raw:
        try:
            prompt_id = parse_prompt(raw, source=value, fallback_name=stem).prompt_id
        except PromptError as exc:
            raise UsageError(str(exc)) from exc
    else:
        named = [i for i in known if i.rsplit("-", 1)[0] == value]
        prompt_id = value if value in known or len(named) != 1 else named[0]
    if prompt_id not in known:
        listed = ", ".join(known) if known else "none yet"
        raise UsageError(
            f"no results for prompt {prompt_id} in {run.uri} (prompt ids with results: {listed});"
            " pass --prompt the prompt file the run was analysed with, or one of those ids"
        )
    return prompt_id


def read_results(
    s3: S3Client, run: RunRef, prompt_id: str | None, only: ChunkRef | None
) -> list[ResultRecord]:
    """The run's results for ``prompt_id``, or for every prompt id when it is None."""
    prefix = (
        analysis_prefix(run, prompt_id)
        if prompt_id
        else f"{ANALYSIS_PREFIX}{run.spider}/{run.time}/"
    )
    keys = [k for k in _list_keys(s3, run.bucket, prefix) if k.endswith(".json")]
    if only is not None:
        keys = [k for k in keys if result_chunk_stem(k) == only.stem]

    def fetch(key: str) -> ResultRecord | None:
        body = s3_call(f"read s3://{run.bucket}/{key}", s3.get_object, Bucket=run.bucket, Key=key)
        try:
            return ResultRecord.from_dict(json.loads(body["Body"].read()))
        except (ValueError, KeyError, TypeError) as exc:
            # its page then shows as "not analysed": visible, and a re-analysis rewrites it
            logger.warning("s3://%s/%s is not a result record, ignored: %s", run.bucket, key, exc)
            return None

    with ThreadPoolExecutor(max_workers=16) as pool:
        return [result for result in pool.map(fetch, keys) if result is not None]


def read_own_results(
    s3: S3Client, run: RunRef, pages: Sequence[ReportPage], only: ChunkRef | None = None
) -> list[ResultRecord]:
    """Each page's result for its own prompt (``ReportPage.prompt_id``, from ``own_prompt_ids``
    or the run-complete step's resolver): a watch list gives competitors prompts of their own,
    and another prompt's result for the same page (a re-analysis) is not this report's."""
    wanted = {(p.chunk, p.line, p.prompt_id) for p in pages}
    results = read_results(s3, run, None, only)
    return [r for r in results if (r.chunk, r.line, r.prompt_id) in wanted]


def own_prompt_ids(s3: S3Client, default_ref: str | None) -> Callable[[str | None, str], str]:
    """``(record's prompt reference, bucket) → prompt id``, resolved as the analyser resolves
    it (the reference, else ``default_ref`` = ``ANALYSIS_PROMPT``, else the bundled prompt):
    the prompt each page was analysed with when no ``--prompt`` overrides it."""
    resolver = PromptResolver(Store(s3), default_ref)

    def prompt_id_of(ref: str | None, bucket: str) -> str:
        try:
            return resolver.resolve(ref, bucket).prompt_id
        except PromptUnavailableError as exc:
            raise UsageError(f"{exc} (a page's own prompt; pass --prompt to choose one)") from exc

    return prompt_id_of


def read_report_pages(
    s3: S3Client,
    chunks: Sequence[ChunkRef],
    out_dir: Path,
    prompt_id_of: Callable[[str | None, str], str] | None = None,
) -> list[ReportPage]:
    """Every line of every chunk as a ``ReportPage``; screenshots are written (in threads)
    while the next lines stream in. Unreadable lines and corrupt chunks become error pages.
    ``prompt_id_of`` gives each page the id of its own prompt (``own_prompt_ids``)."""
    (out_dir / "screenshots").mkdir(parents=True, exist_ok=True)
    pending: list[tuple[ReportPage, Future[ShotFiles | None] | None]] = []
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for chunk in chunks:
            for line, record, error in _chunk_lines(s3, chunk):
                if record is None:
                    page = ReportPage(chunk.uri, line, "(unreadable record)", None, None, "", None)
                    pending.append((replace(page, error=error), None))
                    continue
                shot = None
                if record.screenshot is not None:
                    name = _SAFE_NAME.sub("-", f"{chunk.stem}-{line}")
                    shot = pool.submit(write_screenshot, record.screenshot, name, out_dir)
                page = ReportPage(
                    chunk.uri,
                    line,
                    record.url,
                    record.final_url,
                    record.status,
                    record.crawled_at,
                    record.title,
                    record.error,
                    competitor=record.competitor,
                    prompt_id=prompt_id_of(record.prompt, chunk.bucket) if prompt_id_of else None,
                )
                pending.append((page, shot))
        return [replace(page, shot=shot.result()) if shot else page for page, shot in pending]


def _chunk_lines(s3: S3Client, chunk: ChunkRef) -> Iterator[tuple[int, Any, ErrorInfo | None]]:
    body = s3_call(f"read {chunk.uri}", s3.get_object, Bucket=chunk.bucket, Key=chunk.key)["Body"]
    try:
        for line, item in read_pages(body, key=chunk.uri):
            if isinstance(item, BadLine):
                yield line, None, ErrorInfo("bad_record", item.message)
            else:
                yield line, item, None
    except CorruptChunkError as exc:
        yield exc.line, None, ErrorInfo("corrupt_chunk", str(exc))
