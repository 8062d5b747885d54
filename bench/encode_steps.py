"""What each step of re-encoding a capture costs the crawler process (issue #16).

``python -m bench.encode_steps DIR [--repeat N]`` reads the fast PNGs that ``python -m
bench.capture_formats --save DIR fastpng ...`` kept (Chrome's ``optimizeForSpeed`` captures of
the crawl benchmark's pages) and times, in this thread's CPU (``time.thread_time``, median of
N runs per capture, summed over the captures and divided by their count), each way of doing
each step of ``SELENIUM_SCREENSHOT_FORMAT=auto``: decode the PNG, sample it and choose the
format, map the pixels to the palette, compress the palette PNG. It also prints the palette
PNG's bytes at each zlib level, against the fast PNG's.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from crawler.browser import reencode

if TYPE_CHECKING:
    from collections.abc import Callable


def _timed(repeat: int, step: Callable[[], Any]) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(repeat):
        started = time.thread_time()
        result = step()
        times.append(time.thread_time() - started)
    return statistics.median(times), result


def _pillow_decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as opened:
        opened.load()
        return opened if opened.mode == "RGB" else opened.convert("RGB")


def _palette_png(image: Image.Image, level: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=level)
    return out.getvalue()


def _main_reencode(data: bytes) -> bytes:
    """main's pipeline before issue #16's fastencode: Pillow decode, Pillow PNG at level 3."""
    image = _pillow_decode(data)
    sample = image.resize((image.width // 8, image.height // 8), Image.Resampling.NEAREST)
    if reencode.choose_format(sample) == "jpeg":
        return _jpeg(image)
    palette = sample.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    return _palette_png(image.quantize(palette=palette, dither=Image.Dither.NONE), 3)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.encode_steps", description=__doc__)
    parser.add_argument("captures", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args_ = parser.parse_args()
    paths = sorted(args_.captures.glob("*.png"))
    totals: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}

    def step(name: str, run: Callable[..., Any], *args: Any) -> Any:
        seconds, result = _timed(args_.repeat, lambda: run(*args))
        totals.setdefault(name, []).append(seconds)
        if isinstance(result, bytes):
            sizes[name] = sizes.get(name, 0) + len(result)
        return result

    no_dither = {"dither": Image.Dither.NONE}
    for path in paths:
        data = path.read_bytes()
        step("whole: main (Pillow decode, zlib 3)", _main_reencode, data)
        step("whole: reencode() (libspng, ISA-L 1)", reencode.reencode, data, 80)
        image = step("decode: Pillow", _pillow_decode, data)
        pixels = step("decode: libspng (pyspng)", reencode.decode, data)
        assert np.array_equal(np.asarray(image), pixels), path
        sample = step("sample every 8th px", reencode._sample, pixels)
        if step("choose format", reencode.choose_format, sample) != "png":
            step("photo: JPEG q80", _jpeg, image)
            continue
        palette = step(
            "palette from the sample",
            partial(sample.quantize, 256, method=Image.Quantize.FASTOCTREE, **no_dither),
        )
        step("array to Pillow image", Image.fromarray, pixels)
        mapped = step(
            "map: Pillow quantize", partial(image.quantize, palette=palette, **no_dither)
        )
        for level in (1, 3, 6):
            step(f"compress: Pillow zlib-ng {level}", _palette_png, mapped, level)
        for level in (0, 1, 2, 3):
            png = step(f"compress: ISA-L {level}", reencode.palette_png, mapped, level)
        with Image.open(io.BytesIO(png)) as back:
            assert back.tobytes() == mapped.tobytes(), path
    print(
        f"{len(paths)} captures; CPU ms a capture (median of {args_.repeat} runs each), mean "
        "over the captures that take the step; KB of its output a capture"
    )
    for name, seconds in totals.items():
        kb = f"{sizes[name] / 1024 / len(seconds):8.0f} KB" if name in sizes else ""
        print(f"  {name:40s} {1000 * statistics.mean(seconds):7.1f} ms  n={len(seconds):2d} {kb}")


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


if __name__ == "__main__":
    main()
