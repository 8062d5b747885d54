"""The guard proxy's SOCKS5 side, which the browser uses, driven with real sockets on loopback:
an exempted target is reached and relayed both ways, every other target is refused before any
connection to it (counted, and answered with the marked 403 to a client that speaks HTTP, or
closed on a TLS hello), names are vetted by the proxy and connected to at the address it
vetted, and the HTTP side keeps working on the same port."""

from __future__ import annotations

import socket
import struct
import threading
from typing import TYPE_CHECKING

import pytest

from crawler.netguard.policy import AddressPolicy
from crawler.netguard.proxy import GuardProxy
from crawler.netguard.wire import BLOCKED_HEADER
from tests.integration.crawler.netguard.conftest import CONTROL_TEXT, EchoServer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration


@pytest.fixture
def proxy(exempt_site: SiteServer, echo: EchoServer) -> Iterator[GuardProxy]:
    entries = [exempt_site.netloc, f"127.0.0.1:{echo.port}"]
    with GuardProxy(AddressPolicy.from_entries(entries)) as guard:
        yield guard


def receive_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def socks_connect(
    proxy: GuardProxy, host: str, port: int, *, command: int = 1
) -> tuple[socket.socket, bytes]:
    """A SOCKS5 CONNECT (or ``command``) to ``host`` as a name, the way Chromium asks;
    returns the socket and the proxy's 10-byte reply."""
    proxy_host, proxy_port = proxy.address.rsplit(":", 1)
    sock = socket.create_connection((proxy_host, int(proxy_port)), timeout=10)
    sock.sendall(b"\x05\x01\x00")
    assert sock.recv(2) == b"\x05\x00"
    name = host.encode()
    sock.sendall(bytes((5, command, 0, 3, len(name))) + name + struct.pack("!H", port))
    reply = b""
    while len(reply) < 10:
        more = sock.recv(10 - len(reply))
        if not more:
            break
        reply += more
    return sock, reply


def test_an_exempted_site_is_reached(proxy: GuardProxy, exempt_site: SiteServer) -> None:
    exempt_site.clear_log()
    sock, reply = socks_connect(proxy, "127.0.0.1", exempt_site.port)
    assert reply[:2] == b"\x05\x00"
    sock.sendall(f"GET /control.txt HTTP/1.1\r\nHost: {exempt_site.netloc}\r\n\r\n".encode())
    answer = receive_all(sock)
    sock.close()
    assert b" 200 " in answer.split(b"\r\n", 1)[0]
    assert CONTROL_TEXT.encode() in answer
    assert exempt_site.paths() == ["/control.txt"]
    assert proxy.blocked_count == 0


