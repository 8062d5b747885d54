"""Lazy content before the snapshot: scroll through the page (or not), then settle.

The scroll-through costs every page CPU and wall time (~0.12 CPU-s a page on the crawl
benchmark, bench/RESULTS.md "Render cost (issue #16)"), yet it only matters on pages where
something loads when scrolled. With ``SELENIUM_SCROLL_LAZY=auto`` the tracker installed at
document start (``scripts.LAZY_TRACKER``) says whether the page has any such thing; a page with
none is settled without scrolling. It is asked twice: before the scroll-through (one round
trip, the script returns at once when there is nothing), and again once the page has settled
(in the settle script's answer), because content inserted late — a fetch that adds lazy images,
a loader started by a timer — only shows then; such a page is scrolled and settled again.

Blocking: called from the render flow's worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crawler.browser import scripts

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

    from crawler.browser.config import SeleniumConfig


@dataclass(frozen=True)
class LazyOutcome:
    """``scrolled``: whether the page was scrolled through (None: scrolling is off);
    ``reasons``: why (the tracker's answer), empty when it was skipped or always on."""

    scrolled: bool | None
    reasons: tuple[str, ...] = ()


def scroll_and_settle(
    driver: WebDriver, config: SeleniumConfig, refresh: float | None, quiet_ms: int
) -> LazyOutcome:
    """Scroll through the page as ``config.scroll_lazy`` says, then wait until it is quiet
    (``scripts.SETTLE``, bounded by ``SELENIUM_SETTLE_TIMEOUT``)."""
    mode = config.scroll_lazy
    if mode == "never":
        _settle(driver, config, refresh, quiet_ms, ask=False)
        return LazyOutcome(scrolled=None)
    auto = mode == "auto"
    scrolled, reasons = _scroll_answer(_scroll(driver, config, auto=auto))
    if not auto:
        _settle(driver, config, refresh, quiet_ms, ask=False)
        return LazyOutcome(scrolled=True)
    late = _settle(driver, config, refresh, quiet_ms, ask=not scrolled)
    if scrolled or not late:
        return LazyOutcome(scrolled=scrolled, reasons=reasons)
    _scroll(driver, config, auto=False)
    _settle(driver, config, refresh, quiet_ms, ask=False)
    return LazyOutcome(scrolled=True, reasons=late)


def _scroll(driver: WebDriver, config: SeleniumConfig, *, auto: bool) -> Any:
    return driver.execute_async_script(
        scripts.SCROLL_THROUGH,
        config.max_screenshot_height,
        int(config.scroll_pause * 1000),
        int(config.page_load_timeout * 1000),  # within the script timeout (session.py)
        auto,
    )


def _settle(
    driver: WebDriver, config: SeleniumConfig, refresh: float | None, quiet_ms: int, *, ask: bool
) -> tuple[str, ...]:
    """Settle; the lazy reasons the page has once settled when ``ask``, else ()."""
    answer: Any = driver.execute_async_script(
        scripts.SETTLE,
        quiet_ms,
        int(config.settle_timeout * 1000),
        config.scroll_lazy != "never",  # wait for images with a layout box still loading
        refresh,
        ask,
    )
    if not ask:
        return ()
    if not isinstance(answer, dict):
        return ("unknown",)
    return _reasons(answer.get("reasons"))


def _scroll_answer(answer: Any) -> tuple[bool, tuple[str, ...]]:
    """``SCROLL_THROUGH``'s answer; anything malformed (a page that redefined ``Object``)
    counts as scrolled, since the script only skips by returning a well-formed ``false``."""
    if not isinstance(answer, dict):
        return True, ()
    return answer.get("scrolled") is not False, _reasons(answer.get("reasons"))


def _reasons(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        return ("unknown",) if raw is not None else ()
    return tuple(str(reason) for reason in raw)
