"""Crops of the changed areas: nearby areas share one, far ones get their own, a page whose
whole layout changed gives a crop of bounded size, files are written and readable."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw

from analyzer_lambda.changes.visual_diff import VisualDiff, diff_screenshots
from analyzer_lambda.report.crops import (
    MAX_CROPS,
    MAX_HEIGHT,
    MIN_WIDTH,
    OUT_WIDTH,
    crop_windows,
    write_change_shots,
)

if TYPE_CHECKING:
    from pathlib import Path


def _diff(regions: list[tuple[int, int, int, int]], height: int = 6000) -> VisualDiff:
    return VisualDiff(0.01, tuple(regions), tuple(regions), 1280, height)


def test_near_areas_share_a_crop_and_far_ones_do_not() -> None:
    windows, more = crop_windows(_diff([(100, 500, 60, 20), (300, 560, 80, 20),
                                        (100, 4000, 60, 20)]), (1280, 6000))  # fmt: skip
    assert (len(windows), more) == (2, 0)
    first = windows[0]
    assert len(first.after_boxes) == 2
    x0, y0, x1, y1 = first.after
    assert x1 - x0 >= MIN_WIDTH  # some page around a small box
    assert y0 <= 500
    assert y1 >= 580


def test_a_whole_page_change_gives_a_bounded_crop_and_extra_areas_are_counted() -> None:
    windows, _ = crop_windows(_diff([(0, 0, 1280, 6000)]), (1280, 6000))
    assert windows[0].cut
    assert windows[0].after[3] - windows[0].after[1] <= MAX_HEIGHT
    many = [(0, y, 100, 10) for y in range(0, 6000, 1000)]
    windows, more = crop_windows(_diff(many), (1280, 6000))
    assert (len(windows), more) == (MAX_CROPS, len(many) - MAX_CROPS)


def _page(price: str) -> bytes:
    image = Image.new("RGB", (1280, 2400), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1280, 80), fill=(20, 30, 60))
    draw.text((200, 1200), f"Starter {price} per month", fill="black", font_size=40)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_crop_files_are_written_beside_the_report(tmp_path: Path) -> None:
    before, after = _page("$49"), _page("$59")
    diff = diff_screenshots(before, after)
    assert diff.regions
    shots = write_change_shots(before, "png", after, diff, "items.0000000-1", tmp_path)
    assert shots is not None
    assert shots.before_full == "changes/items.0000000-1.before.png"
    assert (tmp_path / shots.before_full).read_bytes() == before
    crop = shots.crops[0]
    assert crop.before is not None
    for path in (crop.before, crop.after):
        with Image.open(tmp_path / path) as image:
            assert image.format == "JPEG"
            assert image.width <= OUT_WIDTH
            assert image.height < 400  # a price, not the page


def test_an_unreadable_screenshot_costs_its_crops_only(tmp_path: Path) -> None:
    diff = _diff([(0, 0, 10, 10)])
    assert write_change_shots(b"not a png", "png", b"nor this", diff, "x", tmp_path) is None
