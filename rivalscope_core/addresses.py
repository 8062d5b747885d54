"""The private-address policy (SPEC.md ``ALLOW_PRIVATE_ADDRESSES``, issue 2), shared by both
images: the crawler enforces it on every connection (``crawler.netguard``), and the front door
(``analyzer_lambda.frontdoor``) refuses a requested URL it would block before a run starts.

A crawler that renders pages it does not control must not become a way into the network it
runs in: on Fargate, ``169.254.170.2`` hands out the task's AWS credentials and
``169.254.169.254`` is the instance metadata service. So every address the crawl connects to
must be public, unless ``ALLOW_PRIVATE_ADDRESSES`` exempts it.

This module is the pure-ish core: it parses the entries and decides. Its one side effect is
name resolution (``getaddrinfo``, injectable for tests); callers run it off the reactor. The
crawler's download middleware and the browser's forward proxy enforce it; its subclass
``crawler.netguard.policy.AddressPolicy`` reads the Scrapy setting and raises the crawler's
``RenderError`` kinds, which subclass the two errors here.
``check`` returns the vetted address so callers connect to exactly what was checked: a second
lookup could answer differently (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from typing import Self

SETTING = "ALLOW_PRIVATE_ADDRESSES"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> every address the host resolves to, as strings
Resolver = Callable[[str, int], Sequence[str]]

_HOSTNAME = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?$")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressBlockedError(Exception):
    """The host is (or resolves to) a non-public address that no entry exempts."""


class AddressLookupError(Exception):
    """The host could not be resolved."""


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
    #: what ``check`` raises; the crawler's subclass raises its own ``RenderError`` kinds
    blocked_error: ClassVar[type[Exception]] = AddressBlockedError
    lookup_error: ClassVar[type[Exception]] = AddressLookupError

    @classmethod
    def from_entries(cls, entries: Iterable[Any], resolver: Resolver = resolve) -> Self:
        """A list of entries, each possibly comma-separated (``a,b``); a bad entry raises
        ValueError naming it."""
        parsed: list[Exemption] = []
        for entry in entries:
            if not isinstance(entry, str):
                # a ValueError naming the setting, as for every other settings error
                raise ValueError(f"{SETTING}: entries must be strings, got {entry!r}")  # noqa: TRY004
            parsed.extend(Exemption.parse(part) for part in entry.split(",") if part.strip())
        return cls(exemptions=tuple(parsed), resolver=resolver)

    def check(self, host: str, port: int, *, url: str | None = None) -> str:
        """Resolve ``host`` and return the address to connect to, after checking that every
        address it resolves to is public or exempted. Raises ``blocked_error`` (the message
        says how to exempt it) or ``lookup_error``."""
        return self.check_all(host, port, url=url)[0]

    def check_all(self, host: str, port: int, *, url: str | None = None) -> list[str]:
        """Like ``check``, but every vetted address, in the resolver's order of preference."""
        name = _normalize_host(host)
        target = url or _netloc(name, port)
        try:
            literal = _as_ip(name) is not None
            addresses = [name] if literal else list(self.resolver(name, port))
        except (OSError, UnicodeError) as exc:
            raise self.lookup_error(f"{target}: cannot resolve {name!r} ({exc})") from exc
        if not addresses:
            raise self.lookup_error(f"{target}: {name!r} resolves to no address")
        for text in addresses:
            address = _as_ip(text)
            kind = "unparsable" if address is None else non_public_kind(address)
            if kind is None:
                continue
            if address is not None and any(
                e.matches(name, port, address) for e in self.exemptions
            ):
                continue
            raise self.blocked_error(
                f"{target} resolves to {text}, {_article(kind)} {kind} address; allow it with "
                f"{SETTING}={_netloc(name, port)} if you mean it"
            )
        return addresses


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
