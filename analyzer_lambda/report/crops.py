"""Before/after crops of the changed areas of a page's screenshot, boxes drawn, as small JPEG
files beside the report (``changes/``), and the previous full capture next to them. Local files
and Pillow only; no S3.

``visual_diff`` gives each changed area twice, aligned by index: ``regions`` in this capture and
``before_regions`` at the same place in the previous one (removed content is a 1 px seam in this
capture and its whole band in the previous one; inserted content the other way round). Nearby
areas share one crop (``crop_windows``, pure). A crop spans at least ``MIN_WIDTH`` x
``MIN_HEIGHT`` px of page, so a box keeps what is around it, and at most ``MAX_HEIGHT``, so a
page whose whole layout changed gives a readable top, not a 15,000 px strip. Crops are written
at most ``OUT_WIDTH`` px wide: sharp in a half-width column, tens of KB each.
"""

from __future__ import annotations

import io
import logging
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

from analyzer_lambda.report.change_model import ChangeShots, CropPair

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from PIL import Image as PILImage

    from analyzer_lambda.changes.visual_diff import Box, VisualDiff

logger = logging.getLogger("analyzer_lambda.report")

PAD = 40  # px of page kept around the changed areas
MIN_WIDTH = 720  # px of page a crop spans at least (a price box alone says little)
MIN_HEIGHT = 240
MAX_HEIGHT = 900  # px of page a crop shows at most
MERGE_GAP = 160  # px between changed areas that still share one crop
MAX_CROPS = 4  # per page; the others are counted and a click away in the full capture
OUT_WIDTH = 960
BEFORE_COLOUR = (217, 45, 32)
AFTER_COLOUR = (18, 140, 80)
_EXTENSIONS = {"png": "png", "jpeg": "jpg", "jpg": "jpg", "webp": "webp"}

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1


@dataclass(frozen=True)
class Window:
    """One crop: the rectangle shown in each capture and the boxes drawn in it (page px)."""

    after: Rect
    before: Rect
    after_boxes: tuple[Box, ...]
    before_boxes: tuple[Box, ...]
    cut: bool


def crop_windows(diff: VisualDiff, before_size: tuple[int, int]) -> tuple[list[Window], int]:
    """(crops, changed areas left out) for ``diff``; ``before_size`` is the previous capture's
    (width, height)."""
    pairs = sorted(zip(diff.regions, diff.before_regions, strict=False), key=lambda p: p[0][1])
    groups: list[list[tuple[Box, Box]]] = []
    for pair in pairs:
        if groups:
            top = min(a[1] for a, _ in groups[-1])
            bottom = max(a[1] + a[3] for a, _ in groups[-1])
            y, h = pair[0][1], pair[0][3]
            if y - bottom <= MERGE_GAP and max(bottom, y + h) - top <= MAX_HEIGHT - 2 * PAD:
                groups[-1].append(pair)
                continue
        groups.append([pair])
    windows = [
        _window(group, (diff.width, diff.height), before_size) for group in groups[:MAX_CROPS]
    ]
    return windows, sum(len(group) for group in groups[MAX_CROPS:])


def _window(
    group: list[tuple[Box, Box]], after_size: tuple[int, int], before_size: tuple[int, int]
) -> Window:
    after_boxes = tuple(a for a, _ in group)
    before_boxes = tuple(b for _, b in group)
    x0 = min(min(b[0] for b in after_boxes), min(b[0] for b in before_boxes)) - PAD
    x1 = max(max(b[0] + b[2] for b in after_boxes), max(b[0] + b[2] for b in before_boxes)) + PAD
    after, cut_after = _rect(x0, x1, after_boxes, after_size)
    before, cut_before = _rect(x0, x1, before_boxes, before_size)
    return Window(after, before, after_boxes, before_boxes, cut_after or cut_before)


