from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

from crawler.browser.screenshot import (
    BAND_SEPARATOR,
    BANDS,
    Tile,
    encode,
    full_page,
    image_size,
    join_bands,
    output_format,
    plan_bands,
    plan_tiles,
    stitch,
)
from rivalscope_core.records import Screenshot


def test_short_page_is_one_tile():
    assert plan_tiles(900, 30000) == ([Tile(0, 900)], False)


def test_page_up_to_9000_px_is_one_capture():
    assert plan_tiles(9000, 30000) == ([Tile(0, 9000)], False)
    assert plan_tiles(9001, 30000) == ([Tile(0, 4501), Tile(4501, 4500)], False)


def test_taller_page_is_cut_into_tiles_well_below_16384_px():
    tiles, truncated = plan_tiles(20000, 30000)
    assert tiles == [Tile(0, 6667), Tile(6667, 6667), Tile(13334, 6666)]
    assert not truncated
    assert max(t.height for t in tiles) < 16384


@pytest.mark.parametrize("height", [9001, 9060, 12000, 16000, 16001, 24000, 29999])
def test_tiles_are_as_few_as_fit_and_of_equal_heights(height: int):
    tiles, _ = plan_tiles(height, 30000)
    assert len(tiles) == -(-height // 8000)
    assert max(t.height for t in tiles) <= 8000
    assert max(t.height for t in tiles) - min(t.height for t in tiles) <= len(tiles)
    assert [t.y for t in tiles] == [sum(t.height for t in tiles[:i]) for i in range(len(tiles))]
    assert sum(t.height for t in tiles) == height


def test_page_over_the_limit_is_captured_up_to_the_limit_and_marked():
    tiles, truncated = plan_tiles(50000, 30000)
    assert sum(t.height for t in tiles) == 30000
    assert truncated


def test_webp_falls_back_when_too_tall_for_it():
    assert output_format("webp", 16383) == "webp"
    assert output_format("webp", 16384) == "jpeg"
    assert output_format("png", 100000) == "png"


def _png(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def test_stitched_tiles_keep_their_order_and_offsets():
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    captured = [_png(Image.new("RGB", (50, 40), c)) for c in colours]
    image = stitch(captured, 50)
    assert image.size == (50, 120)
    assert [image.getpixel((25, y)) for y in (20, 60, 100)] == colours
    assert captured == ["", "", ""]  # each tile's text let go once pasted


def test_stitched_page_is_every_tile_pixel_for_pixel():
    """The same pixels as pasting every decoded tile into a white canvas (the join before it
    went one tile at a time), for RGB and RGBA tiles, a short last tile and a narrow one."""
    tiles = [
        Image.effect_noise((64, 40), 90).convert("RGB"),
        Image.effect_noise((64, 40), 60).convert("RGBA"),
        Image.effect_noise((50, 7), 90).convert("RGB"),
    ]
    expected = Image.new("RGB", (64, 87), "white")
    for tile, y in zip(tiles, (0, 40, 80), strict=True):
        expected.paste(tile.convert("RGB"), (0, y))
    image = stitch([_png(tile) for tile in tiles], 64)
    assert (image.mode, image.size) == ("RGB", (64, 87))
    assert image.tobytes() == expected.tobytes()


@pytest.mark.parametrize(
    ("fmt", "pillow_name"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")]
)
def test_encode_writes_the_announced_format(fmt: str, pillow_name: str):
    data = encode(Image.new("RGB", (64, 32), (10, 20, 30)), fmt, 80)  # type: ignore[arg-type]
    decoded = Image.open(io.BytesIO(data))
    assert (decoded.format, decoded.size) == (pillow_name, (64, 32))


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_image_size_reads_the_header_of_a_large_screenshot(fmt: str):
    noisy = Image.effect_noise((1280, 3000), 90).convert("RGB")  # ~MBs, like a real capture
    data = base64.b64encode(encode(noisy, fmt, 80)).decode("ascii")  # type: ignore[arg-type]
    assert len(data) > 200_000
    assert image_size(data) == (1280, 3000)


def test_image_size_falls_back_to_the_whole_image_when_the_header_is_long():
    image = Image.new("RGB", (640, 480), "white")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", comment=b"x" * 60_000)  # a COM segment before the frame header
    buffer.write(b"\0" * 100_000)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    assert image_size(data) == (640, 480)


@pytest.mark.parametrize(
    ("height", "band", "expected"),
    [
        (8000, 4000, [4000, 4000]),
        (9000, 4000, [3000, 3000, 3000]),
        (8001, 4000, [2667, 2667, 2667]),
        (4001, 4000, [2001, 2000]),
    ],
)
def test_bands_are_as_few_as_fit_and_of_equal_heights(height: int, band: int, expected: list[int]):
    bands = plan_bands(height, band)
    assert [b.height for b in bands] == expected
    assert [b.y for b in bands] == [sum(expected[:i]) for i in range(len(expected))]


def test_bands_the_encoder_could_not_take_are_joined_into_one_png_of_their_pixels():
    page = Image.new("RGB", (64, 90), "white")
    for y, colour in ((0, (200, 30, 30)), (30, (30, 200, 30)), (60, (30, 30, 200))):
        page.paste(colour, (0, y, 64, y + 30))
        page.putpixel((y % 64, y + 29), (0, 0, 0))  # a seam row that must land where it was
    bands = [_png(page.crop((0, y, 64, y + 30))) for y in (0, 30, 60)]
    shot = Screenshot(BANDS, 64, 90, BAND_SEPARATOR.join(bands), False, 90)
    joined = join_bands(shot, 80)
    assert (joined.format, joined.width, joined.height, joined.page_height) == ("png", 64, 90, 90)
    image = Image.open(io.BytesIO(base64.b64decode(joined.data)))
    assert image.format == "PNG"
    assert image.convert("RGB").tobytes() == page.tobytes()


class _FakeDriver:
    """Chrome's side of ``full_page``: a page ``height`` px tall whose pictures cover
    ``picture_share`` of it; every capture is recorded and answered with an image of its clip."""

    def __init__(self, height: int, picture_share: float = 0.0) -> None:
        self.height = height
        self.picture_share = picture_share
        self.captures: list[tuple[str, int]] = []

    def execute_script(self, _script: str, *_args: object) -> float:
        return self.picture_share

    def execute_cdp_cmd(self, command: str, params: dict[str, Any]) -> dict[str, Any]:
        if command == "Page.getLayoutMetrics":
            return {
                "cssLayoutViewport": {"clientWidth": 64, "clientHeight": 900},
                "cssContentSize": {"height": self.height},
            }
        assert command == "Page.captureScreenshot"
        clip = params["clip"]
        self.captures.append((params["format"], clip["height"]))
        out = io.BytesIO()
        fmt = "PNG" if params["format"] == "png" else "JPEG"
        Image.new("RGB", (clip["width"], clip["height"]), "white").save(out, fmt)
        return {"data": base64.b64encode(out.getvalue()).decode("ascii")}


def _full_page(driver: _FakeDriver, wanted: str, bands_above: int) -> Screenshot:
    return full_page(driver, wanted, 80, 30000, bands_above=bands_above)  # type: ignore[arg-type]


def test_only_autos_text_pages_taller_than_a_band_are_captured_in_bands():
    text = _FakeDriver(9000)
    shot = _full_page(text, "auto", 4000)
    assert text.captures == [("png", 3000)] * 3
    taller_than_6000 = _FakeDriver(6100)
    _full_page(taller_than_6000, "auto", 6000)
    assert taller_than_6000.captures == [("png", 3050)] * 2  # bands of at most 4,000 px
    assert (shot.format, shot.width, shot.height, shot.page_height) == (BANDS, 64, 9000, 9000)
    assert len(shot.data.split(BAND_SEPARATOR)) == 3

    for driver, wanted, band, expected in (
        (_FakeDriver(9000), "jpeg", 4000, [("jpeg", 9000)]),
        (_FakeDriver(9000), "png", 4000, [("png", 9000)]),
        (_FakeDriver(9000, picture_share=0.7), "auto", 4000, [("jpeg", 9000)]),  # a photo page
        (_FakeDriver(4000), "auto", 4000, [("png", 4000)]),  # not taller than the setting
        (_FakeDriver(5900), "auto", 6000, [("png", 5900)]),
        (_FakeDriver(9000), "auto", 0, [("png", 9000)]),  # off
    ):
        shot = _full_page(driver, wanted, band)
        assert driver.captures == expected, (wanted, band)
        assert shot.format != BANDS
