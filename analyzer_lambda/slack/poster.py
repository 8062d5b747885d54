"""Posting a finished run into the channel its command came from, through the Slack Web API
(``slack_sdk``'s ``WebClient``; ``SLACK_API_URL`` is its ``base_url``).

One header message (the tally and the full report), then per page one message with its
analysis and its image uploaded with ``files_upload_v2`` (``files.getUploadURLExternal``, the
upload, ``files.completeUploadExternal``: the retired ``files.upload`` is never called). At most
``max_pages`` pages are posted; the header says when there are more (the report has them all).

A fault of one page (a rejected message, an image that cannot be read) costs that page only.
When the bot may not post at all (not in the channel, a revoked token), the command's
``response_url`` carries a short answer with the report's link instead."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError, SlackClientError

from analyzer_lambda.exceptions import StoreError
from analyzer_lambda.slack import messages

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from analyzer_lambda.slack.messages import PageAnswer
    from analyzer_lambda.slack.store import ReplyTo, SlackStore

logger = logging.getLogger(__name__)

# errors after which no other call of this answer can succeed either
_FATAL = {
    "not_in_channel", "channel_not_found", "is_archived", "invalid_auth", "not_authed",
    "account_inactive", "token_revoked", "token_expired", "missing_scope", "no_permission",
    "restricted_action", "ekm_access_denied",
}  # fmt: skip


@dataclass
class PostOutcome:
    messages: int = 0
    images: int = 0
    failed: list[str] = field(default_factory=list)
    fallback: str | None = None  # the error that sent the answer through response_url


def post_answer(
    client: WebClient,
    store: SlackStore,
    reply: ReplyTo,
    pages: list[PageAnswer],
    report_url: str,
    *,
    max_pages: int,
) -> PostOutcome:
    outcome = PostOutcome()
    shown = pages[:max_pages]
    try:
        header = messages.header_message(reply.command, pages, report_url, len(shown))
        client.chat_postMessage(channel=reply.channel_id, unfurl_links=False, **header)
        outcome.messages += 1
        for page in shown:
            _post_page(client, store, reply.channel_id, page, report_url, outcome)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "error")
        logger.error("cannot post to Slack channel %s: %s", reply.channel_id, error)
        outcome.fallback = error
        _fall_back(reply, error, report_url)
    return outcome


def _post_page(
    client: WebClient,
    store: SlackStore,
    channel: str,
    page: PageAnswer,
    report_url: str,
    outcome: PostOutcome,
) -> None:
    """Raises ``SlackApiError`` only for a fatal error; any other fault is counted."""
    try:
        client.chat_postMessage(
            channel=channel,
            unfurl_links=False,
            unfurl_media=False,
            **messages.page_message(page, report_url),
        )
        outcome.messages += 1
        if page.image_key is None:
            return
        data = store.read_bytes(page.image_key)
        if data is None:
            raise StoreError(f"{page.image_key} is missing")
        name = page.image_key.rsplit("/", 1)[-1]
        client.files_upload_v2(
            channel=channel,
            file=data,
            filename=name,
            title=messages.image_title(page),
            alt_txt=messages.image_title(page),
        )
        outcome.images += 1
    except SlackApiError as exc:
        if str(exc.response.get("error")) in _FATAL:
            raise
        logger.warning("Slack refused page %s: %s", page.url, exc.response.get("error"))
        outcome.failed.append(page.url)
    except (SlackClientError, StoreError, OSError) as exc:
        logger.warning("page %s not fully posted: %s", page.url, exc)
        outcome.failed.append(page.url)


def _fall_back(reply: ReplyTo, error: str, report_url: str) -> None:
    """The command's ``response_url`` (valid 30 minutes after the command): a short note to the
    user with the report's link. Best effort: a run that took longer loses only this note."""
    from slack_sdk.webhook import WebhookClient

    if not reply.response_url:
        return
    try:
        answer = WebhookClient(reply.response_url, timeout=10).send(
            text=messages.cannot_post_text(error, report_url), response_type="ephemeral"
        )
    except (SlackClientError, OSError) as exc:
        logger.warning("the response_url fallback failed too: %s", exc)
        return
    if answer.status_code != 200:
        logger.warning(
            "the response_url fallback was refused: %s %s", answer.status_code, answer.body
        )
