"""``POST /slack/commands`` for any HTTP server (``make serve`` mounts it): the raw request in,
``(status, headers, body)`` out, through the same Bolt app as the Lambda function. Lazy
listeners run in Bolt's thread pool here.

Bolt's lazy-listener headers are dropped from what arrives: only Bolt itself may mark a
request as its own second pass (which skips the replay guard)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import BoltRequest

if TYPE_CHECKING:
    from collections.abc import Mapping

    from slack_bolt import App

PATH = "/slack/commands"
LAZY_HEADERS = frozenset({"x-slack-bolt-lazy-only", "x-slack-bolt-lazy-function-name"})


class SlackEndpoint:
    def __init__(self, app: App) -> None:
        self._app = app

    def handle(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return 400, {"content-type": "text/plain; charset=utf-8"}, b"the body is not UTF-8"
        kept = {name: value for name, value in headers.items() if name.lower() not in LAZY_HEADERS}
        response = self._app.dispatch(BoltRequest(body=text, headers=dict(kept)))
        return response.status, response.first_headers(), response.body.encode("utf-8")
