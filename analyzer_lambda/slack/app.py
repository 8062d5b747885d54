"""The ``/rivalscope`` slash command as a Bolt app: acknowledge within Slack's 3 s, then start
the run in a lazy listener (a second, asynchronous invocation of the function in AWS; a thread
under ``make serve``), and keep where to answer for the run-complete step.

Who may call: Bolt checks every request's signature with the signing secret
(``v0:timestamp:body``, HMAC-SHA256) and refuses a timestamp more than 5 minutes from now;
``_refuse_replays`` then refuses a signed request seen before, by a conditional write of its
signature's digest to S3 (``SlackStore.first_sight``). S3, not a cache in memory, because
Lambda runs many instances side by side and a replay may reach any of them; a claim costs one
PUT (a few tens of ms) and expires with the bucket's lifecycle rule after a day, long after
the 5-minute window has closed it anyway. The lazy listener's own invocation carries the same
signature and is let through: it is our own (``lambda_handler`` drops the lazy marker from
anything that arrives over HTTP, so a caller cannot claim to be one).

The app needs no bot token: it answers through the command's ``response_url`` only; the token
is read by the analyser, which posts the finished run (least privilege)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltResponse
from slack_bolt.authorization import AuthorizeResult

from analyzer_lambda.exceptions import StoreError
from analyzer_lambda.slack import messages
from analyzer_lambda.slack.command import CommandError, parse_command
from analyzer_lambda.slack.starter import RunRequestError
from analyzer_lambda.slack.store import ReplyTo
from rivalscope_core.keys import RunRef

if TYPE_CHECKING:
    from collections.abc import Callable

    from slack_bolt import Ack, BoltRequest, Respond

    from analyzer_lambda.slack.starter import RunStarter
    from analyzer_lambda.slack.store import SlackStore

logger = logging.getLogger(__name__)

# ``/rivalscope``, or a name an admin gave the same command (``/rivalscope-dev``)
COMMAND_NAMES = re.compile(r"^/rivalscope[\w-]*$")


def build_app(
    *, signing_secret: str, starter: RunStarter, store: SlackStore, max_urls: int = 20
) -> App:
    app = App(
        signing_secret=signing_secret,
        # Nothing runs after the answer in a FaaS: the slow part is a lazy listener.
        process_before_response=True,
        authorize=_no_token,
        token_verification_enabled=False,
        logger=logging.getLogger("analyzer_lambda.slack.bolt"),
    )
    app.middleware(_refuse_replays(store))

    def acknowledge(ack: Ack, command: dict[str, Any]) -> None:
        try:
            parsed = parse_command(str(command.get("text") or ""), max_urls=max_urls)
        except CommandError as exc:
            ack(text=str(exc), response_type="ephemeral")
            return
        ack(text=messages.ack_text(parsed), response_type="in_channel")

    def start(command: dict[str, Any], respond: Respond) -> None:
        _start_run(command, respond, starter, store, max_urls)

    app.command(COMMAND_NAMES)(ack=acknowledge, lazy=[start])
    return app


def _start_run(
    command: dict[str, Any],
    respond: Respond,
    starter: RunStarter,
    store: SlackStore,
    max_urls: int,
) -> None:
    """The lazy half: never raises (a raise would make Lambda retry the invocation, starting
    the run twice); every outcome is told to the user."""
    text = str(command.get("text") or "")
    try:
        parsed = parse_command(text, max_urls=max_urls)
    except CommandError:
        return  # the acknowledgement said so already
    try:
        started = starter.start_run(parsed.urls, parsed.prompt)
    except RunRequestError as exc:
        respond(text=messages.refused_text(str(exc)), response_type="in_channel")
        return
    except Exception:
        logger.exception("the run of a Slack command did not start")
        respond(text=messages.FAULT_TEXT, response_type="in_channel")
        return
    reply = ReplyTo(
        channel_id=str(command.get("channel_id") or ""),
        user_id=str(command.get("user_id") or ""),
        team_id=str(command.get("team_id") or ""),
        response_url=str(command.get("response_url") or ""),
        command=f"{command.get('command') or '/rivalscope'} {text}".strip(),
    )
    note = ""
    try:
        store.put_reply(RunRef(store.bucket, started.spider, started.run), reply)
    except StoreError as exc:
        logger.error("run %s: reply record not written: %s", started.run, exc)
        note = (
            "\n:warning: The results cannot be posted here (storage failed); use the run status."
        )
    respond(text=messages.started_text(started) + note, response_type="ephemeral")


def _refuse_replays(store: SlackStore) -> Callable[..., BoltResponse | None]:
    def refuse_replays(request: BoltRequest, next: Callable[[], None]) -> BoltResponse | None:
        if request.lazy_only:  # our own second invocation of a request claimed already
            next()
            return None
        timestamp = request.headers.get("x-slack-request-timestamp", [""])[0]
        signature = request.headers.get("x-slack-signature", [""])[0]
        try:
            first = store.first_sight(timestamp, signature)
        except StoreError as exc:
            logger.error("replay guard unavailable, request refused: %s", exc)
            return BoltResponse(status=503, body={"error": "temporarily unavailable"})
        if not first:
            logger.warning("replayed Slack request refused (timestamp %s)", timestamp)
            return BoltResponse(status=401, body={"error": "replayed request"})
        next()
        return None

    return refuse_replays


def _no_token(
    enterprise_id: str | None, team_id: str | None, user_id: str | None
) -> AuthorizeResult:
    """Every signed request is authorised, without a token (the app only answers through
    ``response_url``): no ``auth.test`` call inside the 3 s either."""
    return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)
