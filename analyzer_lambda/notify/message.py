"""The notification of a run, from the facts its report folder holds. Pure: plain values in, a
``Message`` out; whether to send at all (``NOTIFY_ON``) is decided here too.

The body is Markdown (Apprise converts it for services that want HTML or plain text): the
digest as ``digest.md`` has it (or, without one, a line of counts), the counts, and the report's
link. The title names the run and its counts, so a phone's lock screen already tells the story.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rivalscope_core.records import BLOCKED_BY_SITE

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

COUNTED = ("changed", "new", "removed", "failed", "blocked")
CHANGES = ("changed", "new", "removed")
# the digest is meant to be ~300 words; a longer one is cut so that no service refuses it
MAX_DIGEST_CHARS = 6000


@dataclass(frozen=True)
class Counts:
    changed: int = 0
    new: int = 0
    removed: int = 0
    failed: int = 0
    blocked: int = 0
    known: bool = True  # False: the run has no changes.jsonl, what changed is not known

    @property
    def changes(self) -> int:
        return self.changed + self.new + self.removed

    @property
    def unread(self) -> int:
        """Pages this run could not read: what changed on them is not known."""
        return self.failed + self.blocked

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTED}

    def line(self) -> str:
        return ", ".join(f"{getattr(self, name)} {name}" for name in COUNTED)


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    attachments: tuple[Path, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "body": self.body,
            "attachments": [str(path) for path in self.attachments],
        }


def count_changes(records: Iterable[Mapping[str, Any]], *, blocked_fallback: int = 0) -> Counts:
    """Counts of ``changes.jsonl`` lines by status; a failed page whose error is a bot wall
    (``blocked_by_site``) counts as blocked, not failed. Lines that do not carry the error
    (the changes format has no ``error`` field yet) leave the blocked count to the report's
    (``blocked_fallback``), taken out of the failed ones."""
    statuses: Counter[str] = Counter()
    blocked_seen = False
    for record in records:
        status = str(record.get("status") or "")
        error = record.get("error")
        if status == "failed" and isinstance(error, dict) and "type" in error:
            blocked_seen = True
            if error["type"] == BLOCKED_BY_SITE:
                status = "blocked"
        statuses[status] += 1
    if not blocked_seen and blocked_fallback:
        moved = min(blocked_fallback, statuses["failed"])
        statuses["failed"] -= moved
        statuses["blocked"] += moved
    return Counts(
        changed=statuses["changed"],
        new=statuses["new"],
        removed=statuses["removed"],
        failed=statuses["failed"],
        blocked=statuses["blocked"],
    )


def should_send(counts: Counts, notify_on: str) -> tuple[bool, str]:
    """(send?, why not) for ``NOTIFY_ON``: ``always``, ``never``, or ``changes`` (a page
    changed, appeared or went). Under ``changes`` a run is also sent when what changed is not
    known — no ``changes.jsonl``, or a page that failed or was blocked — because silence would
    tell the team "nothing changed" about a page nobody could read."""
    if notify_on == "never":
        return False, "NOTIFY_ON=never"
    if notify_on == "changes" and counts.known and counts.changes == 0 and not counts.unread:
        return False, "no page changed, appeared, went, failed or was blocked (NOTIFY_ON=changes)"
    return True, ""


def build_message(
    *,
    run_id: str,
    counts: Counts,
    digest: str | None,
    report_link: str,
    attachment: Path | None = None,
) -> Message:
    if counts.known:
        title = f"rivalscope · run {run_id}: {counts.changes} change(s)"
        if counts.unread:
            title += f", {counts.unread} page(s) not read"
    else:
        title = f"rivalscope · run {run_id}: report ready"
    parts = []
    text = (digest or "").strip()
    if len(text) > MAX_DIGEST_CHARS:
        text = text[:MAX_DIGEST_CHARS].rsplit("\n", 1)[0] + "\n\n…(the rest is in the report)"
    if text:
        parts.append(text)
    if counts.known:
        parts.append(f"**Pages:** {counts.line()}")
    else:
        parts.append(
            f"**Pages:** {counts.failed} failed, {counts.blocked} blocked "
            "(no changes.jsonl: what changed is not known)"
        )
    parts.append(f"**Report:** {report_link}")
    return Message(
        title=title,
        body="\n\n".join(parts),
        attachments=(attachment,) if attachment is not None else (),
    )
