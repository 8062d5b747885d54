"""All of the analyser's S3 I/O: stream a chunk, claim a result key, write a result, read a
prompt. ``ClientError``/``BotoCoreError`` become ``StoreError`` here (``s3_errors``, also used
by the report's S3 reads), so nothing above matches botocore error text.

Idempotency follows Powertools' conditional-write scheme, stored in S3 instead of DynamoDB (no
table to run): before calling the model for (page, prompt id, model), an invocation writes
``keys.claim_key(result_key)`` with ``IfNoneMatch='*'``; S3 answers 412 to every other writer,
so concurrent deliveries of one event make one model call. The result object is written last,
also with ``IfNoneMatch='*'``; "result exists" means done, and the claim is then deleted. A
claim older than ``CLAIM_TTL`` (its invocation crashed or timed out) is taken over with
``IfMatch=<the claim's ETag>``: when two invocations race for one expired claim, the first write
changes the ETag (each claim body holds a fresh owner id) and the second gets 412. The claim's
age is measured on S3's clock (``Last-Modified`` against the response's ``Date``), so a skewed
local clock cannot steal a live claim."""

from __future__ import annotations

import json
import logging
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import IO, TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from analyzer_lambda.exceptions import StoreError
from rivalscope_core.records import utc_now_iso

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from rivalscope_core.keys import ChunkRef
    from rivalscope_core.records import ResultRecord

logger = logging.getLogger(__name__)

# S3's answers to a conditional write that lost (412; 409 when another write to the key is in
# flight) and to a read of a key that is not there, as botocore names them.
PRECONDITION_FAILED = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
_CLOCK_SLACK = 1.0  # Last-Modified and Date have one-second resolution: never judge finer
_SPOOL_BYTES = 32 * 1024 * 1024  # chunks up to this size stay in memory; larger spill to disk


@dataclass(frozen=True)
class Claim:
    bucket: str
    key: str
    etag: str


@contextmanager
def s3_errors(what: str) -> Iterator[None]:
    """The one translation of botocore's errors: ``ClientError`` and ``BotoCoreError`` (refused
    endpoint, timeouts) become a ``StoreError`` saying "cannot {what}", with S3's error code
    (empty for a ``BotoCoreError``) in ``code`` for the callers that tolerate one."""
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        raise StoreError(f"cannot {what}: {exc}", code=code) from exc
    except BotoCoreError as exc:
        raise StoreError(f"cannot {what}: {exc}") from exc


def put_if_absent(s3: S3Client, bucket: str, key: str, body: bytes, *, content_type: str) -> bool:
    """Write ``key`` unless it exists (``IfNoneMatch='*'``, the claim protocol: S3 answers
    every writer but the first with 412, whichever instance it runs in); False when it did."""
    try:
        with s3_errors(f"write s3://{bucket}/{key}"):
            s3.put_object(
                Bucket=bucket, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*"
            )
    except StoreError as exc:
        if exc.code in PRECONDITION_FAILED:
            return False
        raise
    return True


