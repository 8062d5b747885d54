from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analyzer_lambda.config import Config
from analyzer_lambda.exceptions import ConfigurationError
from analyzer_lambda.notify.message import (
    MAX_DIGEST_CHARS,
    Counts,
    build_message,
    count_changes,
    should_send,
)
from analyzer_lambda.notify.sender import redact


def test_counts_come_from_the_changes_and_a_bot_wall_is_blocked_not_failed() -> None:
    records: list[dict[str, Any]] = [
        {"status": "changed"}, {"status": "changed"}, {"status": "new"}, {"status": "removed"},
        {"status": "unchanged"}, {"status": "failed", "error": {"type": "timeout"}},
        {"status": "failed", "error": {"type": "blocked_by_site"}},
    ]  # fmt: skip
    counts = count_changes(records, blocked_fallback=5)  # the lines say it: no fallback
    assert counts.to_dict() == {"changed": 2, "new": 1, "removed": 1, "failed": 1, "blocked": 1}
    assert counts.changes == 4
    # lines without the error: the report's blocked count is taken out of the failed ones
    plain = count_changes([{"status": "failed"}, {"status": "failed"}], blocked_fallback=1)
    assert (plain.failed, plain.blocked) == (1, 1)
    # ...and never more than the failed lines: a quiet run is not made "blocked" by it
    quiet = count_changes([{"status": "unchanged"}], blocked_fallback=1)
    assert (quiet.failed, quiet.blocked, quiet.unread) == (0, 0, 0)


@pytest.mark.parametrize(
    ("counts", "notify_on", "sent"),
    [
        (Counts(changed=1), "changes", True),
        (Counts(removed=1), "changes", True),
        (Counts(failed=3, blocked=1), "changes", True),  # unread pages: not "nothing changed"
        (Counts(blocked=1), "changes", True),
        (Counts(), "changes", False),
        (Counts(failed=2), "never", False),
        (Counts(known=False), "changes", True),  # not known is not "nothing changed"
        (Counts(), "always", True),
        (Counts(changed=9), "never", False),
    ],
)
def test_notify_on(counts: Counts, notify_on: str, sent: bool) -> None:
    assert should_send(counts, notify_on)[0] is sent


def test_the_message_holds_digest_counts_link_and_crop() -> None:
    crop = Path("/tmp/x-1.after.webp")
    message = build_message(run_id="2026-11-30T06-00-00", counts=Counts(changed=2, new=1),
                            digest="- Acme: Starter $49 → $59\n", report_link="file:///r.html",
                            attachment=crop)  # fmt: skip
    assert message.title == "rivalscope · run 2026-11-30T06-00-00: 3 change(s)"
    assert message.body == (
        "- Acme: Starter $49 → $59\n\n"
        "**Pages:** 2 changed, 1 new, 0 removed, 0 failed, 0 blocked\n\n"
        "**Report:** file:///r.html"
    )
    assert message.attachments == (crop,)
    unread = build_message(run_id="r", counts=Counts(failed=1, blocked=2), digest=None,
                           report_link="l")  # fmt: skip
    assert unread.title == "rivalscope · run r: 0 change(s), 3 page(s) not read"
    long = build_message(run_id="r", counts=Counts(), digest="word\n" * 5000, report_link="l")
    assert len(long.body) < MAX_DIGEST_CHARS + 200
    assert "(the rest is in the report)" in long.body


def test_settings_are_read_once_and_checked() -> None:
    config = Config.from_env({"NOTIFY_URLS": "json://a/x, mailto://u:p@h.example  form://b/y"})
    assert config.notify_urls == ("json://a/x", "mailto://u:p@h.example", "form://b/y")
    # a comma inside a URL stays: only one before a scheme separates two
    listed = "mailto://u:p@h.example?to=a@x.example,b@x.example,json://a/x slack://A/B/C/#a,#b"
    assert Config.from_env({"NOTIFY_URLS": listed}).notify_urls == (
        "mailto://u:p@h.example?to=a@x.example,b@x.example", "json://a/x", "slack://A/B/C/#a,#b",
    )  # fmt: skip
    assert config.notify_on == "changes"
    assert "json://a" not in repr(config)  # URLs carry tokens: never in a log line
    assert not Config.from_env({}).notifies
    assert Config.from_env({"NOTIFY_URLS_SECRET_ARN": "arn:aws:secretsmanager:x"}).notifies
    assert Config.from_env({"NOTIFY_ON": "Always"}).notify_on == "always"
    with pytest.raises(ConfigurationError, match="NOTIFY_ON='weekly' must be one of"):
        Config.from_env({"NOTIFY_ON": "weekly"})
    with pytest.raises(ConfigurationError, match="NOTIFY_MAX_ATTEMPTS"):
        Config.from_env({"NOTIFY_MAX_ATTEMPTS": "0"})


def test_a_service_is_named_without_its_token() -> None:
    assert redact("slack://TokenA/TokenB/TokenC/#general") == "slack://…"
    assert redact("mailto://user:secret@mail.example.com") == "mailto://mail.example.com"
    assert redact("json://127.0.0.1:8080/hook?secret=1") == "json://127.0.0.1"
