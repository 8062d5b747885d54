"""Re-encodes each rendered page's screenshot for storage when ``SELENIUM_SCREENSHOT_FORMAT=auto``
(issue #16): a palette PNG for a flat text page, a JPEG for a photo page
(``crawler/browser/reencode.py`` decides from the capture).

The browser never waits for it: the browser thread only captures Chrome's fast PNG and takes
its next page while the capture is re-encoded here, in a thread pool of its own with
``ENCODE_THREADS`` thread(s), at normal priority (at nice 10 it starved on a loaded machine and
the backlog held the browsers back: 0.51x main's pages/min against 0.70x; bench/RESULTS.md).
Memory stays flat: a page takes one of ``backlog`` tokens before it is rendered and gives it
back once its screenshot is encoded, so when the encoder falls behind (a busy machine) the
browsers wait for it instead of piling up captures, and at most ``ENCODE_THREADS`` decoded
captures (~4 bytes a pixel) exist at a time.
Nothing is lost: the download handler hands a page to Scrapy only once it is encoded, so every
stored chunk, and the last one flushed at a SIGTERM's stop (which waits for pages in flight),
holds encoded pages; an encode that fails keeps the captured PNG as it was.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
from typing import TYPE_CHECKING

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import DeferredSemaphore
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

if TYPE_CHECKING:
    from rivalscope_core.records import Screenshot

logger = logging.getLogger(__name__)

# One: the encodes of two browsers' pages keep up (~0.1-0.2 CPU s a page against ~1 s of
# rendering), and a second thread would only compete with Chromium for the cores.
ENCODE_THREADS = 1


class ScreenshotEncoder:
    def __init__(self, quality: int, backlog: int) -> None:
        self._quality = quality
        self._tokens = DeferredSemaphore(backlog)
        self._pool = ThreadPool(minthreads=0, maxthreads=ENCODE_THREADS, name="screenshot-encode")
        self._pool.start()

    async def acquire(self) -> None:
        """Wait for room in the backlog; call before rendering a page, ``release`` after."""
        await maybe_deferred_to_future(self._tokens.acquire())

    def release(self) -> None:
        self._tokens.release()

    async def encode(self, shot: Screenshot, url: str) -> tuple[Screenshot, str]:
        """The screenshot as stored, and its outcome for the stats: ``stored_as/png``,
        ``stored_as/jpeg`` or ``reencode_failed``."""
        from twisted.internet import reactor  # the installed one, never a default

        result: tuple[Screenshot, str] = await maybe_deferred_to_future(
            deferToThreadPool(reactor, self._pool, self.stored_screenshot, shot, url)
        )
        return result

    def stored_screenshot(self, shot: Screenshot, url: str) -> tuple[Screenshot, str]:
        """Blocking: the re-encoded screenshot, or the original on any failure. A JPEG capture
        (a photo page, ``crawler/browser/screenshot.py``) is stored as Chrome made it."""
        if shot.format == "jpeg":
            return shot, "stored_as/jpeg"
        # Here, not at the top: numpy, libspng and ISA-L (88 ms and several MB) are loaded only
        # by the crawls that re-encode, not by every crawl that imports the handler.
        from crawler.browser.reencode import reencode

        try:
            fmt, data = reencode(base64.b64decode(shot.data), self._quality)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the capture, never the page
            logger.warning("Kept the captured PNG of %s: re-encoding failed: %r", url, exc)
            return shot, "reencode_failed"
        stored = dataclasses.replace(shot, format=fmt, data=base64.b64encode(data).decode("ascii"))
        return stored, f"stored_as/{fmt}"

    def stop(self) -> None:
        """Called once no page is in flight: no encode is pending."""
        self._pool.stop()
