"""A page screenshot, fitted to what the model actually looks at. Pure (bytes in, bytes out).

Full-page captures are tall (1280 x 9,000 px is common). Shrinking the whole page to the model's
~1,568 px limit would leave 200 px-wide, unreadable text, and Gemini bills images by 768 px
tiles (258 tokens each). So the *top* of the page — what a visitor sees first, where the
offer and prices sit — is cropped to at most twice its width tall, then scaled to fit
``max_side`` (1536 = two 768 px tiles high, one wide: about 516 tokens) and sent as JPEG q80,
which Pillow encodes in a few ms."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

MAX_ASPECT = 2.0  # height / width of the kept top of the page


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    mime_type: str
    width: int
    height: int


def prepare_screenshot(data_b64: str, max_side: int) -> PreparedImage:
    """Decode, crop the top of the page, downscale, encode as JPEG. Raises ``ValueError`` for
    data that is not an image."""
    from PIL import Image, UnidentifiedImageError  # lazy: keeps the handler import light

    try:
        raw = base64.b64decode(data_b64, validate=False)
        with Image.open(io.BytesIO(raw)) as image:
            image.draft("RGB", (max_side, max_side * 4))  # JPEG: decode at reduced size
            picture = image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ValueError(f"screenshot is not a readable image: {exc}") from exc
    width, height = picture.size
    keep = min(height, int(width * MAX_ASPECT))
    if keep < height:
        picture = picture.crop((0, 0, width, keep))
    picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=80, optimize=False)
    return PreparedImage(out.getvalue(), "image/jpeg", picture.width, picture.height)
