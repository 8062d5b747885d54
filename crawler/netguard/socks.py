"""The guard proxy's SOCKS5 side (RFC 1928: no authentication, CONNECT only), which the browser
uses (issue #16).

Behind an HTTP proxy Chromium sends every plain-http request through the proxy on
connections it shares between hosts, so each request has to be parsed, vetted and re-sent by
Python: that cost 0.2 CPU-s a page on the crawl benchmark. Behind a SOCKS5 proxy
(``--proxy-server=socks5://``) it opens one proxy connection per TCP connection it wants to
a site, naming the host (Chromium sends the name, never its own lookup: ``ATYP`` 3) and port,
for http, https and ws alike. The target of such a connection cannot change afterwards, so
vetting it once, connecting to the vetted address, and relaying bytes both ways keeps the
guarantee the HTTP side gives request by request: every connection the browser makes goes to
an address the policy vetted, with no second lookup, and keep-alive requests on it can only
reach that address.

A refused target is counted and then answered the way the HTTP side answers it: the handshake
succeeds, and if the browser speaks plain HTTP it gets the marked refusal (``refusal``), which
frames, images and fetches see as a 403; a TLS hello is answered by closing the connection
(the page's render flow asks the proxy why, ``GuardProxy.blocked``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import threading
from typing import TYPE_CHECKING

from crawler.exceptions import BlockedAddressError, ConnectionRefusedRenderError, DnsLookupError
from crawler.netguard.refusal import refusal_message
from crawler.netguard.relay import relay

if TYPE_CHECKING:
    from crawler.netguard.relay import Guard

VERSION = 5
_NO_AUTHENTICATION = 0
_NO_ACCEPTABLE_METHOD = 0xFF
_CONNECT = 1
_IPV4, _NAME, _IPV6 = 1, 3, 4
_SUCCEEDED = 0
_COMMAND_NOT_SUPPORTED = 7
_ADDRESS_TYPE_NOT_SUPPORTED = 8
# The first bytes of a TLS connection: a handshake record.
_TLS_HANDSHAKE = 0x16
_MAX_REFUSED_HEAD = 16 * 1024


class _Closed(Exception):
    """The client closed the connection or sent something that is not SOCKS5."""


def serve(client: socket.socket, guard: Guard) -> None:
    """One browser connection from its SOCKS5 greeting to its end. ``client`` is tracked by the
    caller, which also closes it."""
    try:
        host, port = _handshake(client)
    except (_Closed, OSError):
        return
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        addresses = guard.vet(host, port, target)
    except BlockedAddressError as exc:
        guard.record_block(host, port, str(exc))
        _refuse(
            client,
            403,
            f"Blocked by rivalscope's private-address guard: {exc}",
            BlockedAddressError.error_type,
        )
        return
    except DnsLookupError as exc:
        _refuse(client, 502, str(exc), DnsLookupError.error_type)
        return
    try:
        upstream = guard.connect(host, addresses, port)
    except OSError as exc:
        _refuse(
            client,
            502,
            f"{target}: cannot connect ({exc})",
            ConnectionRefusedRenderError.error_type,
        )
        return
    try:
        _reply(client, _SUCCEEDED)
        pump = threading.Thread(
            target=relay, args=(upstream, client), name="guard-proxy-socks", daemon=True
        )
        pump.start()
        relay(client, upstream)
        pump.join()
    except OSError:
        pass
    finally:
        guard.untrack(upstream)
        upstream.close()


def _handshake(client: socket.socket) -> tuple[str, int]:
    """The target host (a name or an address literal, unbracketed) and port of a CONNECT."""
    version, count = _recv_exact(client, 2)
    if version != VERSION:
        raise _Closed
    if _NO_AUTHENTICATION not in _recv_exact(client, count):
        client.sendall(bytes((VERSION, _NO_ACCEPTABLE_METHOD)))
        raise _Closed
    client.sendall(bytes((VERSION, _NO_AUTHENTICATION)))
    version, command, _reserved, address_type = _recv_exact(client, 4)
    if version != VERSION:
        raise _Closed
    if address_type == _NAME:
        host = _recv_exact(client, _recv_exact(client, 1)[0]).decode("idna")
    elif address_type == _IPV4:
        host = str(ipaddress.IPv4Address(_recv_exact(client, 4)))
    elif address_type == _IPV6:
        host = str(ipaddress.IPv6Address(_recv_exact(client, 16)))
    else:
        _reply(client, _ADDRESS_TYPE_NOT_SUPPORTED)
        raise _Closed
    (port,) = struct.unpack("!H", _recv_exact(client, 2))
    if command != _CONNECT:  # BIND and UDP ASSOCIATE would open what the guard cannot vet
        _reply(client, _COMMAND_NOT_SUPPORTED)
        raise _Closed
    return host.strip("[]"), port


def _refuse(client: socket.socket, status: int, text: str, cause: str) -> None:
    """Answer a refused target as the HTTP side does, if the browser speaks HTTP on it."""
    with contextlib.suppress(OSError):
        _reply(client, _SUCCEEDED)
        head = client.recv(_MAX_REFUSED_HEAD)
        if not head or head[0] == _TLS_HANDSHAKE:
            return  # https or wss: closing is all a proxy can say inside TLS
        while b"\r\n\r\n" not in head and len(head) < _MAX_REFUSED_HEAD:
            more = client.recv(_MAX_REFUSED_HEAD)
            if not more:
                break
            head += more
        head_only = head.startswith(b"HEAD ")
        client.sendall(refusal_message(status, text, cause, head_only=head_only, close=True))
        client.shutdown(socket.SHUT_WR)


def _reply(client: socket.socket, code: int) -> None:
    # BND.ADDR and BND.PORT: 0.0.0.0:0; Chromium reads and ignores them.
    client.sendall(bytes((VERSION, code, 0, _IPV4)) + bytes(6))


def _recv_exact(client: socket.socket, length: int) -> bytes:
    data = b""
    while len(data) < length:
        more = client.recv(length - len(data))
        if not more:
            raise _Closed
        data += more
    return data
