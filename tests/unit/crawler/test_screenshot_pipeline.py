"""The screenshot pipeline of ``SELENIUM_SCREENSHOT_FORMAT=auto``: on only for ``auto``, and a
capture it cannot re-encode is kept as it was."""

from __future__ import annotations

import base64

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.screenshot_pipeline import ScreenshotPipeline
from tests.project_settings import project_settings_dict


def _pipeline(fmt: str) -> ScreenshotPipeline:
    crawler = get_crawler(
        settings_dict={**project_settings_dict(), "SELENIUM_SCREENSHOT_FORMAT": fmt}
    )
    return ScreenshotPipeline.from_crawler(crawler)


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_other_formats_are_stored_as_captured(fmt: str) -> None:
    with pytest.raises(NotConfigured):
        _pipeline(fmt)


def test_an_encode_failure_keeps_the_captured_bytes() -> None:
    truncated = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 40).decode("ascii")
    shot = {"format": "png", "width": 1280, "height": 900, "data": truncated}
    stored, outcome = _pipeline("auto").stored_screenshot(shot, "https://a.example/")
    assert stored == shot
    assert outcome == "reencode_failed"
