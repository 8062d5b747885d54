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
from typing import TYPE_CHECKING, Literal

import numpy as np
import pyspng
from isal import isal_zlib
from PIL import Image

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

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
# Rows decoded, mapped to the palette and deflated at a time (``_StreamedPng``): no page-sized
# buffer at all, where the whole page mapped at once held the decoded capture, Pillow's RGB copy
# (4 bytes a pixel), the indexed image and the filtered rows (64 MB on a 7,980 px capture, 40 MB
# in 512-row strips of a whole decoded capture), a transient that adds to the crawl's peak. 256
# rows: the worker's peak 17 vs 23 MB over its start at 512 for the same CPU, the same pixels and
# palette, +0.03 % bytes (bench/RESULTS.md "The encode worker's memory").
STRIP_ROWS = 256
assert STRIP_ROWS % SAMPLE_STEP == 0  # a strip's sampled rows start at the same offset
# Bytes inflated at a time: below glibc's mmap threshold (crawler/malloc.py), so each comes
# from the heap and goes back to it.
_INFLATE_STEP = 64 * 1024
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


class _NotStreamableError(ValueError):
    """A PNG that ``_StreamedPng`` does not read a strip at a time (another colour type, an
    interlaced one, or rows filtered other than None or Up): it is decoded whole instead."""


