"""What the ledger prices, read from S3 and the report's own files: the results' stored usage
(and, for reused answers, the usage of the answer they reuse), the analyser's per-chunk
runtime records, the shard markers, and one listing of everything stored under the run.

Only reads; every call goes through the report's ``s3_call``, so an unreachable endpoint is a
usage error naming what to check. The numbers come out as ``Measurements`` (plain values), and
``ledger.py`` prices them without any I/O."""

from __future__ import annotations

import json
import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analyzer_lambda.cost.runtime import ChunkRuntime, is_runtime_key, runtime_chunk_stem
from analyzer_lambda.report.source import s3_call
from rivalscope_core.keys import (
    ANALYSIS_PREFIX,
    MARKERS_DIR,
    REPORTS_PREFIX,
    ChunkRef,
    analysis_key,
    analysis_prefix,
    is_raw_chunk_key,
    marker_name,
    parse_marker_key,
    parse_s3_uri,
)
from rivalscope_core.markers import ShardMarker

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from rivalscope_core.keys import RunRef
    from rivalscope_core.records import ResultRecord

logger = logging.getLogger("analyzer_lambda.report")


@dataclass(frozen=True)
class TokenUse:
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    answers: int = 0  # results (or digests) these tokens are the sum of


@dataclass(frozen=True)
class Stored:
    """One listing of the run's prefixes: bytes and object counts by kind."""

    bytes: int = 0
    objects: int = 0
    chunks: int = 0
    markers: int = 0
    results: int = 0
    runtime_records: int = 0


@dataclass(frozen=True)
class Measurements:
    pages: int
    tokens: list[TokenUse]  # model calls, per model
    reused: list[TokenUse]  # the reused answers' original usage, per model (savings)
    reused_unvalued: int  # reused answers whose original result could not be read
    digest: TokenUse | None  # the digest's model call (digest.json), None when there is none
    runtimes: list[ChunkRuntime]
    markers: list[ShardMarker]
    missing_markers: list[str]
    stored: Stored
    notes: list[str] = field(default_factory=list)


def measure(
    s3: S3Client,
    run: RunRef,
    results: list[ResultRecord],
    chunks: Iterable[ChunkRef],
    pages: int,
    out_dir: Path | None = None,
) -> Measurements:
    """Everything the ledger of ``results`` (one report's) needs. Runtime records are those
    of the report's chunks under the results' prompt ids; markers and storage are the run's."""
    stems = {chunk.stem for chunk in chunks}
    listed = _list(s3, run.bucket, [run.raw_prefix, _analysis_run_prefix(run), _reports(run)])
    notes: list[str] = []
    prompt_ids = {(r.prompt_id, r.model) for r in results}
    runtime_keys = sorted(
        key
        for key in listed
        if is_runtime_key(key)
        and runtime_chunk_stem(key) in stems
        and any(key.startswith(analysis_prefix(run, p, m)) for p, m in prompt_ids)
    )
    markers, missing = _markers(s3, run, [k for k in listed if parse_marker_key(run.bucket, k)])
    reused, unvalued = _reused_usage(s3, [r for r in results if r.reused_from])
    return Measurements(
        pages=pages,
        tokens=_by_model(r for r in results if not r.reused_from),
        reused=reused,
        reused_unvalued=unvalued,
        digest=_digest(out_dir, notes),
        runtimes=_runtimes(s3, run.bucket, runtime_keys, notes),
        markers=markers,
        missing_markers=missing,
        stored=_stored(listed),
        notes=notes,
    )


def _analysis_run_prefix(run: RunRef) -> str:
    return f"{ANALYSIS_PREFIX}{run.spider}/{run.time}/"


def _reports(run: RunRef) -> str:
    return f"{REPORTS_PREFIX}{run.spider}/{run.time}/"


def _list(s3: S3Client, bucket: str, prefixes: list[str]) -> dict[str, int]:
    """key → size, for every object under ``prefixes``."""
    sizes: dict[str, int] = {}
    for prefix in prefixes:
        paginator = s3.get_paginator("list_objects_v2")
        pages = s3_call(
            f"list s3://{bucket}/{prefix}", list, paginator.paginate(Bucket=bucket, Prefix=prefix)
        )
        for page in pages:
            sizes.update(
                (obj["Key"], int(obj.get("Size", 0)))
                for obj in page.get("Contents", [])
                if "/_parts/" not in obj["Key"]  # the run report's parts: gone once it is done
            )
    return sizes


