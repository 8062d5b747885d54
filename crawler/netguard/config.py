"""The guard's two settings, ``ALLOW_PRIVATE_ADDRESSES`` and ``RIVALSCOPE_OUTBOUND_PROXY``, read
once per crawl into one frozen value that the middleware (Scrapy's own requests) and the
download handler (the browser's guard proxy) both take, so the two can never disagree about
what a crawl may reach, and the outbound proxy is announced once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from crawler.netguard.outbound import OutboundProxy
from crawler.netguard.policy import AddressPolicy

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NetguardConfig:
    policy: AddressPolicy
    # None: public sites are reached directly
    outbound: OutboundProxy | None

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        """Raise ``ValueError`` naming the setting (or variable) when a value is unusable."""
        return cls(AddressPolicy.from_settings(settings), OutboundProxy.from_settings(settings))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NetguardConfig:
        """The crawler's one instance, built by whichever component asks first."""
        config = _BY_CRAWLER.get(crawler)
        if config is None:
            config = _BY_CRAWLER[crawler] = cls.from_settings(crawler.settings)
            if config.outbound is not None:
                logger.info(
                    "Public sites are reached through the outbound proxy %s:%d (CONNECT to the"
                    " vetted address)",
                    config.outbound.host,
                    config.outbound.port,
                )
        return config


_BY_CRAWLER: WeakKeyDictionary[Crawler, NetguardConfig] = WeakKeyDictionary()
