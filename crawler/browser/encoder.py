"""Re-encodes each rendered page's screenshot for storage when ``SELENIUM_SCREENSHOT_FORMAT=auto``
(issue #16): a palette PNG for a flat text page, a JPEG for a photo page
(``crawler/browser/reencode.py`` decides from the capture).

The browser never waits for it: the browser thread only captures Chrome's fast PNG and takes
its next page while the capture is re-encoded by a process of its own at nice 19
(``crawler/browser/encode_process.py``, ``encode_worker.py``), fed by one thread here that only
passes the capture's base64 text through a pipe. In the crawler's own threads the re-encode held
the GIL and cost ~12 % of the pages/min on 2 cores; at nice 10 in a thread it starved the
browsers instead (bench/RESULTS.md "Screenshot bytes", "Re-encoding at less CPU").
Memory stays flat and the browsers never wait for it: a page takes one of ``backlog`` places
once a browser has it and gives it back once its screenshot is encoded; a page that finds none
free (the process is behind: no idle CPU) is captured as Chrome's JPEG and stored as is, as with
``SELENIUM_SCREENSHOT_FORMAT=jpeg``.
Nothing is lost: the download handler hands a page to Scrapy only once it is encoded, so every
stored chunk, and the last one flushed at a SIGTERM's stop (which waits for pages in flight),
holds encoded pages; an encode that fails, or a process that died, keeps the captured PNG.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import TYPE_CHECKING

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from crawler.browser.encode_process import EncodeProcess

if TYPE_CHECKING:
    from rivalscope_core.records import Screenshot

logger = logging.getLogger(__name__)

# One: it only waits on the one re-encoding process, which takes a capture at a time.
ENCODE_THREADS = 1


class ScreenshotEncoder:
    def __init__(self, quality: int, backlog: int, wait: float) -> None:
        self._quality = quality
        self._backlog = backlog
        self._wait = wait
        self._reserved = 0
        self._lock = threading.Lock()
        self._pool = ThreadPool(minthreads=0, maxthreads=ENCODE_THREADS, name="screenshot-encode")
        self._pool.start()
        self._process = EncodeProcess()
        self._process.start()

    def reserve(self) -> bool:
        """Room for one more page's capture in the backlog, taken if there is some; never
        waits. Called from a browser's thread once it has the page (a page still waiting for
        a browser holds nothing); ``encode`` gives it back (``release``: a page not encoded)."""
        with self._lock:
            if self._reserved >= self._backlog:
                return False
            self._reserved += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._reserved -= 1

    async def encode(self, shot: Screenshot, url: str) -> tuple[Screenshot, str]:
        """The screenshot as stored, and its outcome for the stats: ``stored_as/png``,
        ``stored_as/jpeg``, ``reencode_failed`` or ``encode_timed_out``; gives back the page's
        place in the backlog once the process is done with it. A page waits for it at most
        ``wait`` seconds (the process may get no CPU at all on a machine busy with other
        work); then its capture is stored as taken (Chrome's fast PNG: on a text page about
        the bytes of its JPEG) and the place stays taken until the process has finished."""
        if shot.format == "jpeg":  # a photo page: stored as Chrome made it, no need to queue
            self.release()
            return shot, "stored_as/jpeg"
        from twisted.internet import reactor  # the installed one, never a default

        def timed_out(_result: object, _timeout: float) -> tuple[Screenshot, str]:
            logger.warning("Kept the captured PNG of %s: not re-encoded in %g s", url, self._wait)
            return shot, "encode_timed_out"

        encoded = deferToThreadPool(reactor, self._pool, self._encode_and_release, shot, url)
        encoded.addTimeout(self._wait, reactor, onTimeoutCancel=timed_out)
        result: tuple[Screenshot, str] = await maybe_deferred_to_future(encoded)
        return result

    def _encode_and_release(self, shot: Screenshot, url: str) -> tuple[Screenshot, str]:
        try:
            return self.stored_screenshot(shot, url)
        finally:
            self.release()

    def stored_screenshot(self, shot: Screenshot, url: str) -> tuple[Screenshot, str]:
        """Blocking: the re-encoded screenshot, or the original on any failure. A JPEG capture
        (a photo page, ``crawler/browser/screenshot.py``) is stored as Chrome made it."""
        if shot.format == "jpeg":
            return shot, "stored_as/jpeg"
        try:
            fmt, data = self._process.reencode(shot.data, self._quality)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the capture, never the page
            logger.warning("Kept the captured PNG of %s: re-encoding failed: %r", url, exc)
            return shot, "reencode_failed"
        return dataclasses.replace(shot, format=fmt, data=data), f"stored_as/{fmt}"

    def stop(self) -> None:
        """Called once no page is in flight: no encode is pending."""
        self._pool.stop()
        self._process.stop()