def _stored(listed: dict[str, int]) -> Stored:
    return Stored(
        bytes=sum(listed.values()),
        objects=len(listed),
        chunks=sum(1 for key in listed if is_raw_chunk_key(key)),
        markers=sum(1 for key in listed if f"/{MARKERS_DIR}" in key),
        results=sum(
            1 for key in listed if key.startswith(ANALYSIS_PREFIX) and key.endswith(".json")
        ),
        runtime_records=sum(1 for key in listed if is_runtime_key(key)),
    )


def _by_model(results: Iterable[ResultRecord]) -> list[TokenUse]:
    totals: dict[str, list[int]] = {}
    for result in results:
        entry = totals.setdefault(result.model, [0, 0, 0])
        entry[0] += result.usage.input_tokens
        entry[1] += result.usage.output_tokens
        entry[2] += 1
    return [TokenUse(model, *totals[model]) for model in sorted(totals)]


def _reused_usage(s3: S3Client, reused: list[ResultRecord]) -> tuple[list[TokenUse], int]:
    """Each reused answer valued at the usage of the result it reuses (``reused_from`` names
    the capture the model really answered for, under the same prompt id and model)."""

    def origin(result: ResultRecord) -> dict[str, Any] | None:
        source = result.reused_from or {}
        try:
            uri = parse_s3_uri(str(source["chunk"]))
            key = analysis_key(
                ChunkRef(uri.bucket, uri.key), int(source["line"]), result.prompt_id, result.model
            )
            body = s3.get_object(Bucket=uri.bucket, Key=key)["Body"].read()
            usage = json.loads(body).get("usage") or {}
            return {"model": result.model, **usage}
        except Exception as exc:  # noqa: BLE001 - any failure leaves this saving unvalued
            logger.warning("%s line %d: reused answer not valued: %s", result.chunk, result.line,
                           exc)  # fmt: skip
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(origin, reused))
    totals: dict[str, list[int]] = {}
    for usage in found:
        if usage is None:
            continue
        entry = totals.setdefault(str(usage["model"]), [0, 0, 0])
        entry[0] += int(usage.get("input_tokens") or 0)
        entry[1] += int(usage.get("output_tokens") or 0)
        entry[2] += 1
    unvalued = sum(1 for usage in found if usage is None)
    return [TokenUse(model, *totals[model]) for model in sorted(totals)], unvalued


def _runtimes(s3: S3Client, bucket: str, keys: list[str], notes: list[str]) -> list[ChunkRuntime]:
    def read(key: str) -> ChunkRuntime | None:
        body = s3_call(f"read s3://{bucket}/{key}", s3.get_object, Bucket=bucket, Key=key)
        try:
            return ChunkRuntime.from_json(body["Body"].read())
        except ValueError as exc:
            notes.append(f"s3://{bucket}/{key} is not a runtime record, left out: {exc}")
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        return [record for record in pool.map(read, keys) if record is not None]


def _markers(s3: S3Client, run: RunRef, keys: list[str]) -> tuple[list[ShardMarker], list[str]]:
    """The run's shard markers (of its most common shard count) and the names missing."""
    markers = []
    for key in sorted(keys):
        body = s3_call(f"read s3://{run.bucket}/{key}", s3.get_object, Bucket=run.bucket, Key=key)
        try:
            markers.append(ShardMarker.from_json(body["Body"].read()))
        except ValueError as exc:
            logger.warning("s3://%s/%s: %s; left out of the ledger", run.bucket, key, exc)
    if not markers:
        return [], []
    count = Counter(m.shard_count for m in markers).most_common(1)[0][0]
    mine = {m.shard_index: m for m in markers if m.shard_count == count}
    missing = [marker_name(i, count) for i in range(count) if i not in mine]
    return [mine[i] for i in sorted(mine)], missing


def _digest(out_dir: Path | None, notes: list[str]) -> TokenUse | None:
    """``digest.json`` beside ``digest.md``: ``{"model": M, "usage": {"input_tokens": N,
    "output_tokens": N}, "calls": N}`` (the result records' usage shape); absent or without
    tokens (a deterministic digest, or one reused from an identical request): None."""
    path = out_dir / "digest.json" if out_dir is not None else None
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
        usage = data.get("usage") or {}
        tokens = TokenUse(
            str(data.get("model") or "unknown"),
            int(usage.get("input_tokens") or 0),
            int(usage.get("output_tokens") or 0),
            int(data.get("calls") or 1),  # model calls the digest made (retries included)
        )
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        notes.append(f"digest.json unreadable, its tokens left out: {exc}")
        return None
    return tokens if tokens.input_tokens or tokens.output_tokens else None