def test_requests_kept_alive_on_one_connection_all_reach_its_site(body_server: str) -> None:
    """Chromium reuses a site connection for later requests to that site: they pass through
    unparsed, to the address vetted when the connection opened, chunked replies intact."""
    host, port = body_server.rsplit(":", 1)
    with GuardProxy(AddressPolicy.from_entries([body_server])) as guard:
        sock, reply = socks_connect(guard, host, int(port))
        assert reply[:2] == b"\x05\x00"
        request = f"GET /chunked HTTP/1.1\r\nHost: {body_server}\r\n\r\n".encode()
        sock.sendall(request + request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        answer = receive_all(sock)
        sock.close()
    assert answer.count(b"HTTP/1.1 200 ") == 2
    assert answer.count(b"X-Seen-Host: " + body_server.encode()) == 2
    assert answer.count(b"5\r\nthird\r\n0\r\n\r\n") == 2


def test_a_tunnel_relays_both_ways_and_passes_the_end_on(
    proxy: GuardProxy, echo: EchoServer
) -> None:
    sock, reply = socks_connect(proxy, "127.0.0.1", echo.port)
    assert reply[:2] == b"\x05\x00"
    payload = bytes(range(256)) * 4096  # 1 MiB, several relay buffers
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    assert receive_all(sock) == payload
    sock.close()
    assert echo.connections == 1


def test_a_refused_target_gets_the_marked_403_and_is_counted(
    proxy: GuardProxy, other_echo: EchoServer
) -> None:
    sock, reply = socks_connect(proxy, "127.0.0.1", other_echo.port)
    assert reply[:2] == b"\x05\x00"  # the refusal is the guard's own HTTP answer
    sock.sendall(f"GET /secret HTTP/1.1\r\nHost: 127.0.0.1:{other_echo.port}\r\n\r\n".encode())
    answer = receive_all(sock)
    sock.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403 ")
    assert f"{BLOCKED_HEADER}: blocked_address".encode() in head
    assert b"private-address guard" in body
    assert other_echo.connections == 0
    assert proxy.blocked_count == 1
    assert [(b.host, b.port) for b in proxy.blocked] == [("127.0.0.1", other_echo.port)]


def test_a_refused_tls_connection_is_closed_and_counted(
    proxy: GuardProxy, other_echo: EchoServer
) -> None:
    sock, reply = socks_connect(proxy, "127.0.0.1", other_echo.port)
    assert reply[:2] == b"\x05\x00"
    sock.sendall(b"\x16\x03\x01\x00\x05hello")  # the start of a TLS ClientHello
    assert receive_all(sock) == b""
    sock.close()
    assert other_echo.connections == 0
    assert proxy.blocked_count == 1


def test_a_name_that_resolves_to_a_refused_address_is_refused(
    proxy: GuardProxy, other_echo: EchoServer
) -> None:
    """``localhost`` is looked up by the proxy (Chromium sends the name), and refused for
    where it leads."""
    sock, _ = socks_connect(proxy, "localhost", other_echo.port)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    head = receive_all(sock).split(b"\r\n\r\n", 1)[0]
    sock.close()
    assert head.startswith(b"HTTP/1.1 403 ")
    assert other_echo.connections == 0
    assert proxy.blocked_count == 1


def test_bind_and_udp_associate_are_not_offered(proxy: GuardProxy, echo: EchoServer) -> None:
    for command in (2, 3):
        sock, reply = socks_connect(proxy, "127.0.0.1", echo.port, command=command)
        assert reply[:2] == b"\x05\x07"  # command not supported
        assert receive_all(sock) == b""
        sock.close()
    assert echo.connections == 0


def test_the_socks_side_connects_to_the_address_it_vetted_never_to_a_second_lookup(
    exempt_site: SiteServer,
) -> None:
    """DNS rebinding: a name answers the exempted address when checked, then another loopback
    address where a server waits on the same port. Each connection goes where its own check
    said; the rebound answer is refused."""
    rebound = EchoServer("127.0.0.2", exempt_site.port).start()
    answers = iter([["127.0.0.1"], ["127.0.0.2"]])
    lookups: list[str] = []

    def rebinding_dns(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers)

    policy = AddressPolicy.from_entries([exempt_site.netloc], resolver=rebinding_dns)
    request = f"GET /control.txt HTTP/1.1\r\nHost: rebind.test\r\nConnection: close\r\n\r\n"
    try:
        with GuardProxy(policy, vetted_ttl=0) as guard:
            answers_seen = []
            for _ in range(2):
                sock, reply = socks_connect(guard, "rebind.test", exempt_site.port)
                assert reply[:2] == b"\x05\x00"
                sock.sendall(request.encode())
                answers_seen.append(receive_all(sock))
                sock.close()
            assert guard.blocked_count == 1
    finally:
        rebound.stop()
    assert CONTROL_TEXT.encode() in answers_seen[0]
    assert answers_seen[1].startswith(b"HTTP/1.1 403 ")
    assert b"resolves to 127.0.0.2" in answers_seen[1]
    assert lookups == ["rebind.test", "rebind.test"]
    assert rebound.connections == 0


def test_the_http_side_answers_on_the_same_port(
    proxy: GuardProxy, exempt_site: SiteServer
) -> None:
    """Scrapy's plain downloads speak HTTP proxy to the same guard."""
    proxy_host, proxy_port = proxy.address.rsplit(":", 1)
    with socket.create_connection((proxy_host, int(proxy_port)), timeout=10) as sock:
        url = exempt_site.url("/control.txt")
        sock.sendall(f"GET {url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = receive_all(sock)
    assert b" 200 " in answer.split(b"\r\n", 1)[0]
    assert CONTROL_TEXT.encode() in answer


def test_stop_closes_socks_tunnels_and_leaves_no_thread(echo: EchoServer) -> None:
    before = {t for t in threading.enumerate() if t.name.startswith("guard-proxy")}
    guard = GuardProxy(AddressPolicy.from_entries([f"127.0.0.1:{echo.port}"]))
    guard.start()
    sock, reply = socks_connect(guard, "127.0.0.1", echo.port)
    with sock:
        assert reply[:2] == b"\x05\x00"
        sock.sendall(b"ping")
        assert sock.recv(4) == b"ping"
        guard.stop()
        assert receive_all(sock) == b""  # the tunnel was cut
    assert {t for t in threading.enumerate() if t.name.startswith("guard-proxy")} == before
