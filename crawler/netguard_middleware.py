"""The downloader middleware that holds Scrapy's own requests to the private-address policy.

Every request passes here before download: start URLs, followed links, robots.txt, and
redirects (RedirectMiddleware sends a new Request back through the whole chain). A refused
request raises ``BlockedAddressError``, which reaches the spider's errback, so a refused start
URL becomes an error record (``error.type`` = ``blocked_address``) rather than vanishing.

It sits before RobotsTxtMiddleware (100) so a refused host is not even asked for robots.txt.
The browser's own connections (subresources, and redirects Chromium follows itself) are held to
the same policy by ``guard_proxy``. The lookup runs in a thread: ``getaddrinfo`` blocks.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.threads import deferToThread

from crawler.exceptions import BlockedAddressError
from crawler.netguard import AddressPolicy

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}


class NetguardMiddleware:
    def __init__(self, policy: AddressPolicy, stats: StatsCollector) -> None:
        self.policy = policy
        self.stats = stats
        self._logged_hosts: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(AddressPolicy.from_settings(crawler.settings), crawler.stats)

    async def process_request(self, request: Request) -> None:
        """Return None when the request may go; raise BlockedAddressError when it may not.
        Other schemes (data:, file:) open no connection and pass."""
        parts = urlparse_cached(request)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            return
        port = parts.port or _DEFAULT_PORTS[scheme]
        try:
            await maybe_deferred_to_future(
                deferToThread(self.policy.check, parts.hostname, port, url=request.url)
            )
        except BlockedAddressError as exc:
            self.stats.inc_value("netguard/blocked")
            if parts.hostname not in self._logged_hosts:
                self._logged_hosts.add(parts.hostname)
                logger.warning("Blocked %s: %s", request, exc)
            raise
