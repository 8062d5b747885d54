"""``full_page`` and its capture turn, on a real headless Chromium (issue #16): a page captured
in tiles keeps its turn until python has joined and encoded them, because the canvas (4 bytes a
pixel in Pillow) is a transient as large as a tile's capture; a one-capture page holds its turn
only while Chrome captures it. Seen from the turn itself: the python process's peak RSS while
the turn is held (``VmHWM``, reset through ``/proc/self/clear_refs`` as the turn is entered).
The test process takes the crawler's own heap setting first (``crawler/malloc.py``: large blocks
are fresh mappings), and gives its free heap back as the turn is entered: otherwise a worker that
ran other tests serves the canvas from memory it already holds, and its RSS hardly rises."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from crawler.browser.config import SeleniumConfig
from crawler.browser.screenshot import full_page
from crawler.browser.session import BrowserSession
from crawler.malloc import fix_mmap_threshold
from rivalscope_core.libc import malloc_trim
from tests.project_settings import project_settings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/self/status")


class RecordingTurn:
    """A turn that is always given, and records each one's height and python's RSS rise."""

    def __init__(self) -> None:
        self.heights: list[int] = []
        self.rises: list[int] = []

    @contextmanager
    def turn(self, height: int) -> Iterator[bool]:
        self.heights.append(height)
        malloc_trim()
        rss = _status_bytes("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        yield True
        self.rises.append(_status_bytes("VmHWM") - rss)


def test_a_tiled_page_is_joined_and_encoded_inside_its_turn(site: SiteServer):
    fix_mmap_threshold()  # as the crawler does at start
    session = BrowserSession.start(SeleniumConfig.from_settings(project_settings()))
    try:
        tall, short = RecordingTurn(), RecordingTurn()
        session.driver.get(site.url("/render/bands.html?height=17000"))
        tiled = full_page(session.driver, "jpeg", 80, 30000, tall.turn)
        session.driver.get(site.url("/render/bands.html?height=6000"))
        single = full_page(session.driver, "jpeg", 80, 30000, short.turn)
    finally:
        session.quit()
    assert (tiled.height, single.height) == (17000, 6000)
    assert tall.heights == [5667]  # its tallest tile: 5,667 + 5,667 + 5,666 px
    canvas = tiled.width * tiled.height * 4
    # Decoded and joined in the turn: the canvas at least (0.9 MB when joined after it).
    assert tall.rises[0] > 0.75 * canvas, (tall.rises, canvas)
    # Chrome's JPEG of a 6,000 px page of bands is kilobytes: nothing decoded in its turn.
    assert short.heights == [6000]
    assert short.rises[0] < 0.2 * single.width * single.height * 4, short.rises
