"""Which failures are tried again in a fresh browser, how often, and what the retry carries. The
crawls themselves (a killed browser, a failed start, a stop) are in
tests/integration/crawler/test_crash_retry_crawl.py."""

from __future__ import annotations

import pytest
from scrapy import Request, Spider
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from crawler.crash_retry import (
    CRASH_META,
    RETRIES_META,
    CrashRetryConfig,
    CrashRetryMiddleware,
    attempts,
    interrupted_crash,
    is_retried,
)
from crawler.exceptions import (
    BrowserCrashedError,
    BrowserUnavailableError,
    PageTimeoutError,
    ShuttingDownError,
)
from crawler.records import error_info
from tests.project_settings import project_settings, project_settings_dict


def test_only_a_crash_is_retried_not_a_timeout_nor_a_broken_install() -> None:
    assert is_retried(BrowserCrashedError("chrome not reachable"))
    assert not is_retried(BrowserUnavailableError("failed to start 3 times in a row"))
    assert not is_retried(PageTimeoutError("did not finish loading"))
    assert not is_retried(ShuttingDownError("stopping"))
    assert not is_retried(OSError("connection refused"))


def test_the_setting_is_a_count_of_zero_or_more() -> None:
    assert CrashRetryConfig.from_settings(project_settings()).retries == 2
    assert (
        CrashRetryConfig.from_settings(project_settings(SELENIUM_CRASH_RETRIES="0")).retries == 0
    )
    for bad in ("-1", "two", "1.5"):
        with pytest.raises(ValueError, match="SELENIUM_CRASH_RETRIES"):
            CrashRetryConfig.from_settings(project_settings(SELENIUM_CRASH_RETRIES=bad))


class _RunningEngine:
    running = True


def _middleware(**settings: object) -> CrashRetryMiddleware:
    crawler = get_crawler(Spider, project_settings_dict(**settings))
    crawler.spider = crawler._create_spider("test")
    crawler.engine = _RunningEngine()  # type: ignore[assignment]
    return build_from_crawler(CrashRetryMiddleware, crawler)


def test_a_crash_becomes_a_retry_through_the_scheduler_until_the_budget_is_spent() -> None:
    middleware = _middleware(SELENIUM_CRASH_RETRIES=2)
    request = Request("https://example.com/pricing", meta={"retry_times": 1})
    crash = BrowserCrashedError("chrome not reachable")

    first = middleware.process_exception(request, crash)
    assert first is not None
    assert first.dont_filter  # the scheduler's duplicate filter must let it through
    assert (first.meta[RETRIES_META], first.meta[CRASH_META]) == (1, "chrome not reachable")
    assert first.meta["retry_times"] == 1  # RETRY_TIMES' budget left to network errors
    second = middleware.process_exception(first, crash)
    assert second is not None
    assert attempts(second) == 3
    assert middleware.process_exception(second, crash) is None  # recorded failed now
    stats = middleware._crawler.stats
    assert stats is not None
    assert stats.get_value("selenium/crash_retry/count") == 2
    assert stats.get_value("selenium/crash_retry/max_reached") == 1


def test_nothing_is_retried_when_told_not_to_or_when_stopping() -> None:
    crash = BrowserCrashedError("chrome not reachable")
    assert (
        _middleware(SELENIUM_CRASH_RETRIES=0).process_exception(
            Request("https://a.example"), crash
        )
        is None
    )
    middleware = _middleware()
    no_retry = Request("https://a.example", meta={"dont_retry": True})
    assert middleware.process_exception(no_retry, crash) is None
    assert (
        middleware.process_exception(Request("https://a.example"), PageTimeoutError("x")) is None
    )
    middleware._crawler.engine.running = False
    assert middleware.process_exception(Request("https://a.example"), crash) is None


def test_a_retry_the_stop_dropped_is_recorded_as_its_crash() -> None:
    assert interrupted_crash(Request("https://a.example")) is None  # a page never requested
    retry = Request("https://a.example", meta={RETRIES_META: 1, CRASH_META: "browser died"})
    found = interrupted_crash(retry)
    assert found is not None
    error, tries = found
    assert tries == 1
    assert error.error_type == "browser_crash"
    assert str(error).startswith("browser died; not tried again")


def test_the_failed_record_says_how_many_attempts_even_for_a_long_message() -> None:
    assert error_info(BrowserCrashedError("gone")).message == "BrowserCrashedError: gone"
    info = error_info(BrowserCrashedError("x" * 2000), attempts=3)
    assert info.type == "browser_crash"
    assert info.message.endswith("(3 attempts, each in a fresh browser)")
    assert len(info.message) <= 500
