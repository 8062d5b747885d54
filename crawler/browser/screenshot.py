"""Full-page screenshots: captured in tiles through CDP, joined and encoded with Pillow.

Why tiles: one ``Page.captureScreenshot`` taller than ~16,384 px repeats or blanks content
(GPU texture limit; puppeteer#359), so taller pages are captured as clipped tiles below that
and pasted together, up to ``SELENIUM_MAX_SCREENSHOT_HEIGHT`` (then ``truncated`` is set, and
the tiles are captured inside the viewport: ``capture_in_viewport`` says why).

How each format is made (``python -m tests.integration.crawler.browser.screenshot_bench --repeat
3``, recorded in bench/RESULTS.md, "Screenshot format"): rasterising costs ~300 ms whatever the
format, then Chrome's own PNG and WebP compression cost as much again. So a one-tile JPEG comes
straight from Chrome (its JPEG encoder is fast, nothing to decode); a one-tile PNG is Chrome's
``optimizeForSpeed`` PNG as is; WebP and every tiled capture are made from fast PNG tiles decoded
and re-encoded by Pillow (WebP at ``method=0``, its fastest). ``auto`` captures as ``png`` does
(Chrome's fast PNG, or fast-PNG tiles joined and saved at zlib level 1), and the encoder then
re-encodes it per page, off the browser's thread (``crawler/browser/encoder.py``), except on a
page whose pictures cover most of it: that one is a photo page, stored as JPEG anyway, so it is
captured as Chrome's JPEG and kept as is. Its fast PNG would be 5-7x a text page's (8.6 MB on the
benchmark's gallery), relayed by chromedriver, decoded and JPEG-encoded in the crawler.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image

from crawler.browser.capture_turns import no_turn
from rivalscope_core.records import Screenshot

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from selenium.webdriver.chrome.webdriver import WebDriver

    from crawler.browser.config import ScreenshotFormat

# A page up to this height is one capture, a JPEG straight from Chrome (Chrome captures up to
# ~16,384 px whole; 16,000 verified in Chromium 156). Measured on one browser (bench/RESULTS.md,
# "The capture itself"): one capture costs ~0.25-0.4 CPU-s less than 8,000 px tiles stitched
# in python, but its transient grows with its height, +12 MB more than the tiles at 9,000 px,
# +38 at 10,000, +67 at 12,000, +92 at 16,000: the peak-memory goal sets the line here.
SINGLE_CAPTURE_HEIGHT = 9000
# The tiles of a taller (stitched) page.
TILE_HEIGHT = 8000
# Share of the document's area covered by pictures (img, video, canvas boxes) from which ``auto``
# captures Chrome's JPEG: the benchmark's gallery is 0.74, its text pages with a hero image or
# a map 0.03-0.07 (bench/RESULTS.md, "Re-encoding at less CPU").
PHOTO_PAGE_SHARE = 0.4
_PICTURE_SHARE = """
const doc = document.documentElement;
const area = Math.max(1, doc.scrollWidth * doc.scrollHeight);
let covered = 0;
for (const el of document.querySelectorAll('img, video, canvas')) {
  const box = el.getBoundingClientRect();
  covered += box.width * box.height;
}
return covered / area;
"""
# Largest side each encoder accepts.
MAX_SIDE = {"webp": 16383, "jpeg": 65500, "png": 1 << 31}


@dataclass(frozen=True)
class Tile:
    y: int
    height: int


def plan_tiles(
    page_height: int, max_height: int, tile_height: int = TILE_HEIGHT
) -> tuple[list[Tile], bool]:
    """Tiles covering ``min(page_height, max_height)`` from the top, and whether that cuts the
    page: one tile for a whole page up to ``SINGLE_CAPTURE_HEIGHT``, else as few tiles of at
    most ``tile_height`` as cover it, of equal heights (the last one shorter by the rest): a
    capture's transient grows with its height, and so does the tile python decodes beside the
    canvas, so 9,060 px are two tiles of 4,530, not 8,000 and 1,060 (the same captures,
    bench/RESULTS.md, "Tall pages in python")."""
    captured = max(1, min(page_height, max_height))
    if page_height <= max_height and captured <= SINGLE_CAPTURE_HEIGHT:
        return [Tile(y=0, height=captured)], False
    height = math.ceil(captured / math.ceil(captured / tile_height))
    tiles = [Tile(y=y, height=min(height, captured - y)) for y in range(0, captured, height)]
    return tiles, page_height > max_height


def output_format(wanted: ScreenshotFormat, height: int) -> ScreenshotFormat:
    """WebP cannot be taller than 16,383 px: very tall captures fall back to JPEG, then PNG."""
    for fmt in (wanted, "jpeg", "png"):
        if height <= MAX_SIDE[fmt]:
            return fmt
    return "png"


def encode(image: Image.Image, fmt: ScreenshotFormat, quality: int) -> bytes:
    buffer = io.BytesIO()
    _save(image, buffer, fmt, quality)
    return buffer.getvalue()


def _save(image: Image.Image, buffer: io.BytesIO, fmt: ScreenshotFormat, quality: int) -> None:
    if fmt == "webp":
        # method 0 is the fastest WebP effort; quality still decides legibility.
        image.save(buffer, "WEBP", quality=quality, method=0)
    elif fmt == "jpeg":
        image.save(buffer, "JPEG", quality=quality)
    else:
        image.save(buffer, "PNG", compress_level=1)


def stitch(captured: list[str], width: int) -> Image.Image:
    """The base64 PNG tiles joined top to bottom into one image ``width`` px wide; the tiles
    are read from ``captured`` and taken out of it one at a time. Python holds the canvas
    and one decoded tile at most: every tile's base64 text is dropped once decoded and the
    tile once pasted (holding all the decoded tiles, then the canvas, made a 24,000 px page's
    transient ~2.4x its canvas; bench/RESULTS.md, "Tall pages in python")."""
    if len(captured) == 1:
        return _decode(captured.pop())
    sizes = [image_size(data) for data in captured]  # from the headers: nothing decoded yet
    height = sum(size[1] for size in sizes)
    # Tiles as wide as the canvas cover it: no need to paint it white first (and an unpainted
    # canvas's memory is only taken as the tiles fill it).
    covered = all(size[0] == width for size in sizes)
    canvas = Image.new("RGB", (width, height), None if covered else "white")
    y = 0
    for index, tile_height in enumerate(size[1] for size in sizes):
        data = captured[index]
        captured[index] = ""
        with Image.open(io.BytesIO(base64.b64decode(data))) as tile:
            del data
            tile.load()
            canvas.paste(tile if tile.mode == "RGB" else tile.convert("RGB"), (0, y))
        y += tile_height
    return canvas


def page_size(driver: WebDriver) -> tuple[int, int]:
    """(viewport width, document height) in CSS pixels."""
    metrics: dict[str, Any] = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    viewport = metrics.get("cssLayoutViewport") or metrics["layoutViewport"]
    content = metrics.get("cssContentSize") or metrics["contentSize"]
    width = int(viewport["clientWidth"])
    height = max(math.ceil(content["height"]), int(viewport["clientHeight"]))
    return width, height


def capture_tile(
    driver: WebDriver, width: int, tile: Tile, fmt: str = "png", quality: int = 80
) -> str:
    """Base64 of one clipped capture, straight from Chrome."""
    params: dict[str, Any] = {
        "format": fmt,
        "captureBeyondViewport": True,
        "fromSurface": True,
        "clip": {"x": 0, "y": tile.y, "width": width, "height": tile.height, "scale": 1},
    }
    if fmt == "png":
        params["optimizeForSpeed"] = True
    else:
        params["quality"] = quality
    result: dict[str, Any] = driver.execute_cdp_cmd("Page.captureScreenshot", params)
    return str(result["data"])


# Base64 characters decoded to find an image's size: its header, with room to spare (Chrome's
# JPEG and PNG headers take well under 1 KB).
_HEADER_CHARS = 64 * 1024


def image_size(data: str) -> tuple[int, int]:
    """(width, height) of a base64 JPEG or PNG, read from its header: decoding the whole
    megabyte-sized screenshot only for its size cost measurable crawler CPU."""
    try:
        with Image.open(io.BytesIO(base64.b64decode(data[:_HEADER_CHARS]))) as header:
            return header.size
    except (OSError, ValueError):  # a header longer than the prefix
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            return image.size


def capture_in_viewport(driver: WebDriver, width: int, tiles: list[Tile]) -> list[str]:
    """Base64 PNG tiles of a page taller than the limit, each captured inside a viewport the
    size of a tile scrolled to it, without ``captureBeyondViewport``. That flag makes Chrome
    paint the document's whole height for each tile: 60 s a tile on a catalogue page 1.5
    million px tall, against about a second this way (issue #11). Fixed elements then show
    once per tile, which only pages cut at ``SELENIUM_MAX_SCREENSHOT_HEIGHT`` get."""
    height = max(tile.height for tile in tiles)
    metrics = {"width": width, "height": height, "deviceScaleFactor": 0, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        captured = []
        for tile in tiles:
            driver.execute_script("window.scrollTo(0, arguments[0])", tile.y)
            clip = {"x": 0, "y": tile.y, "width": width, "height": tile.height, "scale": 1}
            params = {"format": "png", "optimizeForSpeed": True, "clip": clip}
            result: dict[str, Any] = driver.execute_cdp_cmd("Page.captureScreenshot", params)
            captured.append(str(result["data"]))
        return captured
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.execute_script("window.scrollTo(0, 0)")


def _decode(data: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")


def capture_format(driver: WebDriver, wanted: ScreenshotFormat) -> ScreenshotFormat:
    """The format to capture in: ``auto`` is Chrome's JPEG on a photo page, its PNG otherwise."""
    if wanted != "auto":
        return wanted
    share = float(driver.execute_script(_PICTURE_SHARE))
    return "jpeg" if share >= PHOTO_PAGE_SHARE else "png"


def full_page(
    driver: WebDriver,
    wanted: ScreenshotFormat,
    quality: int,
    max_height: int,
    turn: Callable[[int], AbstractContextManager[bool]] = no_turn,
) -> Screenshot:
    """``turn(height)`` is entered around the browser's captures, ``height`` being the
    tallest of them (``capture_turns.TallCaptureTurns``). A page captured in tiles keeps its
    turn while python joins and encodes them: its canvas (4 bytes a pixel in Pillow, 123 MB
    at 24,000 px) is a transient as large as a tile's capture, and two of them, or one and
    another browser's tall capture, must not stack. One tile re-encoded (WebP) is encoded
    after the turn, as before."""
    fmt = capture_format(driver, wanted)
    width, page_height = page_size(driver)
    tiles, truncated = plan_tiles(page_height, max_height)
    # One capture straight from Chrome: no decoding, nothing stitched.
    if len(tiles) == 1 and not truncated and fmt in ("jpeg", "png"):
        with turn(tiles[0].height):
            data = capture_tile(driver, width, tiles[0], fmt, quality)
        size = image_size(data)
        return Screenshot(fmt, size[0], size[1], data, truncated, page_height)
    with turn(max(tile.height for tile in tiles)):
        if truncated:
            captured = capture_in_viewport(driver, width, tiles)
        else:
            captured = [capture_tile(driver, width, tile) for tile in tiles]
        if len(captured) > 1:
            return _joined(captured, width, fmt, quality, truncated, page_height)
    return _joined(captured, width, fmt, quality, truncated, page_height)


def _joined(
    captured: list[str],
    width: int,
    fmt: ScreenshotFormat,
    quality: int,
    truncated: bool,
    page_height: int,
) -> Screenshot:
    """The tiles (taken out of ``captured``) joined and encoded straight into one buffer,
    whose base64 is made once the canvas is let go."""
    image = stitch(captured, width)
    chosen = output_format(fmt, image.height)
    size = image.size
    buffer = io.BytesIO()
    _save(image, buffer, chosen, quality)
    del image
    return Screenshot(
        format=chosen,
        width=size[0],
        height=size[1],
        data=base64.b64encode(buffer.getbuffer()).decode("ascii"),
        truncated=truncated,
        page_height=page_height,
    )
