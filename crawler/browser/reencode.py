"""A captured screenshot re-encoded for storage, chosen per page from the capture itself
(``SELENIUM_SCREENSHOT_FORMAT=auto``, issue #16). Pure: bytes in, bytes out.

Chrome's fast PNG costs the browser no more than its JPEG on a text page, but JPEG q80 is 1.3x
the bytes of Chrome's default PNG there, while a palette PNG (256 colours, no dithering) is a
quarter to a half of it with the text as sharp as the capture. On a photo page a palette PNG is
banded and still larger than JPEG. So each capture is sampled (every 8th pixel each way, nearest
neighbour, so no colour is invented by blending): when its commonest colours cover most of the
sample the page is flat (text, flat fills, a few icons) and becomes a palette PNG; otherwise it
becomes a JPEG. Measured on the benchmark's and ``tests/data/pages``' captures (bench/RESULTS.md,
"Render cost (issue #16)"): text pages cover 0.96-0.99, pages with a few pictures 0.85, the
photo gallery 0.25 with more distinct colours in the sample than the cut-off below.

The crawler pays for every step in CPU that the browsers could use (issue #16's "pages/min kept";
``python -m bench.encode_steps``, bench/RESULTS.md "Re-encoding at less CPU"): Chrome's fast PNG
is decoded by libspng (``pyspng``), ~3x faster than Pillow's decoder, and the palette PNG is
deflated by ISA-L (``isal``, already the archive's gzip) at its level 1, ~3x faster than Pillow's
zlib at level 3 for ~8 % more bytes, so this module writes the palette PNG's four chunks itself.
"""

from __future__ import annotations

import heapq
import io
import struct
import zlib
from typing import Literal

import numpy as np
import pyspng
from isal import isal_zlib
from PIL import Image

StoredFormat = Literal["png", "jpeg"]

SAMPLE_STEP = 8
TOP_COLOURS = 32
# Share of the sample in the TOP_COLOURS commonest colours from which a page counts as flat.
FLAT_COVERAGE = 0.7
# More distinct colours than this in the sample: photographs, whatever the rest of the page.
MAX_SAMPLE_COLOURS = 4096
PALETTE_COLOURS = 256
# ISA-L's deflate level of the palette PNG (0-3): 1 is as small as 2 and 3 on the benchmark's
# captures at 0.4x of level 3's time; 0 is 17 % larger for no saving (bench/RESULTS.md).
PNG_LEVEL = 1
# Rows mapped to the palette and deflated at a time: the decoded capture (3 bytes a pixel) is
# then the only page-sized buffer, where the whole page mapped at once also held Pillow's RGB
# copy (4 bytes a pixel), the indexed image and the filtered rows: 64 vs ~40 MB on a 7,980 px
# capture, a transient that adds to the crawl's peak (bench/RESULTS.md "Re-encoding off the
# crawler's process"). Same pixels, same bytes within a few hundred.
STRIP_ROWS = 512
# JPEG's largest side; taller photo pages stay PNG (palette).
_JPEG_MAX_SIDE = 65500


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode(data: bytes) -> np.ndarray:
    """The capture's pixels, ``(height, width, 3)`` bytes: a PNG of 8-bit RGB (Chrome's) through
    libspng, anything else Pillow reads through Pillow."""
    if data.startswith(_PNG_SIGNATURE):
        pixels: np.ndarray = pyspng.load(data)
        if pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3:
            return pixels
    with Image.open(io.BytesIO(data)) as opened:
        return np.asarray(opened.convert("RGB"))


def _sample(pixels: np.ndarray) -> Image.Image:
    """Every ``SAMPLE_STEP``-th pixel each way, from the middle of each step's square."""
    middle = SAMPLE_STEP // 2
    return Image.fromarray(np.ascontiguousarray(pixels[middle::SAMPLE_STEP, middle::SAMPLE_STEP]))


def choose_format(sample: Image.Image) -> StoredFormat:
    """``png`` (palette) for a flat page, ``jpeg`` for a photo page, from the sampled capture."""
    colours = sample.getcolors(MAX_SAMPLE_COLOURS)
    if colours is None:
        return "jpeg"
    top = sum(count for count, _ in heapq.nlargest(TOP_COLOURS, colours))
    return "png" if top >= FLAT_COVERAGE * sample.width * sample.height else "jpeg"


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(body, zlib.crc32(kind))
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _png(width: int, height: int, palette: bytes, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8-bit palette, no interlace
    return b"".join(
        (
            _PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", palette),
            _chunk(b"IDAT", idat),
            _chunk(b"IEND", b""),
        )
    )


def palette_png(indexed: Image.Image, level: int = PNG_LEVEL) -> bytes:
    """``indexed`` (mode ``P``) as a PNG: every row unfiltered (filter byte 0, as Pillow writes
    palette images), deflated by ISA-L at ``level``."""
    width, height = indexed.size
    rows = np.zeros((height, width + 1), dtype=np.uint8)
    rows[:, 1:] = np.asarray(indexed)
    palette = bytes(indexed.getpalette() or [0, 0, 0])
    return _png(width, height, palette, isal_zlib.compress(rows, level))


def mapped_palette_png(pixels: np.ndarray, palette: Image.Image, level: int = PNG_LEVEL) -> bytes:
    """``pixels`` mapped to ``palette`` (mode ``P``, no dithering) as ``palette_png`` writes it,
    ``STRIP_ROWS`` rows at a time into one deflate stream."""
    height, width = pixels.shape[:2]
    compressor = isal_zlib.compressobj(level)
    rows = np.zeros((min(STRIP_ROWS, height), width + 1), dtype=np.uint8)
    idat = []
    for top in range(0, height, STRIP_ROWS):
        strip = Image.fromarray(pixels[top : top + STRIP_ROWS])
        count = strip.height
        rows[:count, 1:] = np.asarray(strip.quantize(palette=palette, dither=Image.Dither.NONE))
        idat.append(compressor.compress(rows[:count]))
    idat.append(compressor.flush())
    return _png(width, height, bytes(palette.getpalette() or [0, 0, 0]), b"".join(idat))


def reencode(data: bytes, quality: int) -> tuple[StoredFormat, bytes]:
    """The capture ``data`` (any image Pillow reads) as the stored format and its bytes. Raises
    what libspng or Pillow raise for data they cannot read or write: the caller keeps the
    original."""
    pixels = decode(data)
    sample = _sample(pixels)
    if choose_format(sample) == "jpeg" and pixels.shape[0] <= _JPEG_MAX_SIDE:
        image = Image.fromarray(pixels)
        del pixels  # Pillow holds its own copy: one decoded capture at a time, not two
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        return "jpeg", out.getvalue()
    # The palette comes from the sample, then every pixel is mapped to it: a third of the CPU
    # of quantising the whole page, and the same colours on a flat page.
    palette = sample.quantize(
        PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    return "png", mapped_palette_png(pixels, palette)
