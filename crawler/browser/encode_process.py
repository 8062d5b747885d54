"""The crawler's side of the re-encoding process (``crawler/browser/encode_worker.py``): starts
it, hands it one capture at a time and reads back what is stored, and starts a new one when it
died. Blocking: called from the encoder's one thread (``crawler/browser/encoder.py``), never
from the reactor. The parent does no pixel work at all: it passes base64 text through.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING

import crawler
from crawler.browser.encode_worker import FAILED, STORED_CODES, read_frame, write_frame

if TYPE_CHECKING:
    from crawler.browser.reencode import StoredFormat

# How long a stop waits for the process to end once its input is closed (it finishes the
# capture in hand first: well under a second).
STOP_WAIT = 10.0
_PROJECT_ROOT = Path(crawler.__file__).resolve().parents[1]
# glibc's mmap threshold in the process (``MALLOC_MMAP_THRESHOLD_``, fixed from its start, which
# also turns glibc's rising threshold off): blocks up to a strip of a capture (Pillow's
# 1280 x 256 x 4 bytes = 1.3 MB, a capture's base64) come from the heap and are reused from one
# capture to the next; a whole decoded page (15-31 MB: a photo page's JPEG path) is mapped and
# unmapped. At the crawler's 128 KiB (crawler/malloc.py) every strip's buffers were fresh pages:
# 78 vs 57-70 ms of CPU a text page, same peak (bench/RESULTS.md "The encode worker's memory").
WORKER_MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024


class EncoderGoneError(RuntimeError):
    """The re-encoding process ended or broke its pipe: this capture stays as captured."""


class ReencodeFailedError(RuntimeError):
    """The re-encoding process could not read or write this capture."""


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # The parent's package from wherever the crawl was started (scrapy.cfg finds it by cwd).
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
    )
    env["MALLOC_MMAP_THRESHOLD_"] = str(WORKER_MMAP_THRESHOLD_BYTES)
    return env


class EncodeProcess:
    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Starts the process now, so its imports run while the first page renders."""
        with self._lock:
            self._running()

    def _running(self) -> subprocess.Popen[bytes]:
        process = self._process
        if process is None or process.poll() is not None:
            process = self._process = subprocess.Popen(
                [sys.executable, "-m", "crawler.browser.encode_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=_environment(),
            )
        return process

    def reencode(self, capture_base64: str, quality: int) -> tuple[StoredFormat, str]:
        """The stored format and base64 of the capture. Raises ``ReencodeFailedError`` or
        ``EncoderGoneError`` (after which the next call starts a new process)."""
        with self._lock:
            process = self._running()
            stdin, stdout = _pipes(process)
            try:
                write_frame(stdin, quality, capture_base64.encode("ascii"))
                answer = read_frame(stdout)
            except OSError as exc:
                self._discard(process)
                raise EncoderGoneError(f"the re-encoding process broke its pipe: {exc!r}") from exc
            if answer is None:
                self._discard(process)
                raise EncoderGoneError(f"the re-encoding process ended ({process.poll()})")
        code, payload = answer
        if code == FAILED:
            raise ReencodeFailedError(payload.decode("utf-8", "replace"))
        return STORED_CODES[code], payload.decode("ascii")

    def _discard(self, process: subprocess.Popen[bytes]) -> None:
        process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        self._process = None

    def stop(self) -> None:
        """Closes its input, so it ends after the capture in hand; kills it if it does not."""
        with self._lock:
            process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            _pipes(process)[0].close()
        try:
            process.wait(timeout=STOP_WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _pipes(process: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    if process.stdin is None or process.stdout is None:  # never with Popen(PIPE): for mypy
        raise EncoderGoneError("the re-encoding process has no pipes")
    return process.stdin, process.stdout