class _StreamedPng:
    """Chrome's capture (an 8-bit RGB PNG, every row Up-filtered: ``optimizeForSpeed``) read
    ``STRIP_ROWS`` rows at a time, inflated by ISA-L, so that no page-sized buffer is ever held:
    a 7,980 px capture is 31 MB of pixels decoded whole, 1 MB a strip. It is read twice, once
    for the sample (``sample``) and once for the mapping (``strips``): the palette comes from the
    whole page's sample before any pixel is mapped (bench/RESULTS.md "The encode worker's
    memory")."""

    def __init__(self, data: bytes) -> None:
        if not data.startswith(_PNG_SIGNATURE):
            raise _NotStreamableError("not a PNG")
        view = memoryview(data)
        self._idat: list[memoryview] = []
        header = None
        pos = len(_PNG_SIGNATURE)
        while pos + 8 <= len(data):
            (size,) = struct.unpack_from(">I", data, pos)
            kind = bytes(view[pos + 4 : pos + 8])
            body = view[pos + 8 : pos + 8 + size]
            if pos + 12 + size > len(data):
                raise ValueError("PNG data ends before its last row")
            (crc,) = struct.unpack_from(">I", data, pos + 8 + size)
            if zlib.crc32(body, zlib.crc32(kind)) != crc:  # as libspng checks them
                raise ValueError(f"PNG chunk {kind!r} fails its CRC")
            if kind == b"IHDR":
                header = struct.unpack(">IIBBBBB", body)
            elif kind == b"IDAT":
                self._idat.append(body)
            elif kind == b"IEND":
                break
            pos += 12 + size
        if header is None or header[2:] != (8, 2, 0, 0, 0):  # 8-bit RGB, no interlace
            raise _NotStreamableError(f"PNG header {header}")
        self.width, self.height = header[0], header[1]
        self.shape = (self.height, self.width, 3)

    def _filtered(self) -> Iterator[np.ndarray]:
        """Each strip's rows as stored: ``(rows, 1 + width * 3)``, a filter byte first, in one
        buffer that the next strip overwrites (so the heap holds the same few blocks from strip
        to strip); inflated ``_INFLATE_STEP`` bytes at a time, small blocks too."""
        stride = 1 + self.width * 3
        buffer = np.empty((min(STRIP_ROWS, self.height), stride), dtype=np.uint8)
        flat = buffer.reshape(-1)
        inflater = isal_zlib.decompressobj()
        chunks = iter(self._idat)
        source: bytes | memoryview = b""
        for top in range(0, self.height, STRIP_ROWS):
            count = min(STRIP_ROWS, self.height - top)
            want, filled = count * stride, 0
            while filled < want:
                if not source:
                    source = next(chunks, b"")
                    if not source:
                        raise ValueError("PNG data ends before its last row")
                out = inflater.decompress(source, min(_INFLATE_STEP, want - filled))
                source = inflater.unconsumed_tail
                flat[filled : filled + len(out)] = np.frombuffer(out, dtype=np.uint8)
                filled += len(out)
            strip = buffer[:count]
            filters = strip[:, 0]
            if not np.all((filters == 0) | (filters == 2)):
                raise _NotStreamableError("rows filtered other than None or Up")
            yield strip

    @staticmethod
    def _unfilter(strip: np.ndarray, above: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out`` (``strip``'s shape without the filter bytes): the strip's pixel bytes, each
        Up-filtered row added to the decoded row above (``above`` for the first), a row at a
        time: numpy's accumulate along rows is 10x slower than these adds (bench/RESULTS.md)."""
        add = np.add
        for row, stored, kind in zip(out, strip[:, 1:], strip[:, 0].tolist(), strict=True):
            if kind == 2:
                add(stored, above, out=row)
            else:
                row[:] = stored
            above = row
        return out

    def sample(self) -> Image.Image:
        """``_sample`` of the decoded capture, without decoding it whole: only the sampled
        columns are unfiltered, and of an all-Up strip only the sampled rows, as sums of the
        filtered rows (a decoded row is the byte-wise sum, mod 256, of its column's filtered
        rows above it)."""
        middle = SAMPLE_STEP // 2
        columns = np.arange(self.width * 3).reshape(self.width, 3)[middle::SAMPLE_STEP].ravel()
        picked = np.concatenate(([0], columns + 1))  # the filter byte, then the sampled bytes
        above = np.zeros(columns.size, dtype=np.uint8)
        sampled = []
        for top, strip in zip(range(0, self.height, STRIP_ROWS), self._filtered(), strict=True):
            part = strip[:, picked]
            count = part.shape[0]
            if np.all(part[:, 0] == 2):
                groups = np.zeros((-(-count // SAMPLE_STEP), SAMPLE_STEP, columns.size), np.uint8)
                groups.reshape(-1, columns.size)[:count] = part[:, 1:]
                totals = groups.sum(axis=1, dtype=np.uint8)
                before = np.cumsum(totals, axis=0, dtype=np.uint8) - totals + above
                rows = before + groups[:, : middle + 1].sum(axis=1, dtype=np.uint8)
                sampled.append(rows[: len(range(middle, count, SAMPLE_STEP))])
                above = above + totals.sum(axis=0, dtype=np.uint8)
            else:  # rows filtered None among them
                rows = self._unfilter(part, above, np.empty_like(part[:, 1:]))
                above = rows[-1].copy()
                sampled.append(rows[(middle - top) % SAMPLE_STEP :: SAMPLE_STEP])
        return Image.fromarray(np.concatenate(sampled).reshape(-1, columns.size // 3, 3))

    def strips(self) -> Iterator[np.ndarray]:
        """The decoded capture, ``(rows, width, 3)``, ``STRIP_ROWS`` rows at a time, each in the
        buffer of the one before: valid until the next is asked for."""
        above = np.zeros(self.width * 3, dtype=np.uint8)
        buffer = np.empty((min(STRIP_ROWS, self.height), self.width * 3), dtype=np.uint8)
        for strip in self._filtered():
            pixels = self._unfilter(strip, above, buffer[: strip.shape[0]])
            yield pixels.reshape(-1, self.width, 3)
            above = pixels[-1].copy()


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


def mapped_palette_png(
    strips: Iterable[np.ndarray], palette: Image.Image, level: int = PNG_LEVEL
) -> bytes:
    """A capture's ``STRIP_ROWS``-row strips, in order, mapped to ``palette`` (mode ``P``, no
    dithering) as ``palette_png`` writes it, a strip at a time into one deflate stream."""
    compressor = isal_zlib.compressobj(level)
    idat = []
    rows = None
    width = height = 0
    for pixel_strip in strips:
        strip = Image.fromarray(pixel_strip)
        count = strip.height
        width, height = strip.width, height + count
        if rows is None:
            rows = np.zeros((count, width + 1), dtype=np.uint8)
        rows[:count, 1:] = np.asarray(strip.quantize(palette=palette, dither=Image.Dither.NONE))
        idat.append(compressor.compress(rows[:count]))
    idat.append(compressor.flush())
    return _png(width, height, bytes(palette.getpalette() or [0, 0, 0]), b"".join(idat))


def _strips(pixels: np.ndarray) -> Iterator[np.ndarray]:
    for top in range(0, pixels.shape[0], STRIP_ROWS):
        yield pixels[top : top + STRIP_ROWS]


def _palette(sample: Image.Image) -> Image.Image:
    # The palette comes from the sample, then every pixel is mapped to it: a third of the CPU
    # of quantising the whole page, and the same colours on a flat page.
    return sample.quantize(
        PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )


def reencode(data: bytes, quality: int) -> tuple[StoredFormat, bytes]:
    """The capture ``data`` (any image Pillow reads) as the stored format and its bytes. Raises
    what libspng or Pillow raise for data they cannot read or write: the caller keeps the
    original.

    Chrome's PNG is read a strip at a time (``_StreamedPng``): a text page never holds its
    decoded pixels whole. A photo page (JPEG, which Pillow writes from a whole image) and any
    other image are decoded whole."""
    try:
        png = _StreamedPng(data)
        sample = png.sample()
    except _NotStreamableError:
        return _reencode_whole(decode(data), quality)
    if choose_format(sample) == "jpeg" and png.height <= _JPEG_MAX_SIDE:
        # decided from the sample: the page is not sampled again
        return "jpeg", _jpeg(Image.fromarray(decode(data)), quality)
    return "png", mapped_palette_png(png.strips(), _palette(sample))


def _reencode_whole(pixels: np.ndarray, quality: int) -> tuple[StoredFormat, bytes]:
    """``reencode`` from the whole decoded capture (passed as a temporary: the only reference)."""
    sample = _sample(pixels)
    if choose_format(sample) == "jpeg" and pixels.shape[0] <= _JPEG_MAX_SIDE:
        image = Image.fromarray(pixels)
        del pixels  # Pillow holds its own copy: one decoded capture at a time, not two
        return "jpeg", _jpeg(image, quality)
    return "png", mapped_palette_png(_strips(pixels), _palette(sample))


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()
