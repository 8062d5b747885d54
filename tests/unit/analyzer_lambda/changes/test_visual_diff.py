from __future__ import annotations

import pytest
from PIL import Image

from analyzer_lambda.changes.visual_diff import diff_screenshots, visually_unchanged
from bench.screenshot_pairs import Edits, block_top, encode, render_page, screenshot_pair

HEIGHT = 4_000  # tall enough for several screens, quick enough for a unit test


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_the_same_page_has_no_change(fmt: str) -> None:
    before, after = screenshot_pair(HEIGHT, Edits(), fmt)
    diff = diff_screenshots(before, after)
    assert diff.to_record() == {"changed_fraction": 0.0, "regions": []}
    assert visually_unchanged(diff)


@pytest.mark.parametrize("banner", [57, 64, 131])  # off and on JPEG's 8 px block grid
def test_a_banner_at_the_top_marks_only_the_banner(banner: int) -> None:
    before, after = screenshot_pair(HEIGHT, Edits(banner=banner))
    diff = diff_screenshots(before, after)
    assert diff.regions, "the banner itself is a change"
    for _x, y, _w, h in diff.regions:
        assert y + h <= banner + 8  # JPEG rings within its 8 px block
    assert diff.changed_fraction < 1.5 * banner / (HEIGHT + banner)
    assert not visually_unchanged(diff)


def test_a_price_change_below_a_banner_is_found_where_it_moved_to() -> None:
    edits = Edits(banner=57, price="$59")
    before, after = screenshot_pair(HEIGHT, edits)
    diff = diff_screenshots(before, after)
    price_top = block_top("price", HEIGHT, edits)
    below_banner = [box for box in diff.regions if box[1] >= 60]
    assert len(below_banner) == 1
    x, y, w, h = below_banner[0]
    assert price_top <= y < y + h <= price_top + 40
    assert w < 100  # the changed digit, not the whole line
    # the same place in the old capture is 57 px higher
    assert (x, y - 57, w, h) in diff.before_regions


def test_an_ignored_box_hides_the_change_inside_it() -> None:
    edits = Edits(banner=57, price="$59")
    before, after = screenshot_pair(HEIGHT, edits)
    price_top = block_top("price", HEIGHT, edits)
    ignored = (0, price_top, 1280, 40)
    diff = diff_screenshots(before, after, ignore_after=[ignored])
    assert all(y + h <= 60 for (_x, y, _w, h) in diff.regions)
    old_box = (0, block_top("price", HEIGHT), 1280, 40)
    assert all(y + h <= 60 for (_x, y, _w, h) in diff_screenshots(
        before, after, ignore_before=[old_box]
    ).regions)  # fmt: skip


def test_a_removed_block_is_shown_in_the_old_capture_and_as_a_seam() -> None:
    before, after = screenshot_pair(HEIGHT, Edits(drop_block=True))
    diff = diff_screenshots(before, after)
    top = block_top("drop", HEIGHT)
    removed = [box for box in diff.before_regions if box[3] > 100]
    assert len(removed) == 1
    assert top <= removed[0][1] < removed[0][1] + removed[0][3] <= top + 200
    assert len(diff.regions) == 1
    assert diff.regions[0][3] == 1
    assert abs(diff.regions[0][1] - top) <= 40  # identical panel edges may belong to either
    assert 0 < diff.changed_fraction < 0.1


def test_only_what_the_model_sees_counts_when_asked() -> None:
    page = render_page(HEIGHT)
    changed = page.copy()
    changed.paste((200, 0, 0), (40, HEIGHT - 400, 640, HEIGHT - 200))  # far below the top
    diff = diff_screenshots(encode(page), encode(changed))
    assert not visually_unchanged(diff)
    assert visually_unchanged(diff, top=2 * 1280)


def test_captures_of_different_widths_are_wholly_changed() -> None:
    narrow = render_page(1_000).crop((0, 0, 1000, 1000))
    diff = diff_screenshots(encode(render_page(1_000)), encode(narrow))
    assert diff.changed_fraction == 1.0


def test_bytes_that_are_not_an_image_are_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a readable image"):
        diff_screenshots(b"not an image", b"nor this")


def test_content_removed_from_the_top_counts_for_what_the_model_sees() -> None:
    before, after = screenshot_pair(HEIGHT, Edits(drop_block=True))
    diff = diff_screenshots(before, after)
    top = block_top("drop", HEIGHT)
    assert not visually_unchanged(diff, top=top + 400)  # the removed block was in view
    assert visually_unchanged(diff, top=top - 100)  # it was below what the model sees


def test_a_width_off_the_cell_grid_and_a_blank_page_work() -> None:
    page = Image.new("RGB", (1283, 1_200), "white")
    page.paste(render_page(1_200), (0, 0))
    changed = page.copy()
    changed.paste((0, 0, 0), (1270, 600, 1283, 640))  # in the last, partial cell
    diff = diff_screenshots(encode(page), encode(changed))
    assert len(diff.regions) == 1
    x, y, w, h = diff.regions[0]
    assert x + w == 1283
    assert 590 <= y < y + h <= 650
    blank = encode(render_page(1_000).crop((0, 0, 1280, 1)).resize((1280, 1_000)))
    assert diff_screenshots(blank, blank).regions == ()


def test_an_inserted_banner_is_a_seam_in_the_old_capture() -> None:
    """The report draws the old capture's place of a banner as a line where it went in, not as
    a box over the heading that was there."""
    before, after = screenshot_pair(HEIGHT, Edits(banner=57))
    diff = diff_screenshots(before, after)
    top = [i for i, box in enumerate(diff.regions) if box[1] < 60]
    assert top
    for i in top:
        assert diff.before_regions[i][3] == 1
        assert diff.before_regions[i][1] <= 8
