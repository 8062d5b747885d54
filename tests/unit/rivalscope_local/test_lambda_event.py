from __future__ import annotations

import json

from rivalscope_local.lambda_event import (
    LocalLambdaContext,
    failed_message_ids,
    sqs_event,
)

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:rivalscope-chunks"

RECEIVED = {
    "MessageId": "m-1",
    "ReceiptHandle": "rh-1",
    "MD5OfBody": "abc",
    "Body": json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]}),
    "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795473035228"},
    "MessageAttributes": {"origin": {"DataType": "String", "StringValue": "s3"}},
}


def test_a_received_message_becomes_the_record_lambda_would_deliver() -> None:
    event = sqs_event([RECEIVED], QUEUE_ARN, "us-east-1")
    assert event == {
        "Records": [
            {
                "messageId": "m-1",
                "receiptHandle": "rh-1",
                "body": RECEIVED["Body"],
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795473035228"},
                "messageAttributes": {
                    "origin": {
                        "dataType": "String",
                        "stringValue": "s3",
                        "stringListValues": [],
                        "binaryListValues": [],
                    }
                },
                "md5OfBody": "abc",
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": "us-east-1",
            }
        ]
    }


def test_reported_failures_stay_on_the_queue_and_the_rest_is_deleted() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "b"}]}
    assert failed_message_ids(response, ["a", "b", "c"]) == {"b"}
    assert failed_message_ids({"batchItemFailures": []}, ["a", "b"]) == set()
    assert failed_message_ids(None, ["a"]) == set()
    assert failed_message_ids({}, ["a"]) == set()


def test_a_malformed_failure_report_fails_the_whole_batch_as_lambda_does() -> None:
    batch = ["a", "b"]
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "zz"}]}, batch) == {
        "a",
        "b",
    }
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, batch) == {
        "a",
        "b",
    }
    assert failed_message_ids({"batchItemFailures": "b"}, batch) == {"a", "b"}
    assert failed_message_ids("oops", batch) == {"a", "b"}


def test_the_context_counts_down_from_the_function_timeout() -> None:
    context = LocalLambdaContext(function_name="f", timeout_seconds=60)
    assert 55_000 < context.get_remaining_time_in_millis() <= 60_000
    assert context.invoked_function_arn.endswith(":function:f")
    assert context.aws_request_id != LocalLambdaContext().aws_request_id
