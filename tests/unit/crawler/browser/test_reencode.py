"""Choosing and making the stored screenshot of ``SELENIUM_SCREENSHOT_FORMAT=auto``."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

from crawler.browser.reencode import decode, palette_png, reencode


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _text_page() -> Image.Image:
    image = Image.new("RGB", (1280, 3000), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1280, 140), fill=(34, 51, 68))
    for y in range(200, 2900, 24):
        draw.text((40, y), "Growth plan: $49 per seat and month, billed annually." * 2, "black")
    return image


def _photo_page() -> Image.Image:
    rng = random.Random(3)  # noqa: S311 - test pixels, not secrets
    return Image.frombytes("RGB", (1280, 3000), rng.randbytes(1280 * 3000 * 3))


def test_a_flat_text_page_becomes_a_palette_png_of_the_same_size() -> None:
    page = _text_page()
    fmt, data = reencode(_png(page), 80)
    stored = Image.open(io.BytesIO(data))
    assert (fmt, stored.format, stored.mode, stored.size) == ("png", "PNG", "P", page.size)
    # no dithering: flat areas stay one colour, within the palette's rounding of it
    rgb = stored.convert("RGB")
    assert rgb.getcolors(1) is None  # more than one colour: the text is there
    for xy, colour in (((5, 2990), (255, 255, 255)), ((5, 5), (34, 51, 68))):
        pixel = rgb.getpixel(xy)
        assert isinstance(pixel, tuple)
        assert max(abs(a - b) for a, b in zip(pixel, colour, strict=True)) <= 4
    background = rgb.crop((0, 2950, 1280, 3000)).getcolors(4)
    assert background is not None
    assert len(background) == 1


def test_a_photo_page_becomes_a_jpeg() -> None:
    fmt, data = reencode(_png(_photo_page()), 80)
    assert (fmt, Image.open(io.BytesIO(data)).format) == ("jpeg", "JPEG")


def test_the_palette_png_holds_exactly_the_mapped_pixels_and_palette() -> None:
    indexed = _text_page().quantize(16, dither=Image.Dither.NONE)
    stored = Image.open(io.BytesIO(palette_png(indexed)))
    stored.load()
    assert (stored.format, stored.mode, stored.size) == ("PNG", "P", indexed.size)
    assert stored.tobytes() == indexed.tobytes()
    assert stored.convert("RGB").tobytes() == indexed.convert("RGB").tobytes()


def test_chromes_png_and_any_other_image_decode_to_the_same_pixels() -> None:
    page = _text_page()
    out = io.BytesIO()
    page.convert("RGBA").save(out, "PNG")  # not 8-bit RGB: Pillow's path
    for data in (_png(page), out.getvalue()):
        assert decode(data).tobytes() == page.tobytes()


def test_text_stays_pixel_sharp_in_the_stored_palette_png() -> None:
    page = _text_page()
    _fmt, data = reencode(_png(page), 80)
    stored = Image.open(io.BytesIO(data)).convert("L")
    line = (40, 200, 600, 224)  # a text line, black on white
    got, want = stored.crop(line).tobytes(), page.convert("L").crop(line).tobytes()
    # ink stays ink and paper stays paper (no blur, no dithering); anti-aliased edges keep
    # their grey within the palette's rounding
    assert all(g < 128 for g, w in zip(got, want, strict=True) if w < 96)
    assert all(g > 128 for g, w in zip(got, want, strict=True) if w > 160)
    assert sum(w < 96 for w in want) > 500  # the crop holds text
    assert max(abs(g - w) for g, w in zip(got, want, strict=True)) <= 32
