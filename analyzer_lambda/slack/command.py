"""``/rivalscope URL [URL...] [prompt text]``: the slash command's text as a request, or an
error a user can act on. Pure: no Slack, no S3.

URLs come first, the rest is the prompt: the first word that is not a URL starts the prompt,
so ``https://a.example what changed at https://b.example?`` crawls one page and keeps the
second address as part of the question. Slack may send links wrapped (``<https://a.example>``
or ``<https://a.example|a.example>``, when the command escapes links); both forms are
unwrapped. No prompt text means the deployment's default prompt."""

from __future__ import annotations

import re
from dataclasses import dataclass

from analyzer_lambda.slack.mrkdwn import code, escape
from rivalscope_core.urls import BadUrlError, normalize_url

COMMAND = "/rivalscope"
USAGE = (
    f"Usage: `{COMMAND} URL [URL...] [prompt text]`, "
    f"e.g. `{COMMAND} https://a.example what changed in their pricing?`"
)

_WRAPPED = re.compile(r"^<(?P<url>[^|>]+)(?:\|[^>]*)?>$")
_LINK = re.compile(r"<(?P<url>[A-Za-z][A-Za-z0-9+.-]*://[^|>\s]+)(?:\|[^>]*)?>")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# a bare host name someone meant as a URL: ``acme.example`` or ``acme.example/pricing``
_BARE_HOST = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:[0-9]+)?(/\S*)?$")


class CommandError(ValueError):
    """The command cannot start a run; the message (Slack mrkdwn) says what to write instead."""


@dataclass(frozen=True)
class SlackCommand:
    urls: tuple[str, ...]
    prompt: str | None  # None: the default prompt


def parse_command(text: str, *, max_urls: int = 20) -> SlackCommand:
    """The URLs (checked, normalised, duplicates dropped) and the prompt of a command text."""
    urls: list[str] = []
    prompt = ""
    for word in re.finditer(r"\S+", text):
        url = _unwrap(word.group())
        if _SCHEME.match(url):
            try:
                urls.append(normalize_url(url))
            except BadUrlError as exc:
                raise CommandError(
                    f"Bad URL `{code(url)}`: {escape(_reason(exc))}\n{USAGE}"
                ) from exc
            continue
        if not urls and _BARE_HOST.match(url):
            raise CommandError(
                f"`{code(url)}` is not a full address: write `https://{code(url)}`\n{USAGE}"
            )
        prompt = _LINK.sub(r"\g<url>", text[word.start() :]).strip()  # line breaks kept
        break
    if not urls:
        raise CommandError(f"No URL given: the command starts with the pages to look at.\n{USAGE}")
    unique = tuple(dict.fromkeys(urls))
    if len(unique) > max_urls:
        raise CommandError(f"Too many URLs: {len(unique)} given, at most {max_urls} a command.")
    return SlackCommand(unique, prompt or None)


def _unwrap(word: str) -> str:
    match = _WRAPPED.match(word)
    return match["url"] if match else word


def _reason(exc: BadUrlError) -> str:
    """The checker's message without the URL it repeats (the reply shows it already)."""
    message = str(exc)
    return message.split(": ", 1)[1] if ": " in message else message
