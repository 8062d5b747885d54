"""A forward HTTP proxy on loopback that holds the browser to the private-address policy.

Chromium resolves and connects by itself, so a Scrapy middleware cannot see an iframe, an
image or a ``fetch()`` of the rendered page. The browser is therefore started with
``--proxy-server=http://127.0.0.1:PORT --proxy-bypass-list=<-loopback>`` (the latter stops
Chromium from sending loopback traffic around the proxy) and every connection it makes passes
here: each request (absolute-form ``GET http://...``) and each tunnel (``CONNECT host:port``
for https and wss) is checked with ``AddressPolicy`` and connects to the vetted address, never
to a second lookup (DNS rebinding). A refused target gets a 403 and is counted.

Plain-http requests are parsed (http.server for the client side, http.client upstream) rather
than blindly relayed: Chromium reuses one proxy connection for requests to different hosts,
so each request must be checked and routed on its own. Threads, one per client connection;
``stop()`` closes every socket and joins every thread.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import logging
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from crawler.exceptions import BlockedAddressError, ConnectionRefusedRenderError, DnsLookupError
from crawler.netguard import non_public_kind

if TYPE_CHECKING:
    from collections.abc import Callable

    from crawler.netguard import AddressPolicy

logger = logging.getLogger(__name__)

# Request and response headers that concern one connection, not the message (RFC 9110 7.6.1).
_HOP_BY_HOP = {"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"}
_HOP_BY_HOP |= {"proxy-connection", "proxy-authenticate", "proxy-authorization"}
_CHUNK = 64 * 1024
_MAX_BLOCKED_KEPT = 1000
_MAX_VETTED_KEPT = 4096
BLOCKED_HEADER = "X-Rivalscope-Netguard"
# Chromium preferences the guard needs besides the proxy: WebRTC sends STUN over UDP straight
# to any address a page names, around any HTTP proxy (measured: 5 packets reached a loopback
# port); this policy keeps WebRTC to proxied TCP. The headless shell has no preference store
# (2 datagrams leaked with the preference alone), so chromium_arguments also forces the policy
# by switch.
CHROMIUM_PREFS = {"webrtc.ip_handling_policy": "disable_non_proxied_udp"}


def chromium_arguments(address: str) -> list[str]:
    """The flags that send all of Chromium's traffic through the proxy at ``address``;
    ``<-loopback>`` stops Chromium from sending loopback traffic around it."""
    return [
        f"--proxy-server=http://{address}",
        "--proxy-bypass-list=<-loopback>",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    ]


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
    ) -> None:
        self.policy = policy
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
        server = _Server(("127.0.0.1", 0), _ProxyHandler)
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
        if port == self._port and any(_is_local(a) for a in addresses):
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

    def connect(self, addresses: list[str], port: int) -> socket.socket:
        """A connection to the first vetted address that answers."""
        error: OSError = OSError("no address")
        for address in addresses:
            try:
                sock = socket.create_connection((address, port), timeout=self.connect_timeout)
            except OSError as exc:
                error = exc
                continue
            sock.settimeout(self.idle_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.track(sock)
            return sock
        raise error


def _is_local(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    return non_public_kind(ip) in ("loopback", "unspecified")


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Upstream(http.client.HTTPConnection):
    """An HTTP connection over a socket the proxy already opened to a vetted address."""

    def __init__(self, sock: socket.socket, host: str, port: int) -> None:
        super().__init__(host, port)
        self.sock = sock
        self.auto_open = 0  # never reconnect on its own: that would skip the policy


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive to the browser
    # A response head and body go out in separate writes: without this, Nagle's algorithm
    # and the client's delayed ACK cost 40 ms a request (measured: 52 ms vs 1 ms direct).
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.guard = self.server.guard
        self.connection.settimeout(self.guard.idle_timeout)
        self.guard.track(self.connection)

    def finish(self) -> None:
        self.guard.untrack(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)

    # --- refusals -----------------------------------------------------------------------------

    def _refuse(self, status: int, text: str, *, cause: str | None = None) -> None:
        """Answer a refusal ourselves; ``cause`` (an ``error_type`` of GUARD_REFUSALS) marks it
        with ``BLOCKED_HEADER`` so a plain download is recorded with the right error type, never as
        the site's own status."""
        body = f"{text}\n".encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if cause is not None:
            self.send_header(BLOCKED_HEADER, cause)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _vet_or_refuse(self, host: str, port: int, url: str) -> list[str] | None:
        try:
            return self.guard.vet(host, port, url)
        except BlockedAddressError as exc:
            self.guard.record_block(host, port, str(exc))
            self._refuse(
                403,
                f"Blocked by rivalscope's private-address guard: {exc}",
                cause=BlockedAddressError.error_type,
            )
        except DnsLookupError as exc:
            self._refuse(502, str(exc), cause=DnsLookupError.error_type)
        return None

    def _open(self, host: str, port: int, url: str) -> socket.socket | None:
        addresses = self._vet_or_refuse(host, port, url)
        if addresses is None:
            return None
        try:
            return self.guard.connect(addresses, port)
        except OSError as exc:
            self._refuse(
                502,
                f"{url}: cannot connect ({exc})",
                cause=ConnectionRefusedRenderError.error_type,
            )
            return None

    # --- CONNECT: https and wss tunnels -------------------------------------------------------

    def do_CONNECT(self) -> None:
        host, sep, port_text = self.path.rpartition(":")
        if not sep or not port_text.isdigit():
            self._refuse(400, f"bad CONNECT target {self.path!r}")
            return
        port = int(port_text)
        upstream = self._open(host, port, f"{host}:{port}")
        if upstream is None:
            return
        self.send_response_only(200, "Connection Established")
        self.end_headers()
        self.close_connection = True  # the connection is the tunnel's from now on
        pump = threading.Thread(
            target=_relay,
            args=(upstream.recv, self.connection),
            name="guard-proxy-tunnel",
            daemon=True,
        )
        pump.start()
        # Bytes the client sent after its CONNECT head are already in rfile's buffer.
        _relay(self.rfile.read1, upstream)
        pump.join()
        self.guard.untrack(upstream)
        upstream.close()

    # --- absolute-form requests: plain http ---------------------------------------------------

    def _forward(self) -> None:
        parts = urlsplit(self.path)
        if parts.scheme != "http" or not parts.hostname:
            self._refuse(400, "this proxy takes absolute http:// URLs and CONNECT only")
            return
        port = parts.port or 80
        sock = self._open(parts.hostname, port, self.path)
        if sock is None:
            return
        upstream = _Upstream(sock, parts.hostname, port)
        self._responding = False
        try:
            self._exchange(upstream, parts.netloc, parts.path or "/", parts.query)
        except (OSError, http.client.HTTPException) as exc:
            if self._responding:  # too late for an error page: cut the connection
                self.close_connection = True
            else:
                self._refuse(502, f"{self.path}: the server failed ({exc!r})")
        finally:
            self.guard.untrack(sock)
            upstream.close()

    def _exchange(self, upstream: _Upstream, netloc: str, path: str, query: str) -> None:
        target = f"{path}?{query}" if query else path
        upstream.putrequest(self.command, target, skip_host=True, skip_accept_encoding=True)
        if "Host" not in self.headers:  # HTTP/1.0 clients may leave it out
            upstream.putheader("Host", netloc)
        listed = {v.strip().lower() for v in self.headers.get("Connection", "").split(",")}
        for name, value in self.headers.items():
            if name.lower() not in _HOP_BY_HOP and name.lower() not in listed:
                upstream.putheader(name, value)
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        if chunked:
            upstream.putheader("Transfer-Encoding", "chunked")
        upstream.endheaders()
        if chunked:
            _copy_chunked_request(self.rfile, upstream)
        else:
            _copy_exact(self.rfile, upstream, int(self.headers.get("Content-Length") or 0))
        response = upstream.getresponse()
        self._relay_response(response)

    def _relay_response(self, response: http.client.HTTPResponse) -> None:
        no_body = self.command == "HEAD" or response.status in (204, 304)
        self._responding = True
        self.send_response_only(response.status, response.reason)
        listed = {v.strip().lower() for v in response.headers.get("Connection", "").split(",")}
        for name, value in response.headers.items():
            lower = name.lower()
            if lower in _HOP_BY_HOP or lower in listed:
                continue
            if lower == "content-length" and not no_body:
                continue  # set below from what http.client decoded
            self.send_header(name, value)
        if no_body:
            self.end_headers()
            return
        chunked = response.chunked and self.request_version != "HTTP/1.0"
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif response.length is not None:
            self.send_header("Content-Length", str(response.length))
        else:  # the body ends when the connection does
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        while data := response.read1(_CHUNK):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _forward


def _relay(read: Callable[[int], bytes], sink: socket.socket) -> None:
    """Copy what ``read`` returns until it ends, then pass the end on (half-close)."""
    try:
        while data := read(_CHUNK):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _copy_exact(source: Any, sink: http.client.HTTPConnection, length: int) -> None:
    while length > 0:
        data = source.read(min(length, _CHUNK))
        if not data:
            raise ConnectionError("the client closed the connection mid-body")
        sink.send(data)
        length -= len(data)


def _copy_chunked_request(source: Any, sink: http.client.HTTPConnection) -> None:
    """Re-send a chunked request body as it comes, chunk by chunk (trailers dropped)."""
    while True:
        size_line = source.readline(1024)
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while source.readline(8192) not in (b"\r\n", b"\n", b""):
                pass
            sink.send(b"0\r\n\r\n")
            return
        data = source.read(size)
        source.readline(8)
        sink.send(b"%x\r\n%s\r\n" % (len(data), data))
