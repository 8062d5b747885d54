"""The pool's life: browsers rendering side by side, then ``close()`` leaving nothing behind."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.integration.crawler.browser.conftest import harness_settings
from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _in_group(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def test_close_quits_every_browser_and_removes_profiles(harness_factory: Any, site: SiteServer):
    harness = harness_factory(harness_settings(site, SELENIUM_POOL_SIZE=2))
    paths = ["/render/plain.html", "/render/japanese.html", "/render/late.html"]
    replies = harness.render_many([site.url(path) for path in paths])
    assert all(reply["ok"] for reply in replies), replies
    browsers = harness.browsers()
    assert len(browsers) == 2  # three pages at once, never more browsers than the pool holds
    assert harness.stats()["selenium/browsers_started"] == 2
    pids = [pid for browser in browsers for pid in browser["pids"]]
    # chromedriver and chromium each; chromium runs its renderer inside (--single-process,
    # crawler/browser/flags.py), so a browser may have no helper process at all
    assert len(pids) >= 2 * len(browsers)
    profiles = [Path(browser["profile"]) for browser in browsers]
    assert all(profile.is_dir() for profile in profiles)

    assert harness.close() == 0

    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in pids if _alive(pid)] == []
    assert [pgid for b in browsers if _in_group(pgid := b["pgid"])] == []
    assert [profile for profile in profiles if profile.exists()] == []


def test_browser_is_recycled_after_the_configured_number_of_pages(
    harness_factory: Any, site: SiteServer
):
    harness = harness_factory(
        harness_settings(site, SELENIUM_RECYCLE_AFTER=2, SELENIUM_SCREENSHOT_FORMAT="webp")
    )
    groups = []
    for _ in range(3):
        reply = harness.render(site.url("/render/plain.html"))
        assert reply["ok"]
        groups.append([browser["pgid"] for browser in harness.browsers()])
    shot = reply["page"]["screenshot"]
    with Image.open(io.BytesIO(base64.b64decode(shot["data"]))) as image:
        assert (image.format, image.size) == ("WEBP", (shot["width"], shot["height"]))
    # Quit after its second page; the third page starts a new one.
    first, after_second, third = groups
    assert len(first) == 1
    assert after_second == []
    assert len(third) == 1
    assert third != first
    stats = harness.stats()
    assert stats["selenium/browsers_recycled"] == 1
    assert stats.get("selenium/browser_restarts", 0) == 0


def _renderers(pids: list[int]) -> list[int]:
    renderers = []
    for pid in pids:
        try:
            # Chromium rewrites its helpers' command lines as one space-separated string.
            command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"--type=renderer" in command_line:
            renderers.append(pid)
    return renderers


def test_a_reused_browser_keeps_no_renderer_for_the_sites_it_has_left(
    harness_factory: Any, site: SiteServer
):
    """A full Chromium keeps left pages alive in its back/forward cache and a spare renderer
    warm for the next site; a crawling browser needs neither (the benchmark's pool of 2 held up
    to 19 renderers, 559 MB, with them; here 3 renderers remain with them, 2 without). The
    default headless shell keeps neither anyway; the flags are for SELENIUM_BROWSER_PATH set to
    the full browser, which this test uses."""
    others = [SiteServer(host=f"127.0.0.{n}").start() for n in range(2, 7)]
    try:
        harness = harness_factory(
            harness_settings(site, *others, SELENIUM_BROWSER_PATH="/usr/bin/chromium")
        )
        for server in [site, *others]:
            for path in ("/render/plain.html", "/render/late.html"):
                reply = harness.render(server.url(path))
                assert reply["ok"], reply
        (browser,) = harness.browsers()
        assert len(_renderers(browser["pids"])) <= 2
    finally:
        for server in others:
            server.stop()


def test_a_full_chromium_at_selenium_browser_path_renders_as_well(
    harness_factory: Any, site: SiteServer
):
    """The default is Debian's headless shell; the full browser stays a supported choice."""
    harness = harness_factory(harness_settings(site, SELENIUM_BROWSER_PATH="/usr/bin/chromium"))
    reply = harness.render(site.url("/render/late.html"))
    assert reply["ok"], reply
    assert "inserted by a timer after load" in reply["page"]["html"]
    (browser,) = harness.browsers()
    command_lines = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in browser["pids"]]
    assert any(b"/usr/lib/chromium/chromium\0" in line for line in command_lines)
    assert not any(b"headless-shell" in line for line in command_lines)


# Loads, then keeps the renderer's main thread busy for good from the first scroll (after
# navigation has returned): every later WebDriver command waits on it, and chromedriver never
# answers (Selenium alone gave up after 120 s).
NEVER_YIELDS = b"""<html><head><title>busy</title></head><body><p>loaded</p><script>
addEventListener("scroll", () => { for (;;) {} }, {once: true});
</script><div style="height: 4000px"></div></body></html>"""


def test_a_page_whose_script_never_yields_is_cut_at_download_timeout(
    harness_factory: Any, site: SiteServer
):
    site.route("/render/never-yields", lambda _handler: (200, {}, NEVER_YIELDS))
    harness = harness_factory(
        harness_settings(site, DOWNLOAD_TIMEOUT=60, SELENIUM_PAGE_LOAD_TIMEOUT=20)
    )
    assert harness.render(site.url("/render/plain.html"))["ok"]
    (browser,) = harness.browsers()

    started = time.monotonic()
    # DownloadTimeoutMiddleware puts DOWNLOAD_TIMEOUT in every request's meta; a spider may
    # set its own per request, as here.
    reply = harness.render(site.url("/render/never-yields"), download_timeout=5)
    elapsed = time.monotonic() - started

    assert (reply["ok"], reply["error_type"]) == (False, "timeout"), reply
    assert "did not finish rendering within 5 s (DOWNLOAD_TIMEOUT)" in reply["message"]
    assert elapsed < 20, elapsed
    after = harness.render(site.url("/render/plain.html"))
    assert (after["ok"], after["status"]) == (True, 200), after
    (replacement,) = harness.browsers()
    assert replacement["pgid"] != browser["pgid"]
    deadline = time.monotonic() + 5
    while _in_group(browser["pgid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _in_group(browser["pgid"]) == []
    assert not Path(browser["profile"]).exists()
    stats = harness.stats()
    assert stats["selenium/render_errors/timeout"] == 1
    assert stats["selenium/browser_restarts"] == 1
