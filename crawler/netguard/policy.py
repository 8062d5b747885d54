"""The private-address policy (SPEC.md ``ALLOW_PRIVATE_ADDRESSES``, issue 2).

A crawler that renders pages it does not control must not become a way into the network it
runs in: on Fargate, ``169.254.170.2`` hands out the task's AWS credentials and
``169.254.169.254`` is the instance metadata service. So every address the crawl connects to
must be public, unless ``ALLOW_PRIVATE_ADDRESSES`` exempts it.

This module is the pure-ish core: it parses the setting and decides. Its one side effect is
name resolution (``getaddrinfo``, injectable for tests); callers run it off the reactor. The
download middleware (``middleware``) and the browser's forward proxy (``proxy``) enforce it.
``check`` returns the vetted address so callers connect to exactly what was checked: a second
lookup could answer differently (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawler.exceptions import BlockedAddressError, DnsLookupError

if TYPE_CHECKING:
    from typing import Self

    from scrapy.settings import BaseSettings

SETTING = "ALLOW_PRIVATE_ADDRESSES"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> every address the host resolves to, as strings
Resolver = Callable[[str, int], Sequence[str]]

_HOSTNAME = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?$")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def resolve(host: str, port: int) -> list[str]:
    """All addresses ``host`` resolves to (IP literals resolve to themselves, without DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address stands for (``::ffff:127.0.0.1``, NAT64, 6to4), if any:
    connecting to it may reach that IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            return ip.sixtofour
    return ip


def non_public_kind(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address ("loopback", "private", ...), or None if it is."""
    ip = _unwrap(ip)
    checks = (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_multicast, "multicast"),
        (ip in _CGNAT, "shared (carrier-grade NAT)"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "non-public"),
    )
    return next((kind for hit, kind in checks if hit), None)


def _normalize_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _as_ip(text: str) -> IPAddress | None:
    try:
        return _unwrap(ipaddress.ip_address(text.split("%", 1)[0]))
    except ValueError:
        return None


@dataclass(frozen=True)
class Exemption:
    """One ``ALLOW_PRIVATE_ADDRESSES`` entry: a host name, an IP or a network, and maybe a
    port (None: any port)."""

    entry: str
    host: str | None = None
    ip: IPAddress | None = None
    network: IPNetwork | None = None
    port: int | None = None

    @classmethod
    def parse(cls, entry: str) -> Self:
        text = entry.strip()
        bad = ValueError(
            f"{SETTING}: bad entry {entry!r}; use host, host:port, [IPv6]:port or a CIDR "
            "network such as 10.0.0.0/8"
        )
        if "/" in text:
            try:
                network = ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise bad from None
            return cls(entry=text, network=network)
        port: int | None = None
        host = text
        if text.startswith("["):
            host, sep, rest = text[1:].partition("]")
            if not sep or (rest and not rest.startswith(":")):
                raise bad
            port_text = rest[1:] if rest else None
        elif text.count(":") == 1:
            host, port_text = text.split(":")
        else:
            port_text = None
        if port_text is not None:
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise bad
            port = int(port_text)
        ip = _as_ip(host)
        if ip is not None:
            return cls(entry=text, ip=ip, port=port)
        name = _normalize_host(host)
        if not _HOSTNAME.match(name) or (text.startswith("[")):
            raise bad
        return cls(entry=text, host=name, port=port)

    def matches(self, host: str, port: int, address: IPAddress) -> bool:
        """Whether this entry exempts connecting to ``address``:``port`` for URL host
        ``host``."""
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return address in self.network
        if self.ip is not None:
            return address == self.ip
        return _normalize_host(host) == self.host


@dataclass(frozen=True)
class AddressPolicy:
    """Decides whether the crawl may connect to a host and port. Immutable, so one instance is
    shared by the middleware and the proxy's threads."""

    exemptions: tuple[Exemption, ...] = ()
    resolver: Resolver = field(default=resolve, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: BaseSettings, resolver: Resolver = resolve) -> Self:
        """Reads ``ALLOW_PRIVATE_ADDRESSES``: a list, or a comma-separated string as given with
        ``-s ALLOW_PRIVATE_ADDRESSES=a,b``. A bad entry raises ValueError naming it."""
        return cls.from_entries(settings.getlist(SETTING), resolver=resolver)

    @classmethod
    def from_entries(cls, entries: Iterable[Any], resolver: Resolver = resolve) -> Self:
        parsed: list[Exemption] = []
        for entry in entries:
            if not isinstance(entry, str):
                # a ValueError naming the setting, as for every other settings error
                raise ValueError(f"{SETTING}: entries must be strings, got {entry!r}")  # noqa: TRY004
            parsed.extend(Exemption.parse(part) for part in entry.split(",") if part.strip())
        return cls(exemptions=tuple(parsed), resolver=resolver)

    def check(self, host: str, port: int, *, url: str | None = None) -> str:
        """Resolve ``host`` and return the address to connect to, after checking that every
        address it resolves to is public or exempted. Raises BlockedAddressError (the message
        says how to exempt it) or DnsLookupError."""
        return self.check_all(host, port, url=url)[0]

    def check_all(self, host: str, port: int, *, url: str | None = None) -> list[str]:
        """Like ``check``, but every vetted address, in the resolver's order of preference."""
        name = _normalize_host(host)
        target = url or _netloc(name, port)
        try:
            literal = _as_ip(name) is not None
            addresses = [name] if literal else list(self.resolver(name, port))
        except (OSError, UnicodeError) as exc:
            raise DnsLookupError(f"{target}: cannot resolve {name!r} ({exc})") from exc
        if not addresses:
            raise DnsLookupError(f"{target}: {name!r} resolves to no address")
        for text in addresses:
            address = _as_ip(text)
            kind = "unparsable" if address is None else non_public_kind(address)
            if kind is None:
                continue
            if address is not None and any(
                e.matches(name, port, address) for e in self.exemptions
            ):
                continue
            raise BlockedAddressError(
                f"{target} resolves to {text}, {_article(kind)} {kind} address; allow it with "
                f"{SETTING}={_netloc(name, port)} if you mean it"
            )
        return addresses


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
