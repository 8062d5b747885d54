from __future__ import annotations

import json

import pytest

from analyzer_lambda import events
from analyzer_lambda.exceptions import UnsupportedEventError
from rivalscope_core.keys import ChunkRef
from tests.conftest import load_event

BUCKET = "rivalscope-pages-example"
KEY0 = "raw/competitors/2026-11-23T22-19-03/items.0000000.jl.gz"
KEY5 = "raw/competitors/2026-11-23T22-19-03/items.0000005.jl.gz"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("s3_put.json", "s3"),
        ("s3_multipart_complete.json", "s3"),
        ("sqs_s3_put.json", "sqs"),
        ("sqs_s3_test_event.json", "sqs"),
        ("eventbridge_object_created.json", "eventbridge"),
        ("reanalyze.json", "reanalyze"),
    ],
)
def test_event_kind(name: str, kind: str) -> None:
    assert events.event_kind(load_event(name)) == kind


@pytest.mark.parametrize(
    "event", [{}, {"Records": []}, {"foo": 1}, [], load_event("s3_test_event.json")]
)
def test_unsupported_events_are_rejected(event: object) -> None:
    with pytest.raises(UnsupportedEventError):
        events.event_kind(event)


def test_s3_notification_key_is_url_decoded() -> None:
    # moto encodes "/" as %2F, AWS encodes spaces as "+": both decode to the stored key.
    assert events.chunks_from_s3_notification(load_event("s3_put.json")) == [
        ChunkRef(BUCKET, KEY0)
    ]
    event = load_event("s3_put.json")
    event["Records"][0]["s3"]["object"]["key"] = (
        "raw/my+spider/2026-11-23T22-19-03/items.0000000.jl.gz"
    )
    assert events.chunks_from_s3_notification(event)[0].key == (
        "raw/my spider/2026-11-23T22-19-03/items.0000000.jl.gz"
    )


def test_multipart_complete_event_names_the_object() -> None:
    chunks = events.chunks_from_s3_notification(load_event("s3_multipart_complete.json"))
    assert chunks == [ChunkRef(BUCKET, KEY5)]


def test_duplicate_records_in_one_notification_collapse() -> None:
    event = load_event("s3_put.json")
    event["Records"].append(event["Records"][0])
    assert len(events.chunks_from_s3_notification(event)) == 1


def test_keys_outside_raw_are_ignored() -> None:
    event = load_event("s3_put.json")
    event["Records"][0]["s3"]["object"]["key"] = "analysis/x/y/z/items.0000000/000001.json"
    assert events.chunks_from_s3_notification(event) == []


def test_sqs_body_is_unwrapped_and_test_event_yields_nothing() -> None:
    ((_, body),) = events.sqs_messages(load_event("sqs_s3_put.json"))
    assert events.chunks_from_sqs_body(body) == [ChunkRef(BUCKET, KEY0)]
    ((_, test_body),) = events.sqs_messages(load_event("sqs_s3_test_event.json"))
    assert events.chunks_from_sqs_body(test_body) == []


def test_sqs_body_may_be_an_eventbridge_event() -> None:
    body = json.dumps(load_event("eventbridge_object_created.json"))
    assert events.chunks_from_sqs_body(body) == [ChunkRef(BUCKET, KEY0)]


def test_sqs_body_that_is_not_an_event_is_an_error() -> None:
    with pytest.raises(UnsupportedEventError):
        events.chunks_from_sqs_body("not json")
    with pytest.raises(UnsupportedEventError):
        events.chunks_from_sqs_body('{"hello": 1}')


def test_eventbridge_object_created() -> None:
    chunks = events.chunks_from_eventbridge(load_event("eventbridge_object_created.json"))
    assert chunks == [ChunkRef(BUCKET, KEY0)]
    other = load_event("eventbridge_object_created.json") | {"detail-type": "Object Tags Added"}
    assert events.chunks_from_eventbridge(other) == []


def test_reanalyze_request() -> None:
    request = events.reanalyze_request(load_event("reanalyze.json"))
    assert request.chunks == (ChunkRef(BUCKET, KEY0),)
    assert request.prompt == f"s3://{BUCKET}/prompts/pricing-only.md"
    assert request.model == "gemini-2.5-pro"
    assert not request.fresh  # unchanged pages reuse their answers unless asked otherwise


def test_a_fresh_reanalyze_request_says_so() -> None:
    event = load_event("reanalyze.json")
    event["reanalyze"]["fresh"] = True
    assert events.reanalyze_request(event).fresh
    event["reanalyze"]["fresh"] = "yes"  # only a JSON true turns reuse off
    assert not events.reanalyze_request(event).fresh


@pytest.mark.parametrize(
    "spec", [{}, {"chunks": "s3://b/k"}, {"chunks": ["http://x"]}, {"chunks": ["s3://b/raw/x"]}]
)
def test_bad_reanalyze_request(spec: dict[str, object]) -> None:
    with pytest.raises(UnsupportedEventError):
        events.reanalyze_request({"reanalyze": spec})


def test_a_shard_markers_event_names_the_marker_and_no_chunk() -> None:
    marker_key = "raw/competitors/2026-11-23T22-19-03/_done/2of4.json"
    event = load_event("s3_put.json")
    event["Records"][0]["s3"]["object"]["key"] = marker_key.replace("/", "%2F")
    event["Records"].append(event["Records"][0])  # a duplicate delivery in one event
    objects = events.objects_from_s3_notification(event)
    assert events.chunks_of(objects) == []
    [marker] = events.markers_of(objects)
    assert (marker.run.bucket, marker.run.time, marker.index, marker.count) == (
        BUCKET,
        "2026-11-23T22-19-03",
        2,
        4,
    )
    assert marker.key == marker_key
    # a chunk event names no marker
    assert events.markers_of(events.objects_from_s3_notification(load_event("s3_put.json"))) == []
