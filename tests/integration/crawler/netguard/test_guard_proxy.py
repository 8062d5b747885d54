"""The browser's forward proxy, driven with real sockets on loopback: exempted targets are
reached (plain requests, bodies, chunked replies, CONNECT tunnels), every other loopback port
is refused with a 403 and never sees a connection, and stop() leaves nothing behind."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from typing import TYPE_CHECKING

import pytest

from crawler.netguard.policy import AddressPolicy
from crawler.netguard.proxy import GuardProxy
from crawler.netguard.wire import BLOCKED_HEADER
from tests.integration.crawler.netguard.conftest import CONTROL_TEXT, EchoServer, free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration


@pytest.fixture
def proxy(exempt_site: SiteServer, body_server: str, echo: EchoServer) -> Iterator[GuardProxy]:
    entries = [exempt_site.netloc, body_server, f"127.0.0.1:{echo.port}"]
    with GuardProxy(AddressPolicy.from_entries(entries)) as guard:
        yield guard


def client(proxy: GuardProxy) -> http.client.HTTPConnection:
    host, port = proxy.address.rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=10)


@pytest.fixture
def conn(proxy: GuardProxy) -> Iterator[http.client.HTTPConnection]:
    connection = client(proxy)
    yield connection
    connection.close()


def connect_tunnel(proxy: GuardProxy, target: str) -> tuple[socket.socket, bytes]:
    """Open a CONNECT tunnel; return the socket and the proxy's reply head."""
    host, port = proxy.address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        data = sock.recv(4096)
        if not data:
            break
        head += data
    return sock, head


def test_a_request_to_an_exempted_server_goes_through(
    proxy: GuardProxy, conn: http.client.HTTPConnection, exempt_site: SiteServer
) -> None:
    exempt_site.clear_log()
    conn.request("GET", exempt_site.url("/control.txt?x=1"))
    response = conn.getresponse()
    assert response.status == 200
    assert response.read().decode().strip() == CONTROL_TEXT
    assert exempt_site.paths() == ["/control.txt?x=1"]
    assert exempt_site.requests()[0].headers["Host"] == exempt_site.netloc
    assert proxy.blocked == []


def test_a_non_exempted_loopback_port_gets_403_and_no_request(
    proxy: GuardProxy, conn: http.client.HTTPConnection, secret: SiteServer
) -> None:
    conn.request("GET", secret.url("/secret.txt"))
    response = conn.getresponse()
    body = response.read().decode()
    assert response.status == 403
    assert response.headers[BLOCKED_HEADER] == "blocked_address"
    assert f"ALLOW_PRIVATE_ADDRESSES={secret.netloc}" in body
    assert "SECRET" not in body
    assert secret.requests() == []
    assert [(b.host, b.port) for b in proxy.blocked] == [("127.0.0.1", secret.port)]


def test_a_hostname_resolving_to_loopback_is_refused(
    proxy: GuardProxy, conn: http.client.HTTPConnection, secret: SiteServer
) -> None:
    conn.request("GET", f"http://localhost:{secret.port}/secret.txt")
    response = conn.getresponse()
    assert response.status == 403
    assert "resolves to 127.0.0.1, a loopback address" in response.read().decode()
    assert secret.requests() == []


def test_each_request_on_a_kept_alive_connection_is_checked_on_its_own(
    proxy: GuardProxy,
    conn: http.client.HTTPConnection,
    exempt_site: SiteServer,
    secret: SiteServer,
) -> None:
    """Chromium reuses one proxy connection for requests to different hosts."""
    statuses = []
    sockets = set()
    for url in (exempt_site.url("/control.txt"), secret.url("/secret.txt"), exempt_site.url("/")):
        conn.request("GET", url)
        response = conn.getresponse()
        response.read()
        statuses.append(response.status)
        sockets.add(id(conn.sock))
    assert statuses == [200, 403, 200]
    assert len(sockets) == 1  # one client connection throughout
    assert secret.requests() == []


