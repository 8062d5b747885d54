"""The re-encoding process of ``SELENIUM_SCREENSHOT_FORMAT=auto`` (issue #16): one child of the
crawler, at the lowest CPU priority, that turns Chrome's captures into what is stored
(``crawler/browser/reencode.py``) and nothing else.

Why a process and not a thread: the re-encode is ~65 ms of CPU a capture, held under the
crawler's GIL (libspng's decode, Pillow's mapping), so in a thread it delayed the Twisted
reactor and the browser threads' Selenium calls, and the crawl lost ~12 % of its pages/min on 2
cores (bench/RESULTS.md "Re-encoding at less CPU"). Here it has its own interpreter and runs at
nice 19: it takes the CPU the browsers leave idle while they wait on navigation and settling,
and gives way to them whenever they want it. The parent (``crawler/browser/encode_process.py``)
writes one request at a time and reads its answer (and under ``SCHED_IDLE`` as well, where
the platform has it); this module's top level imports only the
standard library, so the parent can import the framing without numpy.

Frames, both ways: a header ``>BI`` (a code and the payload's length) and the payload. Request:
the JPEG quality and the capture's base64 text. Answer: ``STORED_PNG`` or ``STORED_JPEG`` and
the stored image's base64 text, or ``FAILED`` and the error's text. SIGINT and SIGTERM are
ignored: a stop of the crawl waits for the pages in flight, which need this process, and it ends
when its input closes (the parent's stop, or the parent's death).
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import struct
import sys
from typing import IO, Literal

HEADER = struct.Struct(">BI")
STORED_PNG = 0
STORED_JPEG = 1
FAILED = 2
STORED_CODES: dict[int, Literal["png", "jpeg"]] = {STORED_PNG: "png", STORED_JPEG: "jpeg"}
# The highest nice value: the browsers of the crawl always come first.
NICE = 19


def write_frame(out: IO[bytes], code: int, payload: bytes) -> None:
    out.write(HEADER.pack(code, len(payload)))
    out.write(payload)
    out.flush()


def _read_exactly(source: IO[bytes], size: int) -> bytes | None:
    """``size`` bytes, or None at the end of the input (nothing or part of a frame)."""
    data = source.read(size)
    return data if data is not None and len(data) == size else None


def read_frame(source: IO[bytes]) -> tuple[int, bytes] | None:
    """The next frame's code and payload; None when the other side has closed."""
    header = _read_exactly(source, HEADER.size)
    if header is None:
        return None
    code, size = HEADER.unpack(header)
    payload = _read_exactly(source, size) if size else b""
    return None if payload is None else (code, payload)


def _answer(quality: int, capture_base64: bytes) -> tuple[int, bytes]:
    # Here, not at the top: the parent imports this module for the framing, without numpy,
    # libspng and ISA-L.
    from crawler.browser.reencode import reencode

    try:
        fmt, data = reencode(base64.b64decode(capture_base64), quality)
    except Exception as exc:  # noqa: BLE001 - any failure is told to the parent, which keeps the capture
        return FAILED, repr(exc).encode("utf-8", "replace")
    return (STORED_PNG if fmt == "png" else STORED_JPEG), base64.b64encode(data)


def serve(source: IO[bytes], out: IO[bytes]) -> None:
    """Answers requests in order until ``source`` closes."""
    while (frame := read_frame(source)) is not None:
        quality, capture = frame
        write_frame(out, *_answer(quality, capture))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.nice(NICE)  # clamps at 19 whatever the parent's niceness
    # SCHED_IDLE: the kernel's policy for work that should run only on otherwise idle CPU
    # (a weight of 3 against nice 19's 15 when anything else wants the core).
    with contextlib.suppress(AttributeError, OSError):  # not on every platform
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # a stray print must not corrupt the answers
    serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
