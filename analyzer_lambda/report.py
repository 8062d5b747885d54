"""``python -m analyzer_lambda.report RUN_URI --prompt FILE_OR_ID --out DIR [--upload]``
(issue 4): the CLI and its I/O. Reads a run's raw chunks (for page facts and screenshots) and
its stored results from S3, writes ``results.jsonl``, ``results.csv``, ``report.html`` and
``screenshots/`` into DIR; rendering is ``analyzer_lambda.report_html`` (pure).

Screenshots become files (the original capture plus a small WebP thumbnail of the top of the
page) so the report loads fast instead of carrying megabytes of base64 per page. With
``--upload`` everything goes under ``reports/…`` in the bucket, private (no ACL is ever set),
and the uploaded report links its files by presigned URLs of the same lifetime as the printed
one. Exit codes (SPEC.md): 0 all pages analysed, 1 some failed or not analysed yet, 2 bad
usage (unknown run, prompt without results, unreadable prompt, bad option)."""

from __future__ import annotations

import argparse
import base64
import binascii
import csv
import io
import json
import logging
import os
import re
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError
from PIL import Image

from analyzer_lambda.chunks import BadLine, read_pages
from analyzer_lambda.exceptions import CorruptChunkError
from analyzer_lambda.prompts import PromptError, parse_prompt
from analyzer_lambda.report_html import (
    ReportMeta,
    ReportPage,
    ShotFiles,
    build_rows,
    counts,
    csv_table,
    render_report,
    result_dict,
)
from rivalscope_core.keys import (
    ANALYSIS_PREFIX,
    ChunkRef,
    RunRef,
    analysis_prefix,
    is_raw_chunk_key,
    parse_run_uri,
    parse_s3_uri,
    report_prefix,
)
from rivalscope_core.records import ErrorInfo, ResultRecord, utc_now_iso

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from mypy_boto3_s3 import S3Client

    from rivalscope_core.records import Screenshot

logger = logging.getLogger("analyzer_lambda.report")

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2
MAX_EXPIRES = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live
THUMB_WIDTH = 600  # sharp on a ~450 px card at 1.3x; WebP keeps it ~30-60 KB
THUMB_ASPECT = 10 / 16  # the top of the page, as the card shows it (16:10)
_FORMATS = {"png": "png", "jpeg": "jpg", "jpg": "jpg", "webp": "webp"}
_CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".jsonl": "application/x-ndjson; charset=utf-8",
}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class UsageError(Exception):
    """Exit 2: the message names what to fix."""


