"""A forward HTTP proxy on loopback that holds the browser to the private-address policy.

Chromium resolves and connects by itself, so a Scrapy middleware cannot see an iframe, an
image or a ``fetch()`` of the rendered page. The browser is therefore started with
``--proxy-server=http://127.0.0.1:PORT --proxy-bypass-list=<-loopback>`` (the latter stops
Chromium from sending loopback traffic around the proxy; ``crawler.browser.flags`` holds these
flags) and every connection it makes passes
here: each request (absolute-form ``GET http://...``) and each tunnel (``CONNECT host:port``
for https and wss) is checked with ``AddressPolicy`` and connects to the vetted address, never
to a second lookup (DNS rebinding). A refused target gets a 403 and is counted.

This module owns the proxy's life and its decisions (vet, connect, count refusals, track
sockets); ``relay`` speaks HTTP to the browser and the sites. Threads, one per client
connection; ``stop()`` closes every socket and joins every thread.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Self

from crawler.exceptions import BlockedAddressError
from crawler.netguard.policy import AddressPolicy, non_public_kind
from crawler.netguard.relay import ProxyHandler

if TYPE_CHECKING:
    from crawler.netguard.outbound import OutboundProxy

__all__ = ["BlockedTarget", "GuardProxy"]

logger = logging.getLogger(__name__)

_MAX_BLOCKED_KEPT = 1000
_MAX_VETTED_KEPT = 4096
_PROXY_HOST = ipaddress.IPv4Address("127.0.0.1")  # the only address the proxy listens on


@dataclass(frozen=True)
class BlockedTarget:
    host: str
    port: int
    reason: str


class _Server(ThreadingHTTPServer):
    """One daemon thread per connection, tracked here and joined by server_close(): stop()
    leaves no thread behind, yet a crawl that ends without stop() (a forced shutdown) is not
    held at interpreter exit by a browser's idle keep-alive connection — its browser is only
    killed by an atexit hook, which runs after the interpreter joins non-daemon threads. (The
    stdlib's block_on_close joins non-daemon threads only.)"""

    block_on_close = False
    guard: GuardProxy
    _connection_threads: list[threading.Thread]

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="guard-proxy-connection",
            daemon=True,
        )
        threads = vars(self).setdefault("_connection_threads", [])
        threads[:] = [t for t in threads if t.is_alive()]
        threads.append(thread)
        thread.start()

    def server_close(self) -> None:
        super().server_close()
        for thread in vars(self).get("_connection_threads", []):
            thread.join()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser that drops a connection mid-response is routine, not worth a traceback.
        logger.debug("guard proxy: connection from %s failed", client_address)


class GuardProxy:
    """``start()`` returns "127.0.0.1:PORT"; ``blocked`` lists refused targets (the first
    1000), ``blocked_count`` counts them all."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        connect_timeout: float = 10.0,
        idle_timeout: float = 120.0,
        vetted_ttl: float = 60.0,
        outbound: OutboundProxy | None = None,
    ) -> None:
        self.policy = policy
        self.outbound = outbound
        # Vetted addresses are reused for vetted_ttl seconds: Chromium resolves nothing itself
        # behind a proxy, so without this every plain-http subresource would cost a lookup.
        # Pinning the address also keeps a rebinding DNS answer out for that long.
        self.vetted_ttl = vetted_ttl
        self._vetted: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.blocked: list[BlockedTarget] = []
        self.blocked_count = 0
        self._lock = threading.Lock()
        self._logged_hosts: set[str] = set()
        self._sockets: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._stopping = False

    @property
    def address(self) -> str:
        if self._server is None:
            raise RuntimeError("the guard proxy is not running")
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> str:
        server = _Server((str(_PROXY_HOST), 0), ProxyHandler)
        server.guard = self
        self._server = server
        self._port = int(server.server_address[1])
        self._stopping = False
        self._thread = threading.Thread(
            target=server.serve_forever,
            name="guard-proxy",
            kwargs={"poll_interval": 0.1},
            daemon=True,  # a forgotten stop() must not hold the process open
        )
        self._thread.start()
        return self.address

    def stop(self) -> None:
        """Stop accepting, cut every open connection (idle keep-alive ones too) and join."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._stopping = True  # a socket opened from now on is shut at once (track)
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            _shutdown(sock)
        server.server_close()  # joins the connection threads

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- used by the handler threads ----------------------------------------------------------

    def vet(self, host: str, port: int, url: str) -> list[str]:
        """The addresses to connect to, or BlockedAddressError. The proxy itself is always
        refused, whatever the exemptions: a page must not drive the proxy through itself."""
        key = (host.lower(), port)
        with self._lock:
            expires, addresses = self._vetted.get(key, (0.0, []))
        if expires < time.monotonic():
            addresses = self.policy.check_all(host, port, url=url)
            with self._lock:
                if len(self._vetted) >= _MAX_VETTED_KEPT:
                    self._vetted.clear()
                self._vetted[key] = (time.monotonic() + self.vetted_ttl, addresses)
        if port == self._port and any(_reaches_the_proxy(a) for a in addresses):
            raise BlockedAddressError(f"{url} is rivalscope's own guard proxy")
        return addresses

    def record_block(self, host: str, port: int, reason: str) -> None:
        with self._lock:
            self.blocked_count += 1
            if len(self.blocked) < _MAX_BLOCKED_KEPT:
                self.blocked.append(BlockedTarget(host, port, reason))
            first = host not in self._logged_hosts
            self._logged_hosts.add(host)
        if first:
            logger.info("Blocked a browser request: %s", reason)

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
            stopping = self._stopping
        if stopping:
            _shutdown(sock)

    def untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def connect(self, host: str, addresses: list[str], port: int) -> socket.socket:
        """A connection to the first vetted address of ``host`` that answers, through the
        outbound proxy when it carries that address."""
        error: OSError = OSError("no address")
        for address in addresses:
            try:
                if self.outbound is not None and self.outbound.carries(host, address):
                    sock = self.outbound.open_tunnel(address, port, self.connect_timeout)
                else:
                    sock = socket.create_connection((address, port), timeout=self.connect_timeout)
            except OSError as exc:
                error = exc
                continue
            sock.settimeout(self.idle_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.track(sock)
            return sock
        raise error


def _reaches_the_proxy(address: str) -> bool:
    """Whether a connection to ``address`` at the proxy's port would reach the proxy, which
    listens on 127.0.0.1 only: that address (also as IPv4-mapped IPv6) or an unspecified one
    (0.0.0.0 connects to the local host). Another loopback address at the same port number is
    another socket: a site served on 127.0.0.5 whose port the system also gave the proxy on
    127.0.0.1 was refused as the proxy (bench/RESULTS.md, a bench round of 10 refused pages)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip == _PROXY_HOST or non_public_kind(ip) == "unspecified"


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
