"""The front door's own request and response values: what both servers (the Lambda function
URL, uvicorn in ``make serve``) turn their requests into, so the core never sees either.

Headers are a plain dict with lower-case names (HTTP header names are case-insensitive; both
servers hand them over lower-cased or are lower-cased here). ``identity`` is the caller the
server itself authenticated (the function URL's IAM principal), or None."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    query: dict[str, str] = field(default_factory=dict)
    #: the caller's IAM ARN when the function URL checked a SigV4 signature (AuthType AWS_IAM)
    identity: str | None = None

    @staticmethod
    def lower(headers: dict[str, str]) -> dict[str, str]:
        return {name.lower(): value for name, value in headers.items()}


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


# Every JSON answer: never cached (run states change; presigned URLs are credentials) and
# never sniffed as anything else.
_JSON_HEADERS = {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
    return Response(status, body, {**_JSON_HEADERS, **(headers or {})})


class ApiError(Exception):
    """An answer other than success, as ``{"error": {"code", "message", ...details}}``: the
    message says what to fix, the code is stable for programs."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details

    def response(self) -> Response:
        error = {"code": self.code, "message": self.message, **self.details}
        return json_response(self.status, {"error": error}, self.headers)
