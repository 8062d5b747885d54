"""The private-address policy of the crawl (SPEC.md ``ALLOW_PRIVATE_ADDRESSES``, issue 2).

The policy itself lives in ``rivalscope_core.addresses``, shared with the front door, which
refuses a requested URL before a run starts. This subclass reads the Scrapy setting and raises
the crawler's ``BlockedAddressError``/``DnsLookupError``, whose ``error_type`` ends up in the
page record; both subclass the shared errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from crawler.exceptions import BlockedAddressError, DnsLookupError
from rivalscope_core.addresses import (
    SETTING,
    Exemption,
    IPAddress,
    IPNetwork,
    Resolver,
    non_public_kind,
    resolve,
)
from rivalscope_core.addresses import AddressPolicy as _SharedPolicy

if TYPE_CHECKING:
    from typing import Self

    from scrapy.settings import BaseSettings

__all__ = [
    "SETTING",
    "AddressPolicy",
    "Exemption",
    "IPAddress",
    "IPNetwork",
    "Resolver",
    "non_public_kind",
    "resolve",
]


@dataclass(frozen=True)
class AddressPolicy(_SharedPolicy):
    """Decides whether the crawl may connect to a host and port. Immutable, so one instance is
    shared by the middleware and the proxy's threads."""

    blocked_error = BlockedAddressError
    lookup_error = DnsLookupError

    @classmethod
    def from_settings(cls, settings: BaseSettings, resolver: Resolver = resolve) -> Self:
        """Reads ``ALLOW_PRIVATE_ADDRESSES``: a list, or a comma-separated string as given with
        ``-s ALLOW_PRIVATE_ADDRESSES=a,b``. A bad entry raises ValueError naming it."""
        return cls.from_entries(settings.getlist(SETTING), resolver=resolver)
