"""The proxy that public traffic must leave through, where the network has one
(``RIVALSCOPE_OUTBOUND_PROXY``, else ``https_proxy``/``http_proxy`` as curl and pip read them).

The guard proxy still resolves and vets every name itself, and asks the outbound proxy for a
tunnel to the *address it vetted* (``CONNECT 203.0.113.7:443``), never to a name the outbound
proxy would resolve again: a rebinding answer there could reach the proxy's own network. Plain
http goes through such a tunnel too, so the outbound proxy must allow CONNECT to the ports the
crawl uses (Squid's default allows 443 only). Addresses that are not public (exempted with
``ALLOW_PRIVATE_ADDRESSES``) and hosts in ``no_proxy`` are reached directly: an internal site is
rarely behind the internet proxy.
"""

from __future__ import annotations

import base64
import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit
from urllib.request import proxy_bypass_environment  # type: ignore[attr-defined] # not in typeshed

from crawler.netguard.policy import non_public_kind

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Self

    from scrapy.settings import BaseSettings

SETTING = "RIVALSCOPE_OUTBOUND_PROXY"
# crawler/settings.py reads these variables of the environment into this setting.
ENVIRONMENT_SETTING = "RIVALSCOPE_PROXY_ENVIRONMENT"
_ENVIRONMENT = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY")
_MAX_REPLY_HEAD = 16 * 1024


@dataclass(frozen=True)
class OutboundProxy:
    host: str
    port: int
    # "Basic ..." for a proxy URL with credentials
    authorization: str | None = None
    no_proxy: str = ""

    @classmethod
    def from_settings(
        cls, settings: BaseSettings, environ: Mapping[str, str] | None = None
    ) -> Self | None:
        """None when traffic goes out directly: the setting is empty, or unset with no proxy in
        the environment (``environ``, else the variables crawler/settings.py read). A proxy URL
        that cannot work raises ValueError naming its source."""
        if environ is None:
            environ = {str(k): str(v) for k, v in settings.getdict(ENVIRONMENT_SETTING).items()}
        value = settings.get(SETTING)
        source = SETTING
        if value is None:
            source, value = next(
                ((name, environ[name]) for name in _ENVIRONMENT if environ.get(name)),
                (SETTING, ""),
            )
        url = str(value).strip()
        if not url:
            return None
        no_proxy = environ.get("no_proxy") or environ.get("NO_PROXY") or ""
        return cls.parse(url, source=source, no_proxy=no_proxy)

    @classmethod
    def parse(cls, url: str, *, source: str = SETTING, no_proxy: str = "") -> Self:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        try:
            port = parts.port or 80
        except ValueError:
            raise ValueError(f"{source}: bad port in {url!r}") from None
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(
                f"{source}={url!r}: give an http:// proxy as http://[user:password@]host:port"
            )
        authorization = None
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        return cls(parts.hostname, port, authorization, no_proxy)

    def carries(self, host: str, address: str) -> bool:
        """Whether a connection to ``address`` (vetted for ``host``) goes through this proxy."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if non_public_kind(ip) is not None:
            return False
        # no_proxy as urllib, requests and pip read it: suffixes, host:port, "*".
        return not (self.no_proxy and proxy_bypass_environment(host, {"no": self.no_proxy}))

    def open_tunnel(self, address: str, port: int, timeout: float) -> socket.socket:
        """A socket that reaches ``address:port`` through the proxy; OSError saying what the
        proxy answered when it refuses."""
        target = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        try:
            head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
            if self.authorization:
                head += f"Proxy-Authorization: {self.authorization}\r\n"
            sock.sendall(f"{head}\r\n".encode("ascii"))
            status_line = _read_reply_head(sock).split(b"\r\n", 1)[0].decode("latin-1")
            if status_line.split(" ", 2)[1:2] != ["200"]:
                raise ConnectionRefusedError(
                    f"the outbound proxy {self.host}:{self.port} refused CONNECT {target}:"
                    f" {status_line or 'no answer'}"
                )
        except BaseException:
            sock.close()
            raise
        return sock


def _read_reply_head(sock: socket.socket) -> bytes:
    """The proxy's reply head, read byte by byte: what follows it belongs to the tunnel."""
    head = bytearray()
    while not head.endswith(b"\r\n\r\n") and len(head) < _MAX_REPLY_HEAD:
        byte = sock.recv(1)
        if not byte:
            break
        head += byte
    return bytes(head)
