"""One notification per complete run, however often it is asked for: by the run-complete step
(any number of marker events), ``make run`` or ``python -m analyzer_lambda.notify``.

Powertools' idempotency scheme, stored in S3 as the page results are (``Store.claim``): look at
``notify.json`` beside ``run.json``; ``sent`` means done. Otherwise claim ``notify.claim`` with
a conditional write (``IfNoneMatch``; taken over after ``CLAIM_TTL`` if its holder died), look
again (its previous holder may have just finished), send, write ``notify.json`` (``sent``, or
``failed`` with what failed: a later run of the command tries again) and release the claim.
Concurrent duplicate requests therefore send once; every other one finds the claim held or
``notify.json`` sent and sends nothing."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analyzer_lambda.notify.facts import S3Folder, read_facts
from analyzer_lambda.notify.message import build_message, should_send
from analyzer_lambda.notify.sender import SendResult, send
from rivalscope_core.records import utc_now_iso

if TYPE_CHECKING:
    from collections.abc import Callable

    from analyzer_lambda.config import Config
    from analyzer_lambda.notify.facts import ReportFolder
    from analyzer_lambda.notify.message import Message
    from analyzer_lambda.store import Store

    Sender = Callable[..., SendResult]

logger = logging.getLogger(__name__)

REPORT_LINK_EXPIRES = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live
NOTIFY_STATE = "notify.json"
NOTIFY_CLAIM = "notify.claim"


@dataclass(frozen=True)
class NotifyOutcome:
    """``sent``, ``failed`` (retried, still failing), ``already_sent``, ``claimed`` (another
    invocation is sending it), ``skipped`` (``NOTIFY_ON``), ``dry_run`` or ``no_urls``."""

    outcome: str
    reason: str = ""
    message: Message | None = None
    result: SendResult | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        summary: dict[str, Any] = {"outcome": self.outcome, "counts": self.counts}
        if self.reason:
            summary["reason"] = self.reason
        if self.result is not None:
            summary |= {"sent": self.result.sent, "failed": list(self.result.failed),
                        "attempts": self.result.attempts}  # fmt: skip
        return summary


def notify_run(
    store: Store,
    bucket: str,
    prefix: str,
    run_id: str,
    config: Config,
    urls: tuple[str, ...],
    *,
    link: str | None = None,
    dry_run: bool = False,
    facts_from: ReportFolder | None = None,
    sender: Sender = send,
) -> NotifyOutcome:
    """Notify ``urls`` of the run whose report folder in S3 is ``prefix`` (where the claim and
    ``notify.json`` live). The message's facts come from that folder, or from ``facts_from``
    (``make run``: the report command's local output). ``link`` is the report's link (a
    ``file://`` path locally); by default a presigned URL of the stored report."""
    if not dry_run and _state(store, bucket, prefix).get("status") == "sent":
        return NotifyOutcome("already_sent")
    folder = facts_from or S3Folder(store, bucket, prefix)
    with read_facts(folder, run_id, f"s3://{bucket}/{prefix}") as facts:
        counts = facts.counts.to_dict()
        go, why = should_send(facts.counts, config.notify_on)
        if not go:
            return NotifyOutcome("skipped", why, counts=counts)
        report_link = link or store.presign(bucket, f"{prefix}report.html", REPORT_LINK_EXPIRES)
        message = build_message(run_id=run_id, counts=facts.counts, digest=facts.digest,
                                report_link=report_link, attachment=facts.crop)  # fmt: skip
        if dry_run:
            return NotifyOutcome("dry_run", message=message, counts=counts)
        if not urls:
            return NotifyOutcome("no_urls", "NOTIFY_URLS is not set", message, counts=counts)
        claim = store.claim(bucket, f"{prefix}{NOTIFY_CLAIM}", config.claim_ttl)
        if claim is None:
            return NotifyOutcome("claimed", counts=counts)
        try:
            state = _state(store, bucket, prefix)
            if state.get("status") == "sent":  # its previous holder just sent it
                return NotifyOutcome("already_sent", counts=counts)
            # after a failed send, the services that took the message are not sent it again
            before = set(state.get("delivered_to") or [])
            pending = tuple(url for url in urls if _url_id(url) not in before)
            result = sender(message, pending, max_attempts=config.notify_max_attempts,
                            retry_delay=config.notify_retry_delay)  # fmt: skip
            delivered = before | {_url_id(url) for url in result.delivered}
            _put_state(store, bucket, prefix, message, result, delivered)
        finally:
            store.release(claim)
    if not result.ok:
        logger.error("notification of run %s failed for %s: %s", run_id,
                     ", ".join(result.failed), "; ".join(result.errors))  # fmt: skip
        return NotifyOutcome("failed", "; ".join(result.errors), message, result, counts)
    logger.info("notification of run %s sent to %d service(s)", run_id, result.sent)
    return NotifyOutcome("sent", message=message, result=result, counts=counts)


def _state(store: Store, bucket: str, prefix: str) -> dict[str, Any]:
    key = f"{prefix}{NOTIFY_STATE}"
    if not store.exists(bucket, key):
        return {}
    try:
        state = json.loads(store.read_text(bucket, key))
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def _url_id(url: str) -> str:
    """A service's name in ``notify.json``: its URL carries a token, so a hash of it."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def _put_state(
    store: Store,
    bucket: str,
    prefix: str,
    message: Message,
    result: SendResult,
    delivered: set[str],
) -> None:
    state = {
        "status": "sent" if result.ok else "failed",
        "at": utc_now_iso(),
        "title": message.title,
        "services_sent": result.sent,
        "services_failed": list(result.failed),
        "delivered_to": sorted(delivered),
        "attempts": result.attempts,
        "errors": list(result.errors),
    }
    store.put_text(bucket, f"{prefix}{NOTIFY_STATE}", json.dumps(state, indent=1),
                   content_type="application/json")  # fmt: skip
