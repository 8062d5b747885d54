"""One static-site server on loopback, shared by the demo of ``make run``, the tests and the
crawl benchmark: a threaded HTTP server on port 0 that serves a directory, programmable routes,
or both, and logs every request (path, time, headers).

The log is what lets a test assert what a user of a polite crawler cares about: which paths
were requested, and when (politeness), and which never were (robots.txt, the private-address
guard, re-analysis fetching nothing). Routes serve generated pages (the benchmark's workload) and
misbehaving ones (slow, hanging, dropped); ``answer`` builds the common kind, optionally late.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Self

# A route answers (status, headers, body) or raises to drop the connection.
Route = Callable[["SiteRequestHandler"], tuple[int, dict[str, str], bytes]]

HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class LoggedRequest:
    path: str
    at: float
    headers: dict[str, str]


def answer(
    body: bytes, content_type: str = HTML, *, status: int = 200, delay: float = 0.0
) -> Route:
    """A route that answers ``body`` every time, ``delay`` seconds late (a slow server)."""

    def route(_handler: SiteRequestHandler) -> tuple[int, dict[str, str], bytes]:
        if delay:
            time.sleep(delay)
        return status, {"Content-Type": content_type}, body

    return route


class SiteRequestHandler(SimpleHTTPRequestHandler):
    """A route for the path if there is one, else the file under the root, else 404."""

    server: _SiteHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.record(self)
        route = self.server.routes.get(self.path) or self.server.routes.get(
            self.path.split("?", 1)[0]
        )
        if route is not None:
            self._send(*route(self))
        elif self.server.root is None:
            self._send(404, {"Content-Type": "text/plain"}, b"not found")
        else:
            super().do_GET()

    def do_HEAD(self) -> None:
        self.server.record(self)
        if self.server.root is None:
            self.send_response(404)
            self.end_headers()
        else:
            super().do_HEAD()

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": HTML, **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def end_headers(self) -> None:
        if self.server.cache_control is not None:
            self.send_header("Cache-Control", self.server.cache_control)
        super().end_headers()


class _SiteHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], root: Path | None, cache_control: str | None
    ) -> None:
        # With no root, SimpleHTTPRequestHandler would serve the working directory: never.
        handler = partial(SiteRequestHandler, directory=str(root) if root else "/nonexistent")
        super().__init__(address, handler)
        self.root = root
        self.cache_control = cache_control
        self.routes: dict[str, Route] = {}
        self.log: list[LoggedRequest] = []
        self.lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser that was killed, or a page abandoned on timeout, resets its connection:
        # expected, not worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def record(self, handler: SiteRequestHandler) -> None:
        with self.lock:
            self.log.append(LoggedRequest(handler.path, time.monotonic(), dict(handler.headers)))


class SiteServer:
    """Serves ``root`` (None: routes only) on ``host`` and ``port`` (0: any free one);
    ``url(path)`` builds absolute URLs. ``cache_control``, when given, goes on every answer.
    Binding happens here, so an unusable ``host`` or a taken ``port`` raises ``OSError`` at
    once."""

    def __init__(
        self,
        root: Path | None = None,
        host: str = "127.0.0.1",
        *,
        port: int = 0,
        cache_control: str | None = None,
    ) -> None:
        self._httpd = _SiteHTTPServer((host, port), root, cache_control)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> Self:
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
