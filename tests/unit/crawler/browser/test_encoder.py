"""The screenshot encoder of ``SELENIUM_SCREENSHOT_FORMAT=auto``: a capture it cannot re-encode
is stored as it was captured."""

from __future__ import annotations

import base64

from crawler.browser.encoder import ScreenshotEncoder
from rivalscope_core.records import Screenshot


def test_an_encode_failure_keeps_the_captured_bytes() -> None:
    truncated = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 40).decode("ascii")
    shot = Screenshot("png", 1280, 900, truncated, truncated=False, page_height=900)
    encoder = ScreenshotEncoder(quality=80, backlog=2)
    try:
        stored, outcome = encoder.stored_screenshot(shot, "https://a.example/")
    finally:
        encoder.stop()
    assert stored == shot
    assert outcome == "reencode_failed"


def test_a_jpeg_capture_is_stored_as_chrome_made_it() -> None:
    data = base64.b64encode(b"\xff\xd8\xff\xe0 not decoded").decode("ascii")
    shot = Screenshot("jpeg", 1280, 900, data, truncated=False, page_height=900)
    encoder = ScreenshotEncoder(quality=80, backlog=2)
    try:
        stored, outcome = encoder.stored_screenshot(shot, "https://a.example/")
    finally:
        encoder.stop()
    assert (stored, outcome) == (shot, "stored_as/jpeg")
