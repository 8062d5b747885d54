from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from analyzer_lambda.analyzers.gemini.image import prepare_screenshot


def _png(width: int, height: int) -> str:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 20, 30)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def test_tall_page_keeps_its_top_scaled_to_the_limit() -> None:
    image = prepare_screenshot(_png(1280, 9000), 1536)
    assert (image.width, image.height) == (768, 1536)
    assert image.mime_type == "image/jpeg"
    with Image.open(io.BytesIO(image.data)) as decoded:
        assert decoded.format == "JPEG"


def test_small_image_is_not_enlarged() -> None:
    image = prepare_screenshot(_png(400, 300), 1536)
    assert (image.width, image.height) == (400, 300)


def test_garbage_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a readable image"):
        prepare_screenshot(base64.b64encode(b"nope").decode(), 1536)
