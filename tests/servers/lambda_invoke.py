"""A real HTTP server that answers the Lambda ``Invoke`` API (``POST
/2015-03-31/functions/{name}/invocations``) as Lambda does for an asynchronous invocation: 202,
the event recorded, not run. Reached through botocore's ``AWS_ENDPOINT_URL_LAMBDA``: a test then
hands the recorded event to the handler, which is what Lambda would do with it.

moto's Lambda runs a function only in Docker, which this machine does not have."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")


@dataclass(frozen=True)
class Invocation:
    function: str
    invocation_type: str
    event: dict[str, Any]


class LambdaInvokeServer:
    def __init__(self) -> None:
        self.invocations: list[Invocation] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> LambdaInvokeServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                match = _INVOKE.match(self.path.split("?", 1)[0])
                if match is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                kind = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
                with owner._lock:
                    owner.invocations.append(
                        Invocation(unquote(match["name"]), kind, json.loads(body or b"{}"))
                    )
                self.send_response(202 if kind == "Event" else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"
