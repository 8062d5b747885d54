"""The guard middleware is on by default, ahead of robots.txt, built from settings once, and
fits Scrapy 2.19's middleware signature (a deprecated one would warn, and warnings are errors
here). Its behaviour in a crawl is tested in tests/integration/crawler/netguard/."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from scrapy.core.downloader.middleware import DownloaderMiddlewareManager
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from crawler import settings as declared_settings
from crawler.netguard.middleware import NetguardMiddleware
from tests.project_settings import project_settings

PATH = "crawler.netguard.middleware.NetguardMiddleware"


def _settings_module_read_afresh() -> Any:
    """A fresh copy of crawler/settings.py, evaluated under the test's environment (the module
    a crawl imports at start-up; the imported one is left as it is)."""
    spec = importlib.util.spec_from_file_location("fresh_settings", declared_settings.__file__)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_project_enables_the_guard_before_robots_txt() -> None:
    settings = project_settings()
    priorities = settings.get_component_priority_dict_with_base("DOWNLOADER_MIDDLEWARES")
    robots = [p for path, p in priorities.items() if "robots" in str(path).lower() and p]
    assert robots  # robots.txt is obeyed by some middleware ...
    assert priorities[PATH] < min(robots)  # ... which runs after the guard
    assert settings.getlist("ALLOW_PRIVATE_ADDRESSES") == []


def test_the_manager_takes_the_middleware_without_deprecation_warnings() -> None:
    crawler = get_crawler(settings_dict={"DOWNLOADER_MIDDLEWARES": {PATH: 50}})
    manager = DownloaderMiddlewareManager.from_crawler(crawler)
    assert any(isinstance(mw, NetguardMiddleware) for mw in manager.middlewares)


def test_exemptions_come_from_the_command_line_form_of_the_setting() -> None:
    crawler = get_crawler(settings_dict={"ALLOW_PRIVATE_ADDRESSES": "127.0.0.1:8000,10.0.0.0/8"})
    middleware = build_from_crawler(NetguardMiddleware, crawler)
    assert [e.entry for e in middleware.policy.exemptions] == ["127.0.0.1:8000", "10.0.0.0/8"]


def test_a_bad_entry_stops_the_crawl_naming_the_setting() -> None:
    crawler = get_crawler(settings_dict={"ALLOW_PRIVATE_ADDRESSES": ["localhost:eighty"]})
    with pytest.raises(ValueError, match="ALLOW_PRIVATE_ADDRESSES: bad entry 'localhost:eighty'"):
        build_from_crawler(NetguardMiddleware, crawler)


def test_the_outbound_proxy_of_the_environment_is_used_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("https_proxy", "http://proxy.corp:3128")
    settings = {
        "RIVALSCOPE_PROXY_ENVIRONMENT": _settings_module_read_afresh().RIVALSCOPE_PROXY_ENVIRONMENT
    }
    with caplog.at_level("INFO", logger="crawler.netguard.config"):
        middleware = build_from_crawler(NetguardMiddleware, get_crawler(settings_dict=settings))
    assert middleware.outbound is not None
    assert (middleware.outbound.host, middleware.outbound.port) == ("proxy.corp", 3128)
    assert "through the outbound proxy proxy.corp:3128" in caplog.text
