"""Slack's message text ("mrkdwn") from untrusted strings: page titles, model answers, what a
user typed. Slack reads ``<...>`` as links and mentions (``<!channel>`` notifies everyone), so
``&``, ``<`` and ``>`` are always escaped, as Slack's formatting guide asks; a page cannot ping
a channel or hide a link in its answer."""

from __future__ import annotations

from urllib.parse import urlsplit

ELLIPSIS = "…"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str, limit: int = 200) -> str:
    """Text for an inline code span: escaped, no backtick to close it early, cut to ``limit``."""
    return escape(clip(text.replace("`", "'"), limit))


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, an ellipsis marking a cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def link(url: str, label: str) -> str:
    """``<url|label>`` for an http(s) URL; anything else is shown as escaped text, never as a
    link (a ``javascript:`` or ``slack://`` target from a page is not followed)."""
    if urlsplit(url).scheme.lower() not in {"http", "https"} or any(c in url for c in "<>| "):
        return escape(label)
    return f"<{url}|{escape(label).replace('|', '¦')}>"
