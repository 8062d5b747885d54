"""The local twin of the AWS wiring: the pages bucket notifies an SQS queue (with a dead-letter
queue) for every new raw chunk, as ``infra/`` does in the cloud.

The filter is the one the cloud uses: ``s3:ObjectCreated:*`` on prefix ``raw/`` and suffix
``.jl.gz``; multipart uploads included (moto raises ``Put`` *and* ``CompleteMultipartUpload`` for
them — AWS only the latter — and the handler's idempotent result keys absorb the duplicate)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rivalscope_core.keys import CHUNK_SUFFIX, RAW_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

MAX_RECEIVE_COUNT = 3
#: long enough for one batch of pages through Gemini (the Lambda's timeout); a failed message is
#: made visible again sooner by the worker itself (see worker.py)
VISIBILITY_TIMEOUT = 900


@dataclass(frozen=True)
class QueueRef:
    url: str
    arn: str
    dlq_url: str
    dlq_arn: str


def create_queues(sqs: SQSClient, name: str) -> QueueRef:
    """Create (or find) ``name`` and ``name-dlq``; redrive after ``MAX_RECEIVE_COUNT`` receives."""
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = _arn(sqs, dlq_url)
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT})
    url = sqs.create_queue(
        QueueName=name,
        Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT), "RedrivePolicy": policy},
    )["QueueUrl"]
    return QueueRef(url=url, arn=_arn(sqs, url), dlq_url=dlq_url, dlq_arn=dlq_arn)


def notify_queue(s3: S3Client, bucket: str, queue: QueueRef) -> None:
    """Every new raw chunk of ``bucket`` → a message on ``queue`` (after one test event)."""
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "raw-chunks-to-analyzer",
                    "QueueArn": queue.arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": RAW_PREFIX},
                                {"Name": "suffix", "Value": CHUNK_SUFFIX},
                            ]
                        }
                    },
                }
            ]
        },
    )


def queue_depth(sqs: SQSClient, queue_url: str) -> int:
    """Messages waiting plus messages being worked on."""
    attrs = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs.get("ApproximateNumberOfMessages", 0)) + int(
        attrs.get("ApproximateNumberOfMessagesNotVisible", 0)
    )


def _arn(sqs: SQSClient, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
