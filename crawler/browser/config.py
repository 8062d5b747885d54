"""Every ``SELENIUM_*`` setting, read once into a frozen, validated value (scrapy-playwright's
``Config`` habit), so the pool and the render flow never look at Scrapy settings themselves and a
bad value fails at start-up with the name of the setting to fix.

The defaults live in ``crawler/settings.py`` only; this module reads the values it is given, and
a setting missing altogether is an error naming it, never a second default."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from typing import Self

    from scrapy.settings import BaseSettings

# "auto": Chrome's fast PNG in the browser thread, re-encoded per page off it, as a palette PNG
# for flat (text) pages or JPEG for photo pages (crawler/browser/encoder.py).
ScreenshotFormat = Literal["png", "jpeg", "webp", "auto"]
SCREENSHOT_FORMATS: tuple[ScreenshotFormat, ...] = ("png", "jpeg", "webp", "auto")
# SELENIUM_SCROLL_LAZY: scroll through every page ("always", the setting true), none ("never",
# false), or only pages where something could load on scroll ("auto"; crawler/browser/lazy.py).
ScrollLazy = Literal["always", "auto", "never"]


@dataclass(frozen=True)
class SeleniumConfig:
    browser_path: str
    driver_path: str
    pool_size: int
    page_load_timeout: float
    settle_timeout: float
    window_width: int
    window_height: int
    screenshot_format: ScreenshotFormat
    screenshot_quality: int
    max_screenshot_height: int
    tall_capture_height: int
    capture_height_budget: int
    recycle_after: int
    hide_consent: bool
    scroll_lazy: ScrollLazy
    scroll_pause: float
    user_agent: str
    # Scrapy's DOWNLOAD_TIMEOUT, the bound on a whole render when a request's meta carries no
    # ``download_timeout`` (DownloadTimeoutMiddleware sets it on every request it sees).
    download_timeout: float
    # "127.0.0.1:PORT" of the private-address guard proxy; every browser request goes through it.
    proxy_server: str | None = None

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        """Raise ``ValueError`` naming the setting when a value is unusable."""
        fmt = read_screenshot_format(settings)
        return cls(
            browser_path=_executable(settings, "SELENIUM_BROWSER_PATH"),
            driver_path=_executable(settings, "SELENIUM_DRIVER_PATH"),
            pool_size=_at_least(settings, "SELENIUM_POOL_SIZE", 1),
            page_load_timeout=_positive_float(settings, "SELENIUM_PAGE_LOAD_TIMEOUT"),
            settle_timeout=_non_negative_float(settings, "SELENIUM_SETTLE_TIMEOUT"),
            window_width=_at_least(settings, "SELENIUM_WINDOW_WIDTH", 320),
            window_height=_at_least(settings, "SELENIUM_WINDOW_HEIGHT", 240),
            screenshot_format=fmt,
            screenshot_quality=read_screenshot_quality(settings),
            max_screenshot_height=_at_least(settings, "SELENIUM_MAX_SCREENSHOT_HEIGHT", 1),
            tall_capture_height=_at_least(settings, "SELENIUM_TALL_CAPTURE_HEIGHT", 0),
            capture_height_budget=_at_least(settings, "SELENIUM_CAPTURE_HEIGHT_BUDGET", 0),
            recycle_after=_at_least(settings, "SELENIUM_RECYCLE_AFTER", 1),
            hide_consent=settings.getbool("SELENIUM_HIDE_CONSENT"),
            scroll_lazy=read_scroll_lazy(settings),
            scroll_pause=_non_negative_float(settings, "SELENIUM_SCROLL_PAUSE"),
            user_agent=str(settings.get("USER_AGENT") or ""),
            download_timeout=_positive_float(settings, "DOWNLOAD_TIMEOUT"),
        )

    def with_proxy(self, proxy_server: str | None) -> SeleniumConfig:
        return dataclasses.replace(self, proxy_server=proxy_server)


def read_screenshot_format(settings: BaseSettings) -> ScreenshotFormat:
    """``SELENIUM_SCREENSHOT_FORMAT``, validated (the re-encoding pipeline reads it too)."""
    fmt = _text(settings, "SELENIUM_SCREENSHOT_FORMAT").lower()
    if fmt == "jpg":
        fmt = "jpeg"
    for known in SCREENSHOT_FORMATS:
        if fmt == known:
            return known
    raise ValueError(
        f"SELENIUM_SCREENSHOT_FORMAT must be one of {', '.join(SCREENSHOT_FORMATS)}, not {fmt!r}"
    )


def read_scroll_lazy(settings: BaseSettings) -> ScrollLazy:
    """``SELENIUM_SCROLL_LAZY``: true, false or ``auto``."""
    raw = _declared(settings, "SELENIUM_SCROLL_LAZY")
    if isinstance(raw, str) and raw.strip().lower() == "auto":
        return "auto"
    try:
        return "always" if settings.getbool("SELENIUM_SCROLL_LAZY") else "never"
    except ValueError:
        message = f"SELENIUM_SCROLL_LAZY must be true, false or auto, not {raw!r}"
        raise ValueError(message) from None


def _declared(settings: BaseSettings, name: str) -> Any:
    """The value of ``name``; a setting missing altogether means the settings were not built
    from ``crawler/settings.py``, which declares every default."""
    raw = settings.get(name)
    if raw is None:
        raise ValueError(f"{name} is not set: build the settings from crawler/settings.py")
    return raw


def _text(settings: BaseSettings, name: str) -> str:
    return str(_declared(settings, name))


def _executable(settings: BaseSettings, name: str) -> str:
    value = _text(settings, name)
    if not Path(value).is_file():
        raise ValueError(
            f"{name}={value!r} is not a file: install Debian's chromium and chromium-driver"
            f" (make system-deps) or point {name} at the binary"
        )
    return value


def _number(settings: BaseSettings, name: str) -> float:
    raw = _declared(settings, name)
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {raw!r}") from None


def _at_least(settings: BaseSettings, name: str, minimum: int) -> int:
    value = _number(settings, name)
    if value != int(value) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, not {value!r}")
    return int(value)


def _positive_float(settings: BaseSettings, name: str) -> float:
    value = _number(settings, name)
    if value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return value


def _non_negative_float(settings: BaseSettings, name: str) -> float:
    value = _number(settings, name)
    if value < 0:
        raise ValueError(f"{name} must be zero or more seconds, not {value!r}")
    return value


def read_screenshot_quality(settings: BaseSettings) -> int:
    """``SELENIUM_SCREENSHOT_QUALITY``, 1..100 (JPEG and WebP)."""
    value = _at_least(settings, "SELENIUM_SCREENSHOT_QUALITY", 1)
    if value > 100:
        raise ValueError(f"SELENIUM_SCREENSHOT_QUALITY must be 1..100, not {value}")
    return value
