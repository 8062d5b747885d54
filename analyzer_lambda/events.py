"""Every event the handler takes (SPEC.md), turned into the chunks to analyse. Pure.

- S3 ``ObjectCreated`` notifications: object keys arrive URL-encoded (``+`` for a space, ``%2F``
  from moto); Powertools' ``S3Event`` decodes only its first record's key, so each record is
  decoded here. A multipart upload may raise two events for one object; duplicates within an
  event collapse, and across events idempotency makes the second one a no-op.
- SQS messages whose body is an S3 notification (or an EventBridge event); ``s3:TestEvent``
  bodies yield nothing.
- EventBridge ``Object Created`` events (Powertools' ``S3EventBridgeNotificationEvent``).
- ``{"reanalyze": {"chunks": [URI...], "prompt": URI, "model": M}}`` (``"fresh": true``: no
  reuse of unchanged pages' answers).
- ``{"collect_batches": {}}``: the schedule's event; collect every open Gemini batch job.

Keys outside ``raw/`` (a bucket notification configured too broadly) are ignored: analysing our
own output would loop. A shard marker (``raw/{spider}/{run}/_done/{I}of{N}.json``) is no chunk:
``markers_from_*`` find those, for the run-complete step (``analyzer_lambda/runs/``)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import (
    EventBridgeEvent,
    S3Event,
    SQSEvent,
)
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventBridgeNotificationEvent

from analyzer_lambda.exceptions import UnsupportedEventError
from rivalscope_core.keys import (
    ChunkRef,
    MarkerRef,
    S3Uri,
    is_raw_chunk_key,
    parse_marker_key,
    parse_s3_uri,
)

logger = logging.getLogger(__name__)

EventKind = Literal["s3", "sqs", "eventbridge", "reanalyze", "collect_batches"]


@dataclass(frozen=True)
class ReanalyzeRequest:
    chunks: tuple[ChunkRef, ...]
    prompt: str | None = None
    model: str | None = None
    fresh: bool = False  # ask the model even for pages that did not change (reanalyze --fresh)


def event_kind(event: Any) -> EventKind:
    if not isinstance(event, dict):
        raise UnsupportedEventError("an event is a JSON object")
    if "reanalyze" in event:
        return "reanalyze"
    if "collect_batches" in event:  # the scheduled Batch API collector (infra/template.yaml)
        return "collect_batches"
    if "detail-type" in event and "detail" in event:
        return "eventbridge"
    records = event.get("Records")
    if isinstance(records, list) and records:
        source = records[0].get("eventSource") if isinstance(records[0], dict) else None
        if source == "aws:sqs":
            return "sqs"
        if source == "aws:s3":
            return "s3"
    raise UnsupportedEventError(
        "unsupported event: expected an S3 notification, SQS messages, an EventBridge "
        '"Object Created" event or {"reanalyze": {"chunks": [...], "prompt": ..., "model": ...}}'
    )


def objects_from_s3_notification(event: dict[str, Any]) -> list[S3Uri]:
    """The objects an S3 notification (direct or an SQS body) says were created;
    ``s3:TestEvent`` has no records → []."""
    if event.get("Event") == "s3:TestEvent" or "Records" not in event:
        return []
    return [
        S3Uri(record.s3.bucket.name, unquote_plus(record.s3.get_object.key))
        for record in S3Event(event).records
        if record.event_name.startswith("ObjectCreated")
    ]


def objects_from_eventbridge(event: dict[str, Any]) -> list[S3Uri]:
    base = EventBridgeEvent(event)
    if base.source != "aws.s3" or base.detail_type != "Object Created":
        logger.info("ignoring EventBridge event %s/%s", base.source, base.detail_type)
        return []
    detail = S3EventBridgeNotificationEvent(event).detail
    return [S3Uri(detail.bucket.name, detail.object.key)]


def objects_from_sqs_body(body: str) -> list[S3Uri]:
    """One SQS message body: an S3 notification or an EventBridge event (EventBridge → SQS)."""
    payload = _sqs_payload(body)
    if "detail-type" in payload:
        return objects_from_eventbridge(payload)
    return objects_from_s3_notification(payload)


def chunks_of(objects: list[S3Uri]) -> list[ChunkRef]:
    """The raw chunks among created objects (shard markers and anything else left out)."""
    return _raw_only([ChunkRef(o.bucket, o.key) for o in objects])


def markers_of(objects: list[S3Uri]) -> list[MarkerRef]:
    """The shard markers among created objects, each once."""
    found = (parse_marker_key(o.bucket, o.key) for o in objects)
    return list(dict.fromkeys(marker for marker in found if marker is not None))


def chunks_from_s3_notification(event: dict[str, Any]) -> list[ChunkRef]:
    return chunks_of(objects_from_s3_notification(event))


def chunks_from_eventbridge(event: dict[str, Any]) -> list[ChunkRef]:
    return chunks_of(objects_from_eventbridge(event))


def chunks_from_sqs_body(body: str) -> list[ChunkRef]:
    return chunks_of(objects_from_sqs_body(body))


def _sqs_payload(body: str) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as exc:
        raise UnsupportedEventError(f"SQS message body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise UnsupportedEventError("SQS message body is not a JSON object")
    if "detail-type" in payload or "Records" in payload or payload.get("Event") == "s3:TestEvent":
        return payload
    raise UnsupportedEventError("SQS message body is neither an S3 nor an EventBridge event")


def sqs_messages(event: dict[str, Any]) -> list[tuple[str, str]]:
    """``(messageId, body)`` of each SQS record."""
    return [(record.message_id, record.body) for record in SQSEvent(event).records]


def reanalyze_request(event: dict[str, Any]) -> ReanalyzeRequest:
    spec = event.get("reanalyze")
    if not isinstance(spec, dict) or not isinstance(spec.get("chunks"), list):
        raise UnsupportedEventError('"reanalyze" needs {"chunks": [s3://... URIs]}')
    chunks = []
    for uri in spec["chunks"]:
        try:
            ref = parse_s3_uri(str(uri))
        except ValueError as exc:
            raise UnsupportedEventError(str(exc)) from exc
        if not is_raw_chunk_key(ref.key):
            raise UnsupportedEventError(f"not a raw chunk URI: {uri}")
        chunks.append(ChunkRef(ref.bucket, ref.key))
    prompt, model = spec.get("prompt"), spec.get("model")
    return ReanalyzeRequest(
        chunks=tuple(dict.fromkeys(chunks)),
        prompt=str(prompt) if prompt else None,
        model=str(model) if model else None,
        fresh=spec.get("fresh") is True,
    )


def _raw_only(refs: list[ChunkRef]) -> list[ChunkRef]:
    kept = []
    for ref in dict.fromkeys(refs):  # a multipart upload may name one object twice
        if is_raw_chunk_key(ref.key):
            kept.append(ref)
        elif parse_marker_key(ref.bucket, ref.key) is None:
            logger.info("ignoring s3://%s/%s: not a raw chunk", ref.bucket, ref.key)
    return kept