class Store:
    """One per process; thread-safe because boto3 clients are."""

    def __init__(self, s3: S3Client) -> None:
        self._s3 = s3

    def open_chunk(self, chunk: ChunkRef, work_dir: Path) -> IO[bytes]:
        """Stream the chunk into a spooled file (memory, then ``work_dir``) and return it at
        offset 0. Downloading first keeps no S3 connection idle while slow model calls run."""
        work_dir.mkdir(parents=True, exist_ok=True)
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES, dir=str(work_dir))  # noqa: SIM115 - returned to the caller, who closes it
        try:
            with s3_errors(f"read {chunk.uri}"):
                body = self._s3.get_object(Bucket=chunk.bucket, Key=chunk.key)["Body"]
                for part in body.iter_chunks(1024 * 1024):
                    spool.write(part)
        except StoreError:
            spool.close()
            raise
        spool.seek(0)
        return spool

    def existing_keys(self, bucket: str, prefix: str) -> set[str]:
        """Every key under ``prefix``: one listing tells which pages of a chunk are done."""
        found: set[str] = set()
        with s3_errors(f"list s3://{bucket}/{prefix}"):
            paginator = self._s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                found.update(obj["Key"] for obj in page.get("Contents", []))
        return found

    def exists(self, bucket: str, key: str) -> bool:
        return self._head(bucket, key) is not None

    def claim(
        self, bucket: str, key: str, ttl: float, note: dict[str, Any] | None = None
    ) -> Claim | None:
        """Claim ``key``; None when a live claim of another invocation holds it. A claim lives
        ``ttl`` seconds, or as long as it says itself (a Batch API job's claims live until the
        job must have ended); ``note`` is stored in it (e.g. which job holds the page)."""
        body = {"ttl": ttl, **(note or {})}
        for _ in range(2):  # a second round when the holder released it while we looked
            claim = self._put_claim(bucket, key, {"IfNoneMatch": "*"}, body)
            if claim is not None:
                return claim
            held = self._head(bucket, key)
            if held is None:
                continue
            etag, age = held
            if age < ttl + _CLOCK_SLACK or age < self._claimed_ttl(bucket, key) + _CLOCK_SLACK:
                return None
            logger.warning("taking over s3://%s/%s: claim is %.0f s old", bucket, key, age)
            return self._put_claim(bucket, key, {"IfMatch": etag}, body)
        return None

    def read_claim(self, bucket: str, key: str) -> dict[str, Any] | None:
        """What a claim says (owner, time, ttl, note), None when there is none."""
        found = self.read_json(bucket, key)
        return found[0] if found is not None else None

    def _claimed_ttl(self, bucket: str, key: str) -> float:
        try:
            return float((self.read_claim(bucket, key) or {}).get("ttl") or 0)
        except (TypeError, ValueError):
            return 0.0

    def release(self, claim: Claim) -> None:
        """Delete our claim, only if it is still ours. Best effort: a leftover claim next to
        its result is harmless."""
        try:
            with s3_errors(f"release s3://{claim.bucket}/{claim.key}"):
                self._s3.delete_object(Bucket=claim.bucket, Key=claim.key, IfMatch=claim.etag)
        except StoreError as exc:
            logger.debug("claim s3://%s/%s not released: %s", claim.bucket, claim.key, exc)

    def put_result(self, bucket: str, key: str, record: ResultRecord) -> bool:
        """Write the result unless one exists; False when another invocation wrote it first."""
        return self.put_new(bucket, key, record.to_json().encode("utf-8"),
                            content_type="application/json")  # fmt: skip

    def put_new(self, bucket: str, key: str, body: bytes, *, content_type: str) -> bool:
        """Write ``key`` unless it exists (``IfNoneMatch``); False when it did already."""
        return put_if_absent(self._s3, bucket, key, body, content_type=content_type)

    def read_text(self, bucket: str, key: str) -> str:
        return self.read_bytes(bucket, key).decode("utf-8")

    def read_bytes(self, bucket: str, key: str) -> bytes:
        with s3_errors(f"read s3://{bucket}/{key}"):
            body = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return bytes(body)

    def presign(self, bucket: str, key: str, expires: int) -> str:
        """A GET URL of a private object (SigV4: at most 7 days)."""
        with s3_errors(f"presign s3://{bucket}/{key}"):
            return str(
                self._s3.generate_presigned_url(
                    "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
                )
            )

    def put_text(self, bucket: str, key: str, text: str, *, content_type: str) -> None:
        with s3_errors(f"write s3://{bucket}/{key}"):
            self._s3.put_object(
                Bucket=bucket, Key=key, Body=text.encode("utf-8"), ContentType=content_type
            )

    def read_json(self, bucket: str, key: str) -> tuple[dict[str, Any], str] | None:
        """``(object, etag)`` of a small JSON object, None when it does not exist (or is not
        a JSON object: a claim or manifest never is anything else)."""
        try:
            with s3_errors(f"read s3://{bucket}/{key}"):
                response = self._s3.get_object(Bucket=bucket, Key=key)
                raw = response["Body"].read()
        except StoreError as exc:
            if exc.code in NOT_FOUND:
                return None
            raise
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return (data, str(response["ETag"])) if isinstance(data, dict) else None

    def put_json(
        self, bucket: str, key: str, data: dict[str, Any], *, if_match: str | None = None,
        create: bool = False,
    ) -> str | None:  # fmt: skip
        """Write ``data``; ``create``: only if absent, ``if_match``: only if unchanged since
        that ETag. The new ETag, or None when the condition failed."""
        condition = {"IfNoneMatch": "*"} if create else {"IfMatch": if_match} if if_match else {}
        try:
            with s3_errors(f"write s3://{bucket}/{key}"):
                response = self._s3.put_object(
                    Bucket=bucket, Key=key, Body=json.dumps(data, ensure_ascii=False).encode(),
                    ContentType="application/json", **condition,  # type: ignore[arg-type]
                )  # fmt: skip
        except StoreError as exc:
            if exc.code in PRECONDITION_FAILED | NOT_FOUND:
                return None
            raise
        return str(response["ETag"])

    def delete(self, bucket: str, key: str) -> None:
        with s3_errors(f"delete s3://{bucket}/{key}"):
            self._s3.delete_object(Bucket=bucket, Key=key)

    def _put_claim(
        self, bucket: str, key: str, condition: dict[str, str], note: dict[str, Any]
    ) -> Claim | None:
        body = json.dumps({"owner": uuid.uuid4().hex, "claimed_at": utc_now_iso(), **note})
        try:
            with s3_errors(f"claim s3://{bucket}/{key}"):
                response = self._s3.put_object(
                    Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/json",
                    **condition,  # type: ignore[arg-type]
                )  # fmt: skip
        except StoreError as exc:
            if exc.code in PRECONDITION_FAILED | NOT_FOUND:
                return None
            raise
        return Claim(bucket, key, response["ETag"])

    def _head(self, bucket: str, key: str) -> tuple[str, float] | None:
        """``(etag, age in seconds on S3's clock)`` of an object, None when it is gone."""
        try:
            with s3_errors(f"check s3://{bucket}/{key}"):
                head: dict[str, Any] = dict(self._s3.head_object(Bucket=bucket, Key=key))
        except StoreError as exc:
            if exc.code in NOT_FOUND:
                return None
            raise
        date_header = head.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
        now = parsedate_to_datetime(date_header) if date_header else datetime.now(UTC)
        return str(head["ETag"]), (now - head["LastModified"]).total_seconds()
