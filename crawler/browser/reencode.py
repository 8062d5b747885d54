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
"""

from __future__ import annotations

import heapq
import io
from typing import Literal

from PIL import Image

StoredFormat = Literal["png", "jpeg"]

SAMPLE_STEP = 8
TOP_COLOURS = 32
# Share of the sample in the TOP_COLOURS commonest colours from which a page counts as flat.
FLAT_COVERAGE = 0.7
# More distinct colours than this in the sample: photographs, whatever the rest of the page.
MAX_SAMPLE_COLOURS = 4096
PALETTE_COLOURS = 256
# zlib level of the palette PNG: 3 keeps text pages at 0.40-0.58x of Chrome's default PNG for a
# third of level 6's encoding time (6: 0.22-0.39x); bench/RESULTS.md.
PNG_LEVEL = 3
# JPEG's largest side; taller photo pages stay PNG (palette).
_JPEG_MAX_SIDE = 65500


def _sample(image: Image.Image) -> Image.Image:
    size = (max(1, image.width // SAMPLE_STEP), max(1, image.height // SAMPLE_STEP))
    return image.resize(size, Image.Resampling.NEAREST)


def choose_format(sample: Image.Image) -> StoredFormat:
    """``png`` (palette) for a flat page, ``jpeg`` for a photo page, from the sampled capture."""
    colours = sample.getcolors(MAX_SAMPLE_COLOURS)
    if colours is None:
        return "jpeg"
    top = sum(count for count, _ in heapq.nlargest(TOP_COLOURS, colours))
    return "png" if top >= FLAT_COVERAGE * sample.width * sample.height else "jpeg"


def reencode(data: bytes, quality: int) -> tuple[StoredFormat, bytes]:
    """The capture ``data`` (any image Pillow reads) as the stored format and its bytes. Raises
    what Pillow raises for data it cannot read or write: the caller keeps the original."""
    with Image.open(io.BytesIO(data)) as opened:
        opened.load()
        # Chrome's PNG is RGB already: converting it would copy ~4 bytes a pixel for nothing.
        image = opened if opened.mode == "RGB" else opened.convert("RGB")
    sample = _sample(image)
    fmt = choose_format(sample)
    out = io.BytesIO()
    if fmt == "jpeg" and image.height <= _JPEG_MAX_SIDE:
        image.save(out, "JPEG", quality=quality)
        return "jpeg", out.getvalue()
    # The palette comes from the sample, then every pixel is mapped to it: a third of the CPU
    # of quantising the whole page, and the same colours on a flat page.
    palette = sample.quantize(
        PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    image.quantize(palette=palette, dither=Image.Dither.NONE).save(
        out, "PNG", compress_level=PNG_LEVEL
    )
    return "png", out.getvalue()
