"""A static test site on a loopback port (port 0), with a request log and programmable routes.

The log lets tests assert what a user of a polite crawler cares about: which paths were
requested, and when (politeness), and which never were (robots.txt, the private-address
guard, re-analysis fetching nothing)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SITE_ROOT = Path(__file__).resolve().parents[1] / "data" / "site"

# A route answers (status, headers, body) or raises to drop the connection.
Route = Callable[["_Handler"], tuple[int, dict[str, str], bytes]]


@dataclass(frozen=True)
class LoggedRequest:
    path: str
    at: float
    headers: dict[str, str]


class _Handler(SimpleHTTPRequestHandler):
    server: _SiteHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.record(self)
        route = self.server.routes.get(self.path) or self.server.routes.get(
            self.path.split("?", 1)[0]
        )
        if route is None:
            super().do_GET()
            return
        status, headers, body = route(self)
        self.send_response(status)
        headers = {"Content-Type": "text/html; charset=utf-8", **headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class _SiteHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]
    log: list[LoggedRequest]
    lock: threading.Lock

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser the test killed, or a page abandoned on timeout, resets its connection:
        # expected, not worth a traceback in the test output.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def record(self, handler: _Handler) -> None:
        with self.lock:
            self.log.append(LoggedRequest(handler.path, time.monotonic(), dict(handler.headers)))


class SiteServer:
    """Serves ``root`` on 127.0.0.1:0; ``url(path)`` builds absolute URLs."""

    def __init__(self, root: Path = SITE_ROOT, host: str = "127.0.0.1") -> None:
        self._httpd = _SiteHTTPServer((host, 0), partial(_Handler, directory=str(root)))
        self._httpd.routes = {}
        self._httpd.log = []
        self._httpd.lock = threading.Lock()
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return f"http://{self.netloc}{path}"

    def route(self, path: str, handler: Route) -> None:
        self._httpd.routes[path] = handler

    def requests(self) -> list[LoggedRequest]:
        with self._httpd.lock:
            return list(self._httpd.log)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests()]

    def clear_log(self) -> None:
        with self._httpd.lock:
            self._httpd.log.clear()
