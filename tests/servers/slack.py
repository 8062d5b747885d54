"""A real HTTP server that speaks enough of the Slack Web API for ``slack_sdk``, reached through
its ``base_url`` (``SLACK_API_URL``) exactly as a proxy would be, plus the two other addresses
Slack hands out: the upload URL of ``files.getUploadURLExternal`` and a command's
``response_url``.

It records every call: ``/api/{method}`` with its parameters (query, form or JSON, merged) and
bearer token, every uploaded file's bytes, every ``response_url`` message. ``fail[method] =
"error"`` makes a method answer ``{"ok": false, "error": ...}`` as Slack does (HTTP 200)."""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_UPLOAD = re.compile(r"^/upload/(?P<file_id>F[0-9A-Z]+)$")
_RESPONSE = re.compile(r"^/response/(?P<token>[A-Za-z0-9]+)$")


@dataclass
class SlackCall:
    method: str
    params: dict[str, Any]
    token: str | None


@dataclass
class _State:
    calls: list[SlackCall] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    responses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    changed: threading.Condition = field(default_factory=threading.Condition)


class SlackServer:
    def __init__(self) -> None:
        self.state = _State()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> SlackServer:
        state = self.state
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state, self))
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def origin(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        """What ``SLACK_API_URL`` is set to."""
        return f"{self.origin}/api/"

    def response_url(self, name: str = "cmd1") -> str:
        return f"{self.origin}/response/{name}"

    def reset(self) -> None:
        with self.state.lock:
            self.state.calls.clear()
            self.state.uploads.clear()
            self.state.responses.clear()
            self.state.fail.clear()

    def calls(self, method: str | None = None) -> list[SlackCall]:
        with self.state.lock:
            return [c for c in self.state.calls if method is None or c.method == method]

    def responses(self) -> list[tuple[str, dict[str, Any]]]:
        with self.state.lock:
            return list(self.state.responses)

    def wait_for_responses(
        self, count: int, timeout: float = 30.0
    ) -> list[tuple[str, dict[str, Any]]]:
        """The ``response_url`` messages once there are ``count`` (lazy listeners post them
        from a thread); fails after ``timeout`` seconds, which is a hang, not a speed goal."""
        with self.state.changed:
            self.state.changed.wait_for(lambda: len(self.state.responses) >= count, timeout)
        return self.responses()


def _handler_for(state: _State, server: SlackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            path = urlsplit(self.path).path
            if match := _UPLOAD.match(path):
                with state.lock:
                    state.uploads[match["file_id"]] = body
                self._answer(200, b"OK - " + str(len(body)).encode(), "text/plain")
                return
            if match := _RESPONSE.match(path):
                with state.changed:
                    with state.lock:
                        state.responses.append((match["token"], json.loads(body or b"{}")))
                    state.changed.notify_all()
                self._answer(200, b"ok", "text/plain")
                return
            if not path.startswith("/api/"):
                self._answer(404, b"not found", "text/plain")
                return
            method = path.removeprefix("/api/")
            params = self._params(body)
            auth = self.headers.get("Authorization") or ""
            token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
            with state.lock:
                state.calls.append(SlackCall(method, params, token))
                error = state.fail.get(method)
                number = next(state.ids)
            answer = (
                {"ok": False, "error": error} if error else _ok(method, params, number, server)
            )
            self._answer(200, json.dumps(answer).encode(), "application/json; charset=utf-8")

        def _params(self, body: bytes) -> dict[str, Any]:
            params: dict[str, Any] = {
                k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()
            }
            kind = self.headers.get("Content-Type") or ""
            if "json" in kind and body:
                params.update(json.loads(body))
            elif body:
                params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
            return params

        def _answer(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _ok(method: str, params: dict[str, Any], number: int, server: SlackServer) -> dict[str, Any]:
    if method == "chat.postMessage":
        return {"ok": True, "channel": params.get("channel"), "ts": f"1700000000.{number:06d}"}
    if method == "files.getUploadURLExternal":
        file_id = f"F{number:08d}"
        return {"ok": True, "file_id": file_id, "upload_url": f"{server.origin}/upload/{file_id}"}
    if method == "files.completeUploadExternal":
        files = json.loads(params.get("files") or "[]")
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
    if method == "auth.test":
        return {"ok": True, "team_id": "T1", "user_id": "UBOT", "bot_id": "B1"}
    return {"ok": True}
