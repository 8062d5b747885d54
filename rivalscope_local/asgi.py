"""The front door as an ASGI application, for uvicorn (``make serve``): each HTTP request
becomes a ``frontdoor.http.Request``, is handled on a worker thread (the core is blocking:
boto3, name resolution) and answered with its ``Response``. Nothing else: no framework."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from analyzer_lambda.frontdoor.http import ApiError, Request

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from analyzer_lambda.frontdoor.app import FrontDoor

    Receive = Callable[[], Awaitable[dict[str, Any]]]
    Send = Callable[[dict[str, Any]], Awaitable[None]]


def asgi_app(front: FrontDoor) -> Callable[[dict[str, Any], Receive, Send], Awaitable[None]]:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off (uvicorn lifespan="off"); no websockets
        body = await _read_body(receive, front.config.max_body)
        if body is None:
            response = ApiError(413, "body_too_large", "the body is too large").response()
        else:
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            }
            request = Request(
                method=scope["method"],
                path=scope["path"],
                headers=headers,
                body=body,
                query=dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))),
            )
            response = await asyncio.to_thread(front.handle, request)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                            for k, v in response.headers.items()],
            }
        )  # fmt: skip
        await send({"type": "http.response.body", "body": response.body})

    return app


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None past ``limit`` bytes (read no further)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)