def test_request_bodies_and_chunked_replies_are_relayed(
    proxy: GuardProxy, conn: http.client.HTTPConnection, body_server: str
) -> None:
    payload = b"x" * 200_000 + b"end"
    conn.request("POST", f"http://{body_server}/echo", body=payload)
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, payload)

    conn.request("GET", f"http://{body_server}/chunked")
    response = conn.getresponse()
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.getheader("X-Seen-Host") == body_server
    assert response.read() == b"first,second,third"


def test_a_connect_tunnel_to_an_exempted_port_relays_both_ways(
    proxy: GuardProxy, echo: EchoServer
) -> None:
    sock, head = connect_tunnel(proxy, f"127.0.0.1:{echo.port}")
    with sock:
        assert head.startswith(b"HTTP/1.1 200")
        sock.sendall(b"hello through the tunnel")
        assert sock.recv(4096) == b"hello through the tunnel"
    assert echo.connections == 1


def test_a_connect_tunnel_to_another_port_is_refused(
    proxy: GuardProxy, other_echo: EchoServer
) -> None:
    sock, head = connect_tunnel(proxy, f"127.0.0.1:{other_echo.port}")
    sock.close()
    assert head.startswith(b"HTTP/1.1 403")
    assert other_echo.connections == 0
    assert proxy.blocked_count == 1


def test_the_proxy_never_forwards_to_itself_even_when_loopback_is_exempted() -> None:
    with GuardProxy(AddressPolicy.from_entries(["127.0.0.0/8"])) as guard:
        sock, head = connect_tunnel(guard, guard.address)
        sock.close()
        assert head.startswith(b"HTTP/1.1 403")
        assert guard.blocked[0].reason.endswith("is rivalscope's own guard proxy")


@pytest.mark.parametrize("target", ["0.0.0.0", "[::ffff:127.0.0.1]"])
def test_the_proxy_is_refused_under_any_address_that_reaches_it(target: str) -> None:
    with GuardProxy(AddressPolicy.from_entries(["127.0.0.0/8", "0.0.0.0/32", "::/0"])) as guard:
        port = guard.address.rsplit(":", 1)[1]
        sock, head = connect_tunnel(guard, f"{target}:{port}")
        sock.close()
        assert head.startswith(b"HTTP/1.1 403")
        assert guard.blocked[0].reason.endswith("is rivalscope's own guard proxy")


def test_a_site_on_another_loopback_address_at_the_proxys_port_number_is_reached() -> None:
    """The system may give the proxy on 127.0.0.1 the port number a site has on 127.0.0.5:
    that site is not the proxy (a bench round once lost all its pages of one site so)."""
    with GuardProxy(AddressPolicy.from_entries(["127.0.0.0/8"])) as guard:
        port = int(guard.address.rsplit(":", 1)[1])
        site = EchoServer("127.0.0.5", port).start()
        try:
            sock, head = connect_tunnel(guard, f"127.0.0.5:{port}")
            with sock:
                assert head.startswith(b"HTTP/1.1 200"), head
                sock.sendall(b"not the proxy")
                assert sock.recv(4096) == b"not the proxy"
        finally:
            site.stop()
        assert site.connections == 1
        assert guard.blocked_count == 0


def guard_threads() -> set[threading.Thread]:
    """The proxy's own threads. The echo server's handler thread for the tunnel ends on its
    own once the proxy has cut the upstream side, so it is no measure of stop()."""
    return {t for t in threading.enumerate() if t.name.startswith("guard-proxy")}


def test_stop_closes_idle_connections_and_tunnels_and_leaves_no_thread(echo: EchoServer) -> None:
    before = guard_threads()
    guard = GuardProxy(AddressPolicy.from_entries([f"127.0.0.1:{echo.port}"]))
    address = guard.start()
    tunnel, head = connect_tunnel(guard, f"127.0.0.1:{echo.port}")
    idle = client(guard)
    with tunnel, contextlib.closing(idle):
        assert head.startswith(b"HTTP/1.1 200")
        idle.request("GET", f"http://127.0.0.1:{free_port()}/")  # refused: not exempted
        assert idle.getresponse().read()
        # loop, idle handler, tunnel handler and pump (the pump starts just after the 200)
        deadline = time.monotonic() + 10
        while len(guard_threads() - before) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(guard_threads() - before) == 4
        started = time.monotonic()
        guard.stop()
        assert time.monotonic() - started < 3
        assert guard_threads() - before == set()
        assert tunnel.recv(10) == b""  # the tunnel was closed
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(address.rsplit(":", 1)[1])), timeout=2)


