from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from crawler.browser.screenshot import (
    Tile,
    encode,
    image_size,
    output_format,
    plan_tiles,
    stitch,
)


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
