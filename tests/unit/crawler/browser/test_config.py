from __future__ import annotations

import pytest

from crawler import settings as declared
from crawler.browser.config import SeleniumConfig
from crawler.browser.session import chromium_options
from tests.project_settings import project_settings

_settings = project_settings


def test_project_defaults_make_a_valid_config():
    config = SeleniumConfig.from_settings(_settings())
    assert config.driver_path == "/usr/bin/chromedriver"
    assert config.pool_size == declared.SELENIUM_POOL_SIZE
    assert config.screenshot_format == declared.SELENIUM_SCREENSHOT_FORMAT
    assert config.user_agent == declared.USER_AGENT
    assert config.proxy_server is None
    assert config.download_timeout == declared.DOWNLOAD_TIMEOUT


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SELENIUM_SCREENSHOT_FORMAT", "gif"),
        ("SELENIUM_SCREENSHOT_QUALITY", 101),
        ("SELENIUM_POOL_SIZE", 0),
        ("SELENIUM_POOL_SIZE", "two"),
        ("SELENIUM_PAGE_LOAD_TIMEOUT", 0),
        ("SELENIUM_SETTLE_TIMEOUT", -1),
        ("DOWNLOAD_TIMEOUT", 0),
        ("SELENIUM_SCROLL_PAUSE", -0.1),
        ("SELENIUM_SCROLL_LAZY", "sometimes"),
        ("SELENIUM_MAX_SCREENSHOT_HEIGHT", 0),
        ("SELENIUM_RECYCLE_AFTER", 1.5),
        ("SELENIUM_TALL_CAPTURE_HEIGHT", -1),
        ("SELENIUM_DRIVER_PATH", "/nonexistent/chromedriver"),
        ("SELENIUM_BROWSER_PATH", "/nonexistent/chromium"),
    ],
)
def test_bad_value_names_the_setting(name: str, value: object):
    with pytest.raises(ValueError, match=name):
        SeleniumConfig.from_settings(_settings(**{name: value}))


def test_jpg_means_jpeg_and_numbers_may_be_strings():
    config = SeleniumConfig.from_settings(
        _settings(SELENIUM_SCREENSHOT_FORMAT="JPG", SELENIUM_POOL_SIZE="3")
    )
    assert (config.screenshot_format, config.pool_size) == ("jpeg", 3)


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        (True, "always"),
        ("True", "always"),
        ("1", "always"),
        (False, "never"),
        ("false", "never"),
        ("auto", "auto"),
        ("AUTO", "auto"),
    ],
)
def test_scroll_lazy_is_always_never_or_auto(value: object, mode: str):
    config = SeleniumConfig.from_settings(_settings(SELENIUM_SCROLL_LAZY=value))
    assert config.scroll_lazy == mode


def test_browser_flags_carry_user_agent_window_and_guard_proxy():
    config = SeleniumConfig.from_settings(
        _settings(USER_AGENT="rivalscope-test/1", SELENIUM_WINDOW_WIDTH=1024)
    ).with_proxy("127.0.0.1:8118")
    options = chromium_options(config, "/tmp/profile")
    arguments = options.arguments
    # WebRTC would send UDP around the HTTP proxy.
    assert options.experimental_options["prefs"] == {
        "webrtc.ip_handling_policy": "disable_non_proxied_udp"
    }
    assert "--headless=new" in arguments
    assert "--user-data-dir=/tmp/profile" in arguments
    assert f"--window-size=1024,{config.window_height}" in arguments
    assert "--user-agent=rivalscope-test/1" in arguments
    assert "--proxy-server=http://127.0.0.1:8118" in arguments
    assert "--proxy-bypass-list=<-loopback>" in arguments
    assert "--force-webrtc-ip-handling-policy=disable_non_proxied_udp" in arguments


def test_no_proxy_flags_without_a_proxy():
    config = SeleniumConfig.from_settings(_settings())
    arguments = chromium_options(config, "/tmp/profile").arguments
    assert not [a for a in arguments if a.startswith("--proxy")]


def test_a_setting_missing_altogether_is_named_not_guessed():
    settings = project_settings()
    settings.set("DOWNLOAD_TIMEOUT", None, priority="cmdline")
    with pytest.raises(ValueError, match="DOWNLOAD_TIMEOUT is not set"):
        SeleniumConfig.from_settings(settings)
