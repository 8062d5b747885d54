"""The answer the guard proxy gives, itself, to a request it will not pass on: a small plain-text
HTTP message, marked with ``wire.BLOCKED_HEADER`` when it is one of
the guard's refusals, so a plain download or the render flow records the right error type and
never mistakes it for the site's own status. Both of the proxy's sides (``relay`` for HTTP,
``socks`` for the browser's SOCKS5 connections) send the same bytes."""

from __future__ import annotations

from http import HTTPStatus

from crawler.netguard.wire import BLOCKED_HEADER


def refusal_message(
    status: int,
    text: str,
    cause: str | None = None,
    *,
    head_only: bool = False,
    close: bool = False,
) -> bytes:
    """The whole HTTP/1.1 response; ``cause`` is an ``error_type`` of GUARD_REFUSALS,
    ``head_only`` leaves the body out (the answer to a HEAD request), ``close`` says the
    connection ends after it."""
    body = f"{text}\n".encode()
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "Content-Type: text/plain; charset=utf-8",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
    ]
    if close:
        lines.append("Connection: close")
    if cause is not None:
        lines.append(f"{BLOCKED_HEADER}: {cause}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    return head if head_only else head + body
