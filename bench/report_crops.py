"""``python -m bench.report_crops [--runs N]``: what the What changed crops cost per changed page
(issue #12), on a 1280 x 15,000 px pair of the visual diff's workload (a banner inserted at the
top and a price changed below it): decoding the two captures, cutting and drawing the crops, and
encoding them as JPEG q85 (what ``report.crops`` writes) against WebP q82 method 4 (the
baseline it replaced), in the same run. Prints medians; figures go to bench/RESULTS.md."""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time

from PIL import Image

from analyzer_lambda.changes.visual_diff import diff_screenshots
from analyzer_lambda.report.crops import AFTER_COLOUR, crop_windows, draw_crop
from bench.screenshot_pairs import Edits, screenshot_pair

HEIGHT = 15_000


def _webp(jpeg: bytes) -> float:
    """Seconds to encode the same crop as WebP q82 method 4 (the baseline)."""
    with Image.open(io.BytesIO(jpeg)) as image:
        crop = image.convert("RGB")
    started = time.perf_counter()
    crop.save(io.BytesIO(), format="WEBP", quality=82, method=4)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report_crops")
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    before, after = screenshot_pair(HEIGHT, Edits(banner=80, price="$59"))
    diff = diff_screenshots(before, after)
    decode, crops, webp, sizes = [], [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        images = [Image.open(io.BytesIO(data)) for data in (before, after)]
        for image in images:
            image.load()
        decode.append(time.perf_counter() - started)
        windows, _more = crop_windows(diff, images[0].size)
        started = time.perf_counter()
        written = [draw_crop(images[1], w.after, w.after_boxes, AFTER_COLOUR) for w in windows]
        crops.append(time.perf_counter() - started)
        webp.append(sum(_webp(data) for data in written))
        sizes = [len(data) for data in written]
    load = os.getloadavg()[0]
    print(f"1280 x {HEIGHT} px pair, {len(diff.regions)} changed areas -> {len(sizes)} crops,"
          f" {runs} runs, load average {load:.1f}")  # fmt: skip
    print(f"decode both captures: median {statistics.median(decode):.3f} s")
    jpeg, base = statistics.median(crops), statistics.median(webp)
    print(f"cut + draw + JPEG q85, all crops: median {jpeg:.3f} s; {sum(sizes) // 1024} KB")
    print(f"WebP q82 m4 encode alone (baseline): median {base:.3f} s; ratio {base / jpeg:.1f}x")


if __name__ == "__main__":
    main()
