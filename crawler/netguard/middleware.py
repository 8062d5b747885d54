"""The downloader middleware that holds Scrapy's own requests to the private-address policy.

Every request passes here before download: start URLs, followed links, robots.txt, and
redirects (RedirectMiddleware sends a new Request back through the whole chain). A refused
request raises ``BlockedAddressError``, which reaches the spider's errback, so a refused start
URL becomes an error record (``error.type`` = ``blocked_address``) rather than vanishing.

It sits before RobotsTxtMiddleware (100) so a refused host is not even asked for robots.txt.
The lookup runs in a thread: ``getaddrinfo`` blocks.

Checking a name is not enough: Scrapy's HTTP handler would look it up again to connect, and a
DNS server that answers a public address first and a private one next (rebinding) would slip
through. So requests are also sent through a ``GuardProxy`` (``meta["proxy"]``), which connects
to the address it vetted itself. Rendered requests ignore that key: the browser has its own
guard proxy. A ``proxy`` the request already carries is left alone.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.threads import deferToThread

from crawler.exceptions import BlockedAddressError
from crawler.netguard.config import NetguardConfig
from crawler.netguard.proxy import GuardProxy

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from crawler.netguard.outbound import OutboundProxy
    from crawler.netguard.policy import AddressPolicy

logger = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}


class NetguardMiddleware:
    def __init__(
        self,
        policy: AddressPolicy,
        stats: StatsCollector,
        outbound: OutboundProxy | None = None,
    ) -> None:
        self.policy = policy
        self.stats = stats
        self.outbound = outbound
        self._logged_hosts: set[str] = set()
        self._proxy: GuardProxy | None = None
        self._proxy_url = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        guard = NetguardConfig.from_crawler(crawler)
        middleware = cls(guard.policy, crawler.stats, guard.outbound)
        crawler.signals.connect(middleware.stop_proxy, signal=signals.spider_closed)
        return middleware

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
        if "proxy" not in request.meta:
            request.meta["proxy"] = self._proxy_for_plain_downloads()

    def _proxy_for_plain_downloads(self) -> str:
        if self._proxy is None:
            self._proxy = GuardProxy(self.policy, outbound=self.outbound)
            self._proxy_url = f"http://{self._proxy.start()}"
        return self._proxy_url

    def stop_proxy(self) -> None:
        """On spider_closed: the downloader is closed by then, and the stats not yet dumped."""
        proxy, self._proxy = self._proxy, None
        if proxy is not None:
            self.stats.set_value("netguard/proxy_blocked", proxy.blocked_count)
            proxy.stop()
