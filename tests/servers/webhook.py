"""A notification endpoint on loopback: what Apprise's own ``json://`` and ``form://`` plugins
post to, recorded as received (method, path, headers, body), answering 200, or a status of the
test's choice for a path (``fail``), so that retries and a failing service are seen from the
outside. Two paths are two services."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class WebhookServer:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._fail: dict[str, int] = {}  # path → the status it answers
        self.delay = 0.0  # seconds before each answer: a slow service keeps senders overlapping
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with server._lock:
                    server.received.append(
                        Received("POST", self.path, dict(self.headers.items()), body)
                    )
                    status = server._fail.get(self.path, 200)
                time.sleep(server.delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, scheme: str = "json", path: str = "/hook") -> str:
        """The Apprise URL of this endpoint (``json://127.0.0.1:PORT/hook``)."""
        return f"{scheme}://{self.netloc}{path}"

    def fail(self, path: str, status: int = 500) -> None:
        """Requests to ``path`` answer ``status`` until ``heal``."""
        with self._lock:
            self._fail[path] = status

    def heal(self) -> None:
        with self._lock:
            self._fail.clear()

    def to(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self._fail.clear()
            self.delay = 0.0

    def start(self) -> WebhookServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
