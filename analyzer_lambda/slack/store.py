"""All of the Slack side's S3 I/O: the replay guard's claims, a run's reply record (where to
answer) and its "posted" claim, and the run's report files the answer is made of.

Every write that must happen at most once is a conditional put (``IfNoneMatch='*'``, the
store's claim protocol): S3 answers 412 to every writer but the first, whichever Lambda
instance it runs in. ``ClientError``/``BotoCoreError`` become ``StoreError``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from analyzer_lambda.exceptions import StoreError
from analyzer_lambda.store import NOT_FOUND, put_if_absent, s3_errors
from rivalscope_core.keys import slack_posted_key, slack_reply_key, slack_seen_key
from rivalscope_core.records import utc_now_iso

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from rivalscope_core.keys import RunRef


@dataclass(frozen=True)
class ReplyTo:
    """Where a run started from Slack answers: the command's channel (the bot posts there) and
    its ``response_url`` (30 minutes, 5 uses: the fallback when the bot may not post)."""

    channel_id: str
    user_id: str
    team_id: str
    response_url: str
    command: str  # what the user typed, for the answer's header
    requested_at: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReplyTo:
        return cls(**{name: str(data.get(name) or "") for name in cls.__dataclass_fields__})


class SlackStore:
    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self.bucket = bucket

    def first_sight(self, timestamp: str, signature: str) -> bool:
        """Claim a signed request; False when it was seen before (a replay)."""
        return self._claim(slack_seen_key(timestamp, signature), {"seen_at": utc_now_iso()})

    def put_reply(self, run: RunRef, reply: ReplyTo) -> None:
        body = {**asdict(reply), "requested_at": reply.requested_at or utc_now_iso()}
        key = slack_reply_key(run)
        with s3_errors(f"write s3://{self.bucket}/{key}"):
            self._s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=json.dumps(body).encode("utf-8"),
                ContentType="application/json",
            )

    def reply_of(self, run: RunRef) -> ReplyTo | None:
        """The run's reply record, None for a run that did not come from Slack."""
        data = self.read_bytes(slack_reply_key(run))
        return None if data is None else ReplyTo.from_dict(json.loads(data))

    def claim_post(self, run: RunRef) -> bool:
        """Claim the run's answer; False when it was posted (or is being posted) already."""
        return self._claim(slack_posted_key(run), {"posted_at": utc_now_iso()})

    def read_bytes(self, key: str) -> bytes | None:
        try:
            with s3_errors(f"read s3://{self.bucket}/{key}"):
                return bytes(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except StoreError as exc:
            if exc.code in NOT_FOUND:
                return None
            raise

    def keys_under(self, prefix: str) -> set[str]:
        found: set[str] = set()
        with s3_errors(f"list s3://{self.bucket}/{prefix}"):
            for page in self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                found.update(obj["Key"] for obj in page.get("Contents", []))
        return found

    def _claim(self, key: str, body: dict[str, str]) -> bool:
        return put_if_absent(self._s3, self.bucket, key, json.dumps(body).encode("utf-8"),
                             content_type="application/json")  # fmt: skip
