"""What AWS Lambda's SQS event source mapping hands a function, built from ``ReceiveMessage``
output: the same event shape, so the local worker calls the very handler the cloud calls.

Pure functions; documented shapes: "Using Lambda with Amazon SQS" (example SQS event) and
"Handling errors for an SQS event source" (``batchItemFailures``)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One ``ReceiveMessage`` message (boto3 casing) → one Lambda SQS record (camelCase)."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sqs_event(
    messages: Iterable[Mapping[str, Any]], queue_arn: str, region: str
) -> dict[str, Any]:
    return {"Records": [sqs_record(m, queue_arn, region) for m in messages]}


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "dataType": value.get("DataType", "String"),
        "stringListValues": list(value.get("StringListValues") or []),
        "binaryListValues": list(value.get("BinaryListValues") or []),
    }
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = value["BinaryValue"]
    return out


def failed_message_ids(response: object, batch_ids: Sequence[str]) -> set[str]:
    """The messages to keep on the queue after a handler returned ``response``.

    As Lambda does: ``{"batchItemFailures": [{"itemIdentifier": id}, ...]}`` keeps those; an empty
    list or no ``batchItemFailures`` keeps none; an identifier that is missing, empty or not in
    the batch — or a response that is not that shape — fails the whole batch."""
    every = set(batch_ids)
    if response is None:
        return set()
    if not isinstance(response, dict):
        return every
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return every
    kept: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in every:
            return every
        kept.add(identifier)
    return kept


@dataclass
class LocalLambdaContext:
    """The attributes of the Lambda context object a handler (or Powertools) reads."""

    function_name: str = "rivalscope-analyzer-local"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    region: str = "us-east-1"
    timeout_seconds: float = 900.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_seconds - (time.monotonic() - self._started)
        return max(0, int(left * 1000))
