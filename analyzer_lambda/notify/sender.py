"""Hand a message to Apprise, one service (URL) at a time, with bounded retries: a service that
took the message is never sent it again, a failing one is retried after a delay doubled each
time, and what still failed is returned (never raised), so the caller reports it and the run's
data is not held up. Apprise does the talking (Slack, e-mail, Teams, Discord, SNS, webhooks...);
it sends the attachment to the services that take one and the text alone to the others."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import apprise

from analyzer_lambda.exceptions import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from analyzer_lambda.notify.message import Message

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    sent: int  # services that took the message
    delivered: tuple[str, ...] = field(default=(), repr=False)  # their URLs (tokens inside)
    failed: tuple[str, ...] = ()  # the services (scheme://host, no token) that did not
    attempts: int = 0  # every try, retries included
    errors: tuple[str, ...] = field(default_factory=tuple)  # one line per failed service

    @property
    def ok(self) -> bool:
        return not self.failed


def redact(url: str) -> str:
    """``scheme://host`` of an Apprise URL: enough to name the service, without its token. Many
    services put a token where the host goes (``slack://TokenA/...``, ``discord://WebhookID``):
    a "host" without a dot is shown as ``…``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").strip()
    return f"{parts.scheme}://{host if '.' in host or ':' in host else '…'}"


class _Redact(logging.Filter):
    """Apprise logs some URLs whole (``Unparseable URL ...``): each of ours becomes its
    ``redact`` form before the record reaches a handler (CloudWatch keeps what it is given)."""

    def __init__(self, urls: Sequence[str]) -> None:
        super().__init__()
        self._urls = sorted(urls, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for url in self._urls:
            text = text.replace(url, redact(url))
        record.msg, record.args = text, None
        return True


@contextlib.contextmanager
def _redacted_logs(urls: Sequence[str]) -> Iterator[None]:
    apprise_logger = logging.getLogger("apprise")
    redacting = _Redact(urls)
    apprise_logger.addFilter(redacting)
    try:
        yield
    finally:
        apprise_logger.removeFilter(redacting)


def check_urls(urls: Sequence[str]) -> None:
    """A ConfigurationError names (redacted) every URL Apprise does not understand."""
    with _redacted_logs(urls):
        bad = [redact(url) for url in urls if apprise.Apprise.instantiate(url) is None]
    if bad:
        raise ConfigurationError(
            f"NOTIFY_URLS: not an Apprise URL Apprise can use: {', '.join(bad)} "
            "(see https://github.com/caronc/apprise/wiki)"
        )


def send(
    message: Message,
    urls: Sequence[str],
    *,
    max_attempts: int,
    retry_delay: float,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult:
    check_urls(urls)
    with _redacted_logs(urls):
        return _send(message, urls, max_attempts, retry_delay, sleep)


def _send(
    message: Message,
    urls: Sequence[str],
    max_attempts: int,
    retry_delay: float,
    sleep: Callable[[float], None],
) -> SendResult:
    attach = apprise.AppriseAttachment()
    for path in message.attachments:
        attach.add(str(path))
    delivered: list[str] = []
    failed, errors, attempts = [], [], 0
    for url in urls:
        service = apprise.Apprise()
        service.add(url)
        for attempt in range(1, max_attempts + 1):
            attempts += 1
            ok = service.notify(
                title=message.title,
                body=message.body,
                body_format=apprise.NotifyFormat.MARKDOWN,
                attach=attach if message.attachments else None,
            )
            if ok:
                delivered.append(url)
                break
            logger.warning("notification to %s failed (attempt %d of %d)", redact(url),
                           attempt, max_attempts)  # fmt: skip
            if attempt < max_attempts:
                sleep(retry_delay * 2 ** (attempt - 1))
        else:
            failed.append(redact(url))
            errors.append(f"{redact(url)} failed {max_attempts} attempt(s)")
    return SendResult(len(delivered), tuple(delivered), tuple(failed), attempts, tuple(errors))
