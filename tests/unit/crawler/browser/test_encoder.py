"""The screenshot encoder of ``SELENIUM_SCREENSHOT_FORMAT=auto``: a capture it cannot re-encode,
or one its process died on, is stored as it was captured; its backlog is bounded."""

from __future__ import annotations

import base64
import io
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
from PIL import Image, ImageDraw

from crawler.browser.encoder import ScreenshotEncoder
from rivalscope_core.records import Screenshot


def test_an_encode_failure_keeps_the_captured_bytes() -> None:
    truncated = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 40).decode("ascii")
    shot = Screenshot("png", 1280, 900, truncated, truncated=False, page_height=900)
    encoder = ScreenshotEncoder(quality=80, backlog=2, wait=30)
    try:
        stored, outcome = encoder.stored_screenshot(shot, "https://a.example/")
    finally:
        encoder.stop()
    assert stored == shot
    assert outcome == "reencode_failed"


def test_a_jpeg_capture_is_stored_as_chrome_made_it() -> None:
    data = base64.b64encode(b"\xff\xd8\xff\xe0 not decoded").decode("ascii")
    shot = Screenshot("jpeg", 1280, 900, data, truncated=False, page_height=900)
    encoder = ScreenshotEncoder(quality=80, backlog=2, wait=30)
    try:
        stored, outcome = encoder.stored_screenshot(shot, "https://a.example/")
    finally:
        encoder.stop()
    assert (stored, outcome) == (shot, "stored_as/jpeg")


def test_the_backlog_gives_no_place_when_full_and_takes_one_back_when_released() -> None:
    encoder = ScreenshotEncoder(quality=80, backlog=2, wait=30)
    try:
        assert [encoder.reserve() for _ in range(3)] == [True, True, False]
        encoder.release()
        assert [encoder.reserve(), encoder.reserve()] == [True, False]
    finally:
        encoder.stop()


def _encode_worker() -> psutil.Process:
    (worker,) = [
        child
        for child in psutil.Process().children()
        if "crawler.browser.encode_worker" in " ".join(child.cmdline())
    ]
    return worker


def test_a_capture_in_flight_when_the_encoding_process_dies_is_kept_and_the_next_is_encoded() -> (
    None
):
    capture = Image.new("RGB", (320, 200), "white")
    ImageDraw.Draw(capture).text((10, 10), "Growth plan $49", "black")
    out = io.BytesIO()
    capture.save(out, "PNG")
    data = base64.b64encode(out.getvalue()).decode("ascii")
    shot = Screenshot("png", 320, 200, data, truncated=False, page_height=200)
    encoder = ScreenshotEncoder(quality=80, backlog=2, wait=30)
    try:
        worker = _encode_worker()
        worker.suspend()  # the capture below is in its hands when it dies
        with ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(encoder.stored_screenshot, shot, "https://a.example/")
            time.sleep(0.3)
            assert not in_flight.done()
            worker.kill()
            assert in_flight.result(timeout=30) == (shot, "reencode_failed")
        stored, outcome = encoder.stored_screenshot(shot, "https://a.example/")
    finally:
        encoder.stop()
    assert outcome == "stored_as/png"
    image = Image.open(io.BytesIO(base64.b64decode(stored.data)))
    assert (image.format, image.mode, image.size) == ("PNG", "P", (320, 200))
