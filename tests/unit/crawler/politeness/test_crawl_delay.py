from __future__ import annotations

from crawler.politeness.crawl_delay import CrawlDelayConfig
from tests.project_settings import project_settings


def test_crawl_delay_is_used_only_when_longer_and_is_capped() -> None:
    config = CrawlDelayConfig.from_settings(
        project_settings(ROBOTSTXT_OBEY=True, DOWNLOAD_DELAY=1.0, ROBOTSTXT_CRAWL_DELAY_MAX=10)
    )
    assert [config.effective(d) for d in (None, 0.5, 1.0, 2.5, 600)] == [None, None, None, 2.5, 10]
