"""The guard proxy chained to an outbound (corporate) proxy: real sockets, a real CONNECT proxy
on loopback standing in for Squid, and the guard's own exempted site behind it."""

from __future__ import annotations

import base64
import contextlib
import http.client
import socket
import socketserver
import threading
from typing import TYPE_CHECKING

import pytest

from crawler.netguard.outbound import OutboundProxy
from crawler.netguard.policy import AddressPolicy
from crawler.netguard.proxy import GuardProxy
from tests.integration.crawler.netguard.conftest import CONTROL_TEXT, EchoServer, free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration

CREDENTIALS = "crawler:s3cret"


class ConnectProxy:
    """An outbound proxy that takes only CONNECT, with Basic credentials, and records the
    targets it was asked for."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                request_line = self.rfile.readline().decode("latin-1").strip()
                headers = {}
                while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                method, target, _version = request_line.split(" ", 2)
                outer.targets.append(target)
                expected = "Basic " + base64.b64encode(CREDENTIALS.encode()).decode()
                if method != "CONNECT" or headers.get("proxy-authorization") != expected:
                    self.wfile.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
                    return
                host, _, port = target.rpartition(":")
                with socket.create_connection((host.strip("[]"), int(port)), timeout=5) as up:
                    self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    self.wfile.flush()
                    _pump_both_ways(self.connection, up)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _pump_both_ways(client: socket.socket, upstream: socket.socket) -> None:
    def copy(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    back = threading.Thread(target=copy, args=(upstream, client), daemon=True)
    back.start()
    copy(client, upstream)
    back.join(timeout=5)


class _CarriesLoopbackToo(OutboundProxy):
    """The tests' sites are on loopback, which a real outbound proxy never carries."""

    def carries(self, host: str, address: str) -> bool:
        return True


@pytest.fixture
def upstream() -> Iterator[ConnectProxy]:
    proxy = ConnectProxy()
    yield proxy
    proxy.stop()


def chained_guard(
    entries: list[str], upstream: ConnectProxy, credentials: str = CREDENTIALS
) -> GuardProxy:
    outbound = _CarriesLoopbackToo.parse(f"http://{credentials}@127.0.0.1:{upstream.port}")
    return GuardProxy(AddressPolicy.from_entries(entries), outbound=outbound)


def client(guard: GuardProxy) -> http.client.HTTPConnection:
    host, port = guard.address.rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=10)


def test_plain_http_goes_through_a_tunnel_to_the_vetted_address(
    upstream: ConnectProxy, exempt_site: SiteServer
) -> None:
    named = f"localhost:{exempt_site.port}"
    with chained_guard([exempt_site.netloc, named], upstream) as guard:
        connection = client(guard)
        with contextlib.closing(connection):
            connection.request("GET", f"http://{named}/control.txt")
            response = connection.getresponse()
            assert (response.status, response.read().decode().strip()) == (200, CONTROL_TEXT)
    # The outbound proxy was asked for the address the guard vetted, never for the name.
    assert upstream.targets[-1] == f"127.0.0.1:{exempt_site.port}"
    assert not [target for target in upstream.targets if "localhost" in target]


def test_a_connect_tunnel_is_chained_and_relays_both_ways(upstream: ConnectProxy) -> None:
    echo = EchoServer().start()
    try:
        with chained_guard([f"127.0.0.1:{echo.port}"], upstream) as guard:
            host, port = guard.address.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=10) as sock:
                sock.sendall(f"CONNECT 127.0.0.1:{echo.port} HTTP/1.1\r\n\r\n".encode())
                head = sock.recv(4096)
                assert head.startswith(b"HTTP/1.1 200")
                sock.sendall(b"through two proxies")
                assert sock.recv(4096) == b"through two proxies"
    finally:
        echo.stop()
    assert upstream.targets == [f"127.0.0.1:{echo.port}"]


def test_a_refused_target_never_reaches_the_outbound_proxy(
    upstream: ConnectProxy, exempt_site: SiteServer, secret: SiteServer
) -> None:
    with chained_guard([exempt_site.netloc], upstream) as guard:
        connection = client(guard)
        with contextlib.closing(connection):
            connection.request("GET", secret.url("/secret.txt"))
            assert connection.getresponse().status == 403
    assert upstream.targets == []
    assert secret.paths() == []


def test_an_outbound_proxy_refusal_is_a_502_that_names_the_proxy(
    upstream: ConnectProxy, exempt_site: SiteServer
) -> None:
    with chained_guard([exempt_site.netloc], upstream, credentials="crawler:wrong") as guard:
        connection = client(guard)
        with contextlib.closing(connection):
            connection.request("GET", exempt_site.url("/control.txt"))
            response = connection.getresponse()
            body = response.read().decode()
    assert response.status == 502
    assert f"the outbound proxy 127.0.0.1:{upstream.port} refused CONNECT" in body
    assert "407 Proxy Authentication Required" in body


def test_exempted_private_addresses_are_reached_directly(exempt_site: SiteServer) -> None:
    """An internal site is not behind the internet proxy: a real OutboundProxy does not carry
    a non-public address, so this one, on a port nobody listens on, is never tried."""
    outbound = OutboundProxy.parse(f"http://127.0.0.1:{free_port()}")
    with GuardProxy(AddressPolicy.from_entries([exempt_site.netloc]), outbound=outbound) as guard:
        connection = client(guard)
        with contextlib.closing(connection):
            connection.request("GET", exempt_site.url("/control.txt"))
            response = connection.getresponse()
            assert (response.status, response.read().decode().strip()) == (200, CONTROL_TEXT)