def _s3_call(what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchBucket", "NoSuchKey", "404", "NotFound"):
            raise UsageError(f"cannot {what}: {code} (check RUN_URI)") from exc
        if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
            raise UsageError(f"cannot {what}: {code} (check the AWS credentials)") from exc
        raise
    except BotoCoreError as exc:
        raise UsageError(f"cannot {what}: {exc} (check AWS_ENDPOINT_URL and the network)") from exc


def _list_keys(s3: S3Client, bucket: str, prefix: str) -> list[str]:
    paginator = s3.get_paginator("list_objects_v2")
    pages = _s3_call(
        f"list s3://{bucket}/{prefix}", list, paginator.paginate(Bucket=bucket, Prefix=prefix)
    )
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def list_chunks(s3: S3Client, target: RunRef | ChunkRef) -> list[ChunkRef]:
    if isinstance(target, ChunkRef):
        _s3_call(f"find {target.uri}", s3.head_object, Bucket=target.bucket, Key=target.key)
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
    pages = _s3_call(
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
        body = _s3_call(f"read the prompt {value}", s3.get_object, Bucket=ref.bucket, Key=ref.key)
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
    s3: S3Client, run: RunRef, prompt_id: str, only: ChunkRef | None
) -> list[ResultRecord]:
    keys = [
        k
        for k in _list_keys(s3, run.bucket, analysis_prefix(run, prompt_id))
        if k.endswith(".json")
    ]
    if only is not None:
        keys = [k for k in keys if k.rsplit("/", 2)[-2] == only.stem]

    def fetch(key: str) -> ResultRecord | None:
        body = _s3_call(f"read s3://{run.bucket}/{key}", s3.get_object, Bucket=run.bucket, Key=key)
        try:
            return ResultRecord.from_dict(json.loads(body["Body"].read()))
        except (ValueError, KeyError, TypeError) as exc:
            # its page then shows as "not analysed": visible, and a re-analysis rewrites it
            logger.warning("s3://%s/%s is not a result record, ignored: %s", run.bucket, key, exc)
            return None

    with ThreadPoolExecutor(max_workers=16) as pool:
        return [result for result in pool.map(fetch, keys) if result is not None]


def make_thumbnail(data: bytes, width: int = THUMB_WIDTH) -> bytes:
    """The top of a full-page screenshot (``THUMB_ASPECT``), ``width`` px wide, as WebP."""
    with Image.open(io.BytesIO(data)) as image:
        keep = min(image.height, round(image.width * THUMB_ASPECT))
        top = image.crop((0, 0, image.width, keep)).convert("RGB")
    top.thumbnail((width, width * 2), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    top.save(out, format="WEBP", quality=78, method=4)
    return out.getvalue()


def write_screenshot(shot: Screenshot, name: str, out_dir: Path) -> ShotFiles | None:
    """``screenshots/<name>.<fmt>`` and ``<name>.thumb.webp``; None (and a warning) for data
    that is not an image, so one bad capture costs one thumbnail, not the report."""
    ext = _FORMATS.get(shot.format.lower(), "png")
    folder = out_dir / "screenshots"
    try:
        data = base64.b64decode(shot.data, validate=True)
        thumb = make_thumbnail(data)
    except (binascii.Error, OSError, ValueError, Image.DecompressionBombError) as exc:
        logger.warning("screenshot %s is unreadable: %s", name, exc)
        return None
    (folder / f"{name}.{ext}").write_bytes(data)
    (folder / f"{name}.thumb.webp").write_bytes(thumb)
    return ShotFiles(
        f"screenshots/{name}.{ext}",
        f"screenshots/{name}.thumb.webp",
        shot.width,
        shot.height,
        shot.truncated,
    )


def read_report_pages(s3: S3Client, chunks: Sequence[ChunkRef], out_dir: Path) -> list[ReportPage]:
    """Every line of every chunk as a ``ReportPage``; screenshots are written (in threads)
    while the next lines stream in. Unreadable lines and corrupt chunks become error pages."""
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
                )
                pending.append((page, shot))
        return [replace(page, shot=shot.result()) if shot else page for page, shot in pending]


def _chunk_lines(s3: S3Client, chunk: ChunkRef) -> Iterator[tuple[int, Any, ErrorInfo | None]]:
    body = _s3_call(f"read {chunk.uri}", s3.get_object, Bucket=chunk.bucket, Key=chunk.key)["Body"]
    try:
        for line, item in read_pages(body, key=chunk.uri):
            if isinstance(item, BadLine):
                yield line, None, ErrorInfo("bad_record", item.message)
            else:
                yield line, item, None
    except CorruptChunkError as exc:
        yield exc.line, None, ErrorInfo("corrupt_chunk", str(exc))


def write_outputs(rows: list[Any], meta: ReportMeta, out_dir: Path) -> None:
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as jsonl:
        for row in rows:
            jsonl.write(json.dumps(result_dict(row, meta.prompt_id), ensure_ascii=False) + "\n")
    header, table = csv_table(rows, meta.prompt_id)
    # utf-8-sig: Excel reads Japanese correctly only with the BOM
    with (out_dir / "results.csv").open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(table)
    (out_dir / "report.html").write_text(render_report(rows, meta), encoding="utf-8")


def upload(
    s3: S3Client,
    out_dir: Path,
    rows: list[Any],
    meta: ReportMeta,
    bucket: str,
    prefix: str,
    expires: int,
) -> str:
    """Upload the report's files privately and return a presigned URL of ``report.html``."""

    def presign(relative: str) -> str:
        url: str = s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": prefix + relative}, ExpiresIn=expires
        )
        return url

    files = [p for p in out_dir.rglob("*") if p.is_file() and p.name != "report.html"]
    for path in files:
        key = prefix + path.relative_to(out_dir).as_posix()
        extra = {"ContentType": _CONTENT_TYPES.get(path.suffix, "application/octet-stream")}
        _s3_call(
            f"upload s3://{bucket}/{key}", s3.upload_file, str(path), bucket, key, ExtraArgs=extra
        )
    html_text = render_report(rows, meta, asset_url=presign)
    _s3_call(
        "upload report.html",
        s3.put_object,
        Bucket=bucket,
        Key=prefix + "report.html",
        Body=html_text.encode("utf-8"),
        ContentType=_CONTENT_TYPES[".html"],
    )
    return presign("report.html")


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m analyzer_lambda.report",
        description="Write results.jsonl, results.csv and report.html (with screenshots).",
    )
    parser.add_argument(
        "run_uri", metavar="RUN_URI", help="s3://BUCKET/raw/SPIDER/TIME/ or one chunk URI"
    )
    parser.add_argument(
        "--prompt",
        required=True,
        metavar="FILE_OR_ID",
        help="the prompt file the run was analysed with, or its prompt id",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    parser.add_argument(
        "--upload",
        action="store_true",
        help="also upload to s3://BUCKET/reports/... and print a presigned URL",
    )
    parser.add_argument(
        "--expires",
        type=int,
        default=MAX_EXPIRES,
        metavar="SECONDS",
        help=f"presigned URL lifetime (1..{MAX_EXPIRES}, default 7 days)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.expires <= MAX_EXPIRES:
        parser.error(f"--expires must be between 1 and {MAX_EXPIRES} seconds")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)
    try:
        target = parse_run_uri(args.run_uri)
        run = target if isinstance(target, RunRef) else target.run
        s3 = boto3.client("s3", config=BotoConfig(signature_version="s3v4"))
        chunks = list_chunks(s3, target)
        prompt_id = resolve_prompt_id(s3, run, args.prompt)
        only = target if isinstance(target, ChunkRef) else None
        results = read_results(s3, run, prompt_id, only)
        logger.info("%d chunks, %d results for %s", len(chunks), len(results), prompt_id)
        args.out.mkdir(parents=True, exist_ok=True)
        rows = build_rows(read_report_pages(s3, chunks, args.out), results)
        meta = ReportMeta(run=(only or run).uri, prompt_id=prompt_id, generated_at=utc_now_iso())
        write_outputs(rows, meta, args.out)
        url = None
        if args.upload:
            prefix = report_prefix(run, prompt_id) + (f"{only.stem}/" if only else "")
            url = upload(s3, args.out, rows, meta, run.bucket, prefix, args.expires)
    except (UsageError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    tally = counts(rows)
    print(
        f"{len(rows)} results: {tally['done']} analysed, {tally['failed']} failed, "
        f"{tally['missing']} not analysed"
    )
    print(f"report: {args.out / 'report.html'}")
    if url is not None:
        print(
            f"uploaded to s3://{run.bucket}/{prefix} (private);"
            f" presigned URL, valid {args.expires} s:"
        )
        print(url)
    return EXIT_OK if tally["failed"] == tally["missing"] == 0 else EXIT_INCOMPLETE


if __name__ == "__main__":
    sys.exit(main())
