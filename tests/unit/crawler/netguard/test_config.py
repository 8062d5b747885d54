"""The guard's settings are read once per crawl, and every component of that crawl gets the
same policy and outbound proxy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from crawler.netguard.config import NetguardConfig
from crawler.netguard.middleware import NetguardMiddleware

if TYPE_CHECKING:
    import pytest

SETTINGS = {
    "ALLOW_PRIVATE_ADDRESSES": "127.0.0.1:8000",
    "RIVALSCOPE_OUTBOUND_PROXY": "http://egress.internal:8888",
}


def test_one_crawl_builds_one_config_that_its_components_share(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crawler = get_crawler(settings_dict=SETTINGS)
    with caplog.at_level("INFO", logger="crawler.netguard.config"):
        first = build_from_crawler(NetguardMiddleware, crawler)
        second = build_from_crawler(NetguardMiddleware, crawler)
        config = NetguardConfig.from_crawler(crawler)
    assert first.policy is second.policy is config.policy
    assert first.outbound is second.outbound is config.outbound
    assert caplog.text.count("through the outbound proxy egress.internal:8888") == 1


def test_another_crawl_reads_its_own_settings() -> None:
    one = NetguardConfig.from_crawler(get_crawler(settings_dict=SETTINGS))
    other = NetguardConfig.from_crawler(
        get_crawler(settings_dict={"RIVALSCOPE_OUTBOUND_PROXY": ""})
    )
    assert other.outbound is None
    assert other.policy.exemptions == ()
    assert one.policy.exemptions[0].entry == "127.0.0.1:8000"
