"""Slack's side of a slash command, as Slack builds it: the form body it POSTs and the two
headers it signs it with (``v0=`` + HMAC-SHA256 of ``v0:{timestamp}:{body}`` under the app's
signing secret; docs.slack.dev, "Verifying requests from Slack")."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the docs' sample secret's shape


def command_body(text: str, response_url: str, *, channel: str = "C0PRICING") -> str:
    return urlencode(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",  # the deprecated verification token
            "team_id": "T0001",
            "team_domain": "example",
            "enterprise_id": "E0001",
            "channel_id": channel,
            "channel_name": "pricing",
            "user_id": "U2147483697",
            "user_name": "steve",
            "command": "/rivalscope",
            "text": text,
            "api_app_id": "A123456",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
    )


def signed_headers(
    body: str, *, secret: str = SECRET, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
