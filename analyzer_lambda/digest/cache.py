"""Digests Gemini already wrote for a run, kept in S3 beside the run's reports
(``keys.digest_key``) under the fingerprint of the request (``DigestRequest.fingerprint``):
the run-complete step and ``report`` on the same run, or a report written twice, ask Gemini
once — as a page's result is written once per (page, prompt, model). An answer Gemini could
not make usable when asked twice is kept too, as the reason, so the next writer falls back
at once; an outage is not kept, since Gemini may be back for the next writer.

The cache is an optimisation: a read or write that fails is logged and the digest is written
without it (at the price of one more call), never lost."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from rivalscope_core.keys import digest_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from rivalscope_core.keys import RunRef

logger = logging.getLogger(__name__)


class DigestCache(Protocol):
    def get(self, fingerprint: str) -> dict[str, Any] | None: ...

    def put(self, fingerprint: str, value: dict[str, Any]) -> None: ...

    def location(self, fingerprint: str) -> str: ...


class S3DigestCache:
    def __init__(self, s3: S3Client, run: RunRef) -> None:
        self._s3 = s3
        self._run = run

    def location(self, fingerprint: str) -> str:
        return f"s3://{self._run.bucket}/{digest_key(self._run, fingerprint)}"

    def get(self, fingerprint: str) -> dict[str, Any] | None:
        key = digest_key(self._run, fingerprint)
        try:
            body = self._s3.get_object(Bucket=self._run.bucket, Key=key)["Body"].read()
            value = json.loads(body)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                logger.warning("digest cache: cannot read %s: %s", key, exc)
            return None
        except (BotoCoreError, ValueError) as exc:
            logger.warning("digest cache: cannot read %s: %s", key, exc)
            return None
        return value if isinstance(value, dict) else None

    def put(self, fingerprint: str, value: dict[str, Any]) -> None:
        key = digest_key(self._run, fingerprint)
        try:
            self._s3.put_object(
                Bucket=self._run.bucket, Key=key, ContentType="application/json",
                Body=json.dumps(value, ensure_ascii=False).encode("utf-8"),
            )  # fmt: skip
        except (ClientError, BotoCoreError) as exc:
            logger.warning("digest cache: cannot write %s: %s", key, exc)