def test_the_proxy_connects_to_the_address_it_vetted_never_to_a_second_lookup(
    exempt_site: SiteServer,
) -> None:
    """DNS rebinding: a name answers the exempted address when checked, then another
    loopback address, where a server waits on the same port. The proxy connects to what it
    checked; a later answer is checked anew."""
    rebound = EchoServer("127.0.0.2", exempt_site.port).start()
    answers = iter([["127.0.0.1"], ["127.0.0.2"], ["127.0.0.2"]])
    lookups: list[str] = []

    def rebinding_dns(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers)

    policy = AddressPolicy.from_entries([exempt_site.netloc], resolver=rebinding_dns)
    url = f"http://rebind.test:{exempt_site.port}/control.txt"
    try:
        with GuardProxy(policy, vetted_ttl=0) as guard:
            connection = client(guard)
            connection.request("GET", url)
            first = connection.getresponse()
            assert (first.status, first.read().decode().strip()) == (200, CONTROL_TEXT)
            connection.request("GET", url)
            second = connection.getresponse()
            assert second.status == 403
            assert "resolves to 127.0.0.2" in second.read().decode()
            connection.close()
    finally:
        rebound.stop()
    assert lookups == ["rebind.test", "rebind.test"]
    assert rebound.connections == 0


def test_vetted_addresses_are_pinned_for_a_while(exempt_site: SiteServer) -> None:
    lookups: list[str] = []

    def counting_dns(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    policy = AddressPolicy.from_entries([exempt_site.netloc], resolver=counting_dns)
    with GuardProxy(policy) as guard:
        connection = client(guard)
        for _ in range(3):
            connection.request("GET", f"http://pinned.test:{exempt_site.port}/control.txt")
            response = connection.getresponse()
            assert (response.status, response.read().decode().strip()) == (200, CONTROL_TEXT)
        connection.close()
    assert lookups == ["pinned.test"]


def test_the_browsers_connection_sends_a_response_head_and_body_at_once(
    proxy: GuardProxy, conn: http.client.HTTPConnection, exempt_site: SiteServer
) -> None:
    """Nagle's algorithm against the client's delayed ACK once cost 40 ms per request (52 vs
    1 ms direct): the proxy writes a response's head and body apart, so its socket to the
    browser must have TCP_NODELAY. Checked on that socket, while the keep-alive connection is
    open, rather than by timing requests on a shared machine."""
    conn.request("GET", exempt_site.url("/control.txt"))
    assert conn.getresponse().read().strip() == CONTROL_TEXT.encode()
    # The proxy tracks each open leg; the browser's is the one whose peer is this client (the
    # site's may not have closed yet after its response).
    assert conn.sock is not None
    client = conn.sock.getsockname()
    (browser_leg,) = [leg for leg in list(proxy._sockets) if _peer(leg) == client]
    assert browser_leg.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def _peer(sock: socket.socket) -> object:
    try:
        return sock.getpeername()
    except OSError:  # closed meanwhile
        return None


def test_an_http_1_0_request_gets_a_host_header_and_an_unchunked_body(
    proxy: GuardProxy, body_server: str
) -> None:
    host, port = proxy.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET http://{body_server}/chunked HTTP/1.0\r\n\r\n".encode())
        reply = b""
        while data := sock.recv(65536):
            reply += data
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert f"X-Seen-Host: {body_server}".encode() in head
    assert b"chunked" not in head  # an HTTP/1.0 client gets the plain body, then the close
    assert body == b"first,second,third"
