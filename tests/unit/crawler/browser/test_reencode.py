"""Choosing and making the stored screenshot of ``SELENIUM_SCREENSHOT_FORMAT=auto``."""

from __future__ import annotations

import io
import random
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from crawler.browser.reencode import (
    _reencode_whole,
    _sample,
    _StreamedPng,
    decode,
    palette_png,
    reencode,
)


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


def _chrome_png(image: Image.Image, filters: list[int] | None = None) -> bytes:
    """``image`` as Chrome's fast capture writes it: 8-bit RGB, every row Up-filtered (or the
    given filter byte per row, 0 None or 2 Up), the deflate stream split into 4 KiB IDATs."""
    pixels = np.asarray(image.convert("RGB")).reshape(image.height, -1)
    kinds = filters or [2] * image.height
    above = np.zeros_like(pixels[0])
    rows = []
    for row, kind in zip(pixels, kinds, strict=True):
        rows.append(bytes([kind]) + (row - above if kind == 2 else row).tobytes())
        above = row
    stream = zlib.compress(b"".join(rows), 1)
    header = struct.pack(">IIBBBBB", image.width, image.height, 8, 2, 0, 0, 0)
    idat = [_png_chunk(b"IDAT", stream[i : i + 4096]) for i in range(0, len(stream), 4096)]
    return b"".join(
        (b"\x89PNG\r\n\x1a\n", _png_chunk(b"IHDR", header), *idat, _png_chunk(b"IEND", b""))
    )


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(body, zlib.crc32(kind))
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _odd_text_page() -> Image.Image:
    """A text page whose height is not a whole number of strips or samples, nor its width."""
    return _text_page().crop((0, 0, 1277, 1301))


def _assert_read_a_strip_at_a_time(data: bytes) -> None:
    """The strips are the capture's pixels, and the sample that of the whole capture."""
    png = _StreamedPng(data)
    whole = decode(data)
    strips = np.concatenate([strip.copy() for strip in png.strips()])
    assert strips.tobytes() == whole.tobytes()
    assert png.sample().tobytes() == _sample(whole).tobytes()


def test_chromes_capture_is_stored_as_if_decoded_whole() -> None:
    # Read a strip at a time, the stored palette PNG has the bytes of the whole-page path:
    # same sample, so the same palette, and the same pixels mapped to it.
    for page in (_text_page(), _odd_text_page()):
        data = _chrome_png(page)
        assert decode(data).tobytes() == page.tobytes()
        _assert_read_a_strip_at_a_time(data)
        stored = reencode(data, 80)
        assert stored[0] == "png"
        assert stored == _reencode_whole(decode(data), 80)


def test_rows_filtered_none_among_up_ones_are_read_too() -> None:
    page = _odd_text_page()
    filters = [0 if row % 7 == 3 or row == 600 else 2 for row in range(page.height)]
    data = _chrome_png(page, filters)
    _assert_read_a_strip_at_a_time(data)
    stored = reencode(data, 80)
    assert stored[0] == "png"
    assert stored == _reencode_whole(decode(data), 80)


def test_a_photo_page_in_chromes_png_becomes_the_same_jpeg() -> None:
    data = _chrome_png(_photo_page())
    fmt, stored = reencode(data, 80)
    assert fmt == "jpeg"
    assert (fmt, stored) == _reencode_whole(decode(data), 80)


def test_a_cut_short_capture_is_refused_not_stored() -> None:
    data = _chrome_png(_text_page())
    cut = data[: len(data) // 2] + _png_chunk(b"IEND", b"")
    with pytest.raises(ValueError, match="ends before its last row"):
        reencode(cut, 80)


def test_a_damaged_capture_is_refused_not_stored() -> None:
    data = bytearray(_chrome_png(_text_page()))
    data[len(data) // 2] ^= 0x01  # a bit flipped inside an IDAT
    with pytest.raises(ValueError, match="fails its CRC"):
        reencode(bytes(data), 80)


def test_a_tall_text_capture_never_holds_its_decoded_pixels_whole() -> None:
    # 1280 x 8000 RGB is 31 MB decoded; read a strip at a time, what numpy holds at the peak
    # (tracemalloc sees numpy's buffers) stays a small part of that.
    page = Image.new("RGB", (1280, 8000), "white")
    page.paste(_text_page(), (0, 2500))
    data = _chrome_png(page)
    decoded = 1280 * 8000 * 3
    tracemalloc.start()
    try:
        fmt, _stored = reencode(data, 80)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fmt == "png"
    assert peak < decoded / 4
