"""The thumbnail a report card shows."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from analyzer_lambda.report.screenshots import make_thumbnail


@pytest.mark.parametrize(("fmt", "height"), [("PNG", 6000), ("WEBP", 300), ("JPEG", 900)])
def test_thumbnail_is_the_top_of_themake_page(fmt: str, height: int) -> None:
    page = Image.new("RGB", (1280, height), "white")
    page.paste((200, 0, 0), (0, 0, 1280, 200))  # a red header
    raw = io.BytesIO()
    page.save(raw, format=fmt)
    with Image.open(io.BytesIO(make_thumbnail(raw.getvalue()))) as thumb:
        assert thumb.format == "WEBP"
        assert thumb.width == 600
        assert thumb.height == round(600 * min(height, 800) / 1280)
        pixel = thumb.convert("RGB").getpixel((300, 10))
        assert isinstance(pixel, tuple)
        red, green, _blue = pixel
        assert red > 150 > green