def _rect(x0: int, x1: int, boxes: Sequence[Box], size: tuple[int, int]) -> tuple[Rect, bool]:
    width, height = size
    if x1 - x0 < MIN_WIDTH:  # widen around the centre
        grow = MIN_WIDTH - (x1 - x0)
        x0, x1 = x0 - grow // 2, x1 + grow - grow // 2
    if x0 < 0:
        x0, x1 = 0, x1 - x0
    if x1 > width:
        x0, x1 = max(0, x0 - (x1 - width)), width
    y0 = min(b[1] for b in boxes) - PAD
    y1 = max(b[1] + b[3] for b in boxes) + PAD
    if y1 - y0 < MIN_HEIGHT:  # a line of text, or a seam, with what is around it
        grow = MIN_HEIGHT - (y1 - y0)
        y0, y1 = y0 - grow // 2, y1 + grow - grow // 2
    if y0 < 0:
        y0, y1 = 0, y1 - y0
    y1 = min(height, y1)
    cut = y1 - y0 > MAX_HEIGHT
    return (max(0, x0), y0, max(x0 + 1, x1), max(y0 + 1, min(y1, y0 + MAX_HEIGHT))), cut


def draw_crop(
    image: PILImage.Image, rect: Rect, boxes: Sequence[Box], colour: tuple[int, int, int]
) -> bytes:
    """``rect`` of ``image`` with ``boxes`` outlined (and lightly filled), as JPEG."""
    from PIL import Image, ImageDraw

    crop = image.crop(rect).convert("RGBA")
    overlay = Image.new("RGBA", crop.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for x, y, w, h in boxes:
        left, top = x - rect[0], y - rect[1]
        shape = (left - 2, top - 2, left + w + 1, top + max(h, 1) + 1)
        draw.rectangle(shape, fill=(*colour, 28), outline=(*colour, 255), width=3)
    crop = Image.alpha_composite(crop, overlay).convert("RGB")
    if crop.width > OUT_WIDTH:
        size = (OUT_WIDTH, max(1, round(crop.height * OUT_WIDTH / crop.width)))
        crop = crop.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    out = io.BytesIO()
    # JPEG, not WebP: 2.7x faster to encode (bench/RESULTS.md, ``python -m bench.report_crops``)
    # for 1.6x the bytes, and a report may crop hundreds of changed pages
    crop.save(out, format="JPEG", quality=85)
    return out.getvalue()


def write_change_shots(
    before: bytes | None,
    before_format: str,
    after: bytes,
    diff: VisualDiff | None,
    name: str,
    out_dir: Path,
) -> ChangeShots | None:
    """``changes/<name>-<k>.before.jpg`` / ``.after.jpg`` for each crop and
    ``changes/<name>.before.<ext>`` (the previous full capture); None (and a warning) when an
    image cannot be read, so one bad capture costs its crops, not the report."""
    from PIL import Image, UnidentifiedImageError

    folder = out_dir / "changes"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        before_full = None
        if before is not None:
            ext = _EXTENSIONS.get(before_format.lower(), "png")
            before_full = f"changes/{name}.before.{ext}"
            (out_dir / before_full).write_bytes(before)
        if diff is None or not diff.regions:
            return ChangeShots(before_full=before_full)
        with ExitStack() as images:
            new_image = images.enter_context(Image.open(io.BytesIO(after)))
            old_image = (
                images.enter_context(Image.open(io.BytesIO(before)))
                if before is not None
                else None
            )
            windows, more = crop_windows(diff, old_image.size if old_image else (0, 0))
            crops = []
            for k, window in enumerate(windows, start=1):
                after_path = f"changes/{name}-{k}.after.jpg"
                (out_dir / after_path).write_bytes(
                    draw_crop(new_image, window.after, window.after_boxes, AFTER_COLOUR)
                )
                before_path = None
                if old_image is not None:
                    before_path = f"changes/{name}-{k}.before.jpg"
                    (out_dir / before_path).write_bytes(
                        draw_crop(old_image, window.before, window.before_boxes, BEFORE_COLOUR)
                    )
                crops.append(CropPair(before_path, after_path, window.cut))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        logger.warning("screenshot crops of %s not written: %s", name, exc)
        return None
    return ChangeShots(tuple(crops), more, before_full)
