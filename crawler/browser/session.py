"""One headless Chromium driven by chromedriver: how it is started, and how it is made to
disappear completely (browser, driver, every helper process and the temporary profile).

Everything here blocks; the pool calls it from worker threads, never on the reactor.

chromedriver is started in a new session (``start_new_session``), so it and every Chromium
process it spawns share one process group whose id is the driver's pid. ``quit()`` asks
WebDriver politely, then kills that group, which also reaps processes a crashed or hung browser
leaves behind; no psutil needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from urllib3.exceptions import HTTPError

from crawler.browser.flags import CHROMIUM_FLAGS, CHROMIUM_PREFS, guard_proxy_arguments
from crawler.browser.scripts import DOCUMENT_START

if TYPE_CHECKING:
    from crawler.browser.config import SeleniumConfig

logger = logging.getLogger(__name__)

PROFILE_PREFIX = "rivalscope-chromium-"
# chromedriver starts this script, which starts ``SELENIUM_BROWSER_PATH`` with a start page.
LAUNCHER = Path(__file__).with_name("open-blank-page")


def _avoid_selenium_manager() -> None:
    """Safety net: we always pass the driver path, so Selenium Manager should never run; if
    it did, it must neither download nor send statistics."""
    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ.setdefault("SE_AVOID_STATS", "true")


def renderer_of(capabilities: dict[str, Any], flags: tuple[str, ...] = CHROMIUM_FLAGS) -> str:
    """The browser build and a digest of the flags it draws with, e.g. ``chrome-headless-shell
    156.0.8078.73, flags 1f0c9a2e``: stored with each screenshot (``Screenshot.renderer``), so
    that the change report can tell a browser upgrade's new pixels from a changed page."""
    name = str(capabilities.get("browserName") or "chromium")
    version = str(capabilities.get("browserVersion") or "?")
    digest = hashlib.sha256("\n".join(flags).encode()).hexdigest()[:8]
    return f"{name} {version}, flags {digest}"


def chromium_options(config: SeleniumConfig, profile_dir: str) -> Options:
    options = Options()
    options.binary_location = str(LAUNCHER)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.add_argument(f"--window-size={config.window_width},{config.window_height}")
    if config.user_agent:
        options.add_argument(f"--user-agent={config.user_agent}")
    if config.proxy_server:
        # Every request through the private-address guard, loopback included (Chromium
        # bypasses proxies for loopback unless told not to), and WebRTC kept off raw UDP,
        # which would go around any HTTP proxy.
        for argument in guard_proxy_arguments(config.proxy_server):
            options.add_argument(argument)
        options.add_experimental_option("prefs", dict(CHROMIUM_PREFS))
    # The performance log carries the main document's status and network error.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    options.page_load_strategy = "normal"
    # alert()/confirm() on a page would otherwise fail every later WebDriver command.
    options.unhandled_prompt_behavior = "dismiss"
    # chromedriver turns Chromium's pop-up blocker off; a person's browser has it on, and
    # refuses the pop-ups no click opened: those would load pages outside the crawl's
    # politeness and pile up windows in a reused browser (issue #11).
    options.add_experimental_option("excludeSwitches", ["disable-popup-blocking"])
    return options


class BrowserSession:
    """A started browser; ``pages`` counts renders so the pool can recycle it."""

    def __init__(self, driver: webdriver.Chrome, profile_dir: str, process_group: int) -> None:
        self.driver = driver
        self.profile_dir = profile_dir
        self.process_group = process_group
        self.pages = 0
        self.broken = False
        # The tab pages are rendered in, and its top frame's DevTools id (stable across
        # navigations), read once at start rather than once a page.
        self.window = ""
        self.frame_id = ""
        # The tab still shows the last page rendered in it (crawler/browser/pool.py): set by
        # every render, cleared by ``leave_page``.
        self.shows_page = False
        # What draws this browser's screenshots (``renderer_of``), read once at start.
        self.renderer = ""

    @classmethod
    def start(cls, config: SeleniumConfig) -> BrowserSession:
        _avoid_selenium_manager()
        profile_dir = tempfile.mkdtemp(prefix=PROFILE_PREFIX)
        service = Service(
            config.driver_path,
            log_output=subprocess.DEVNULL,
            popen_kw={"start_new_session": True},
            # chromedriver hands its environment to the browser it starts (LAUNCHER).
            env={**os.environ, "RIVALSCOPE_BROWSER": config.browser_path},
        )
        try:
            driver = webdriver.Chrome(
                service=service, options=chromium_options(config, profile_dir)
            )
        except BaseException:
            process = service.process
            if process is not None:
                _kill_group(process.pid)
            shutil.rmtree(profile_dir, ignore_errors=True)
            raise
        assert service.process is not None
        session = cls(driver, profile_dir, service.process.pid)
        try:
            driver.set_page_load_timeout(config.page_load_timeout)
            driver.set_script_timeout(config.settle_timeout + config.page_load_timeout)
            driver.execute_cdp_cmd(
                "Page.addScriptToEvaluateOnNewDocument", {"source": DOCUMENT_START}
            )
            # A download (a PDF, a CSV attachment) is refused, never written to disk nor left
            # pending; the render flow records such an answer as no page (issue #11).
            driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "deny"})
            session.renderer = renderer_of(dict(driver.capabilities))
            session.window = str(driver.current_window_handle)
            tree = driver.execute_cdp_cmd("Page.getFrameTree", {})
            session.frame_id = str(tree["frameTree"]["frame"]["id"])
        except BaseException:
            session.quit()
            raise
        return session

    def close_other_windows(self) -> int:
        """Close every window but the session's own (pop-ups a full Chromium let through) and
        return how many windows there were; raises ``WebDriverException`` if the browser is
        gone. One round trip when there is nothing to close."""
        handles = list(self.driver.window_handles)
        extra = [handle for handle in handles if handle != self.window]
        for handle in extra:
            self.driver.switch_to.window(handle)
            self.driver.close()
        if extra:
            self.driver.switch_to.window(self.window)
        return len(handles)

    def leave_page(self) -> None:
        """Leave the tab on a blank page, so that nothing of the last page runs in an idle
        browser: no refresh or timer that would fetch from the site outside its turn (or move
        the tab under the next page), no polling, no memory held. One short round trip; a
        browser that fails it is marked broken (the pool replaces it)."""
        try:
            self.driver.get("about:blank")
        except (WebDriverException, HTTPError, OSError):
            self.broken = True
        self.shows_page = False

    def pids(self) -> list[int]:
        """Live processes of this browser (driver and Chromium), from /proc; for tests and logs."""
        return _group_members(self.process_group)

    def quit(self) -> None:
        """Never raises: a browser that will not quit is killed, and its profile removed."""
        try:
            self.driver.quit()
        except (WebDriverException, OSError) as exc:
            logger.debug("quit failed, killing the browser's process group: %s", exc)
        self.kill()

    def kill(self) -> None:
        """At once, without asking WebDriver (which may hang): for interpreter exit."""
        self.abort()
        shutil.rmtree(self.profile_dir, ignore_errors=True)

    def abort(self) -> None:
        """Kill the browser and its driver, and nothing else: a WebDriver call blocked on them
        fails at once. Safe from any thread; ``quit()`` still removes the profile."""
        _kill_group(self.process_group)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    # Reap the driver if it is our child, so it does not linger as a zombie.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pgid, os.WNOHANG)


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        # Fields after the ")" that ends the command name: state ppid pgrp ...
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members
