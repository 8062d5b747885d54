"""Changed regions of two full-page screenshots, robust to vertical shifts (issue #12).

A banner inserted at the top shifts every row below it, so a pixel diff at equal coordinates
marks the whole page changed. Here each row of the new capture is first matched to a row of the
old one, then compared:

1. Both images are decoded to luminance (JPEG: straight from the luma plane) and reduced to cells
   of 8 x 1 px (Pillow's ``reduce``): 1280 x 15,000 px become 160 x 15,000 bytes, and a cell's
   mean is robust to JPEG noise, which differs between captures whose 8 px blocks no longer
   line up after a shift.
2. Candidate vertical offsets come from the FFT cross-correlation of the two row-texture
   profiles (its strongest peaks), plus 0 and the height difference.
3. Every row takes the candidate under which its neighbourhood (9 rows, then 65 and 513 to break
   ties) matches best; its cells
   that still differ by more than ``PIXEL_TOLERANCE`` are changed. Rows of the old capture that
   hold content and that no new row maps to were removed.
4. Changed cells outside the ignored boxes (``ignore_selectors`` areas, in each capture's own
   coordinates) become bands of rows, split where columns are empty, nearby ones merged.

SSIM was measured at ~10 s and 2.5 GB for one 1280 x 15,000 pair: this stays within the bench's
budget of 1 s and 500 MB (bench/RESULTS.md, ``python -m bench.changes``). Pure: bytes in.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from collections.abc import Sequence

Box = tuple[int, int, int, int]  # x, y, w, h in px
Cells = npt.NDArray[np.uint8]

CELL = 8  # px per cell, horizontally
# A cell's mean luminance (0-255) may differ by this much and be unchanged: JPEG q80 noise
# between two captures shifted off the 8 px block grid measured at most 8 on text.
PIXEL_TOLERANCE = 16
CONTENT_LEVEL = 10  # a cell this far from the page background holds content
WINDOWS = (9, 65, 513)  # rows that decide a row's offset together, nearest first
MAX_CANDIDATES = 12
MERGE_GAP = 24  # px between changed rows (or columns x 3) still merged into one region
DEFAULT_TOLERANCE = 0.002  # changed fraction below which a screenshot counts as unchanged


@dataclass(frozen=True)
class VisualDiff:
    changed_fraction: float
    regions: tuple[Box, ...]  # in the new capture's coordinates
    before_regions: tuple[Box, ...]  # the same places in the old capture, plus what was removed
    width: int
    height: int
    removed: tuple[tuple[int, int], ...] = ()  # old rows [start, end) whose content is gone

    def to_record(self) -> dict[str, object]:
        """SPEC.md's ``visual`` field of ``changes.jsonl``."""
        return {
            "changed_fraction": round(self.changed_fraction, 6),
            "regions": [list(box) for box in self.regions],
        }


def visually_unchanged(
    diff: VisualDiff, tolerance: float = DEFAULT_TOLERANCE, top: int | None = None
) -> bool:
    """The reuse test's screenshot predicate: at most ``tolerance`` of the area changed; with
    ``top``, only the first ``top`` px count (the part the model is shown), by region boxes."""
    if top is None:
        return diff.changed_fraction <= tolerance
    area = sum(w * max(0, min(y + h, top) - y) for (_x, y, w, h) in diff.regions if y < top)
    # content removed from the top leaves only a 1 px seam in the new capture, yet the model
    # would see the page differently: count the removed rows themselves
    area += diff.width * sum(max(0, min(y1, top) - y0) for (y0, y1) in diff.removed)
    return area <= tolerance * diff.width * max(1, min(top, diff.height))


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the image's header, without decoding it; ``ValueError`` for bytes
    that are not an image. Two captures with the same bytes need no diff (a page Chromium
    renders the same way encodes to the same screenshot), only this."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ValueError(f"screenshot is not a readable image: {exc}") from exc


def luminance_cells(data: bytes) -> tuple[Cells, int]:
    """(cells, width in px) of a PNG/JPEG/WebP screenshot. Raises ``ValueError`` for bytes
    that are not an image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("L", image.size)  # JPEG: decode the luma plane only
            gray = image.convert("L")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ValueError(f"screenshot is not a readable image: {exc}") from exc
    width = gray.width
    cells = np.asarray(gray.reduce((CELL, 1)), dtype=np.uint8)
    return cells, width


def diff_screenshots(
    before: bytes,
    after: bytes,
    ignore_before: Sequence[Box] = (),
    ignore_after: Sequence[Box] = (),
) -> VisualDiff:
    old, width = luminance_cells(before)
    new, new_width = luminance_cells(after)
    return diff_cells(old, new, width, new_width, ignore_before, ignore_after)


def diff_cells(
    old: Cells,
    new: Cells,
    width: int,
    new_width: int,
    ignore_before: Sequence[Box] = (),
    ignore_after: Sequence[Box] = (),
) -> VisualDiff:
    height = new.shape[0]
    if width != new_width or old.shape[1] != new.shape[1] or not old.size or not new.size:
        box = (0, 0, new_width, height)
        return VisualDiff(1.0, (box,), ((0, 0, width, old.shape[0]),), new_width, height)
    ignored_old, ignored_new = (
        _ignored(old.shape, ignore_before),
        _ignored(new.shape, ignore_after),
    )
    offsets = _choose_offsets(old, new, ignored_old, ignored_new)
    source = np.arange(height) - offsets  # the old row each new row is compared with
    valid = (source >= 0) & (source < old.shape[0])
    clipped = np.clip(source, 0, old.shape[0] - 1)
    background = np.full(new.shape[1], int(np.median(new)), dtype=np.uint8)
    matched = np.where(valid[:, None], old[clipped], background)
    changed = np.abs(new.astype(np.int16) - matched.astype(np.int16)) > PIXEL_TOLERANCE
    changed &= ~ignored_new & ~(ignored_old[clipped] & valid[:, None])
    regions = _regions(changed, new_width)
    removed = _removed_rows(old, source[valid], ignore_before)
    before_regions = [_before_place(box, offsets, height) for box in regions] + [
        (0, y0, width, y1 - y0) for (y0, y1) in removed
    ]
    # Removed content leaves no changed pixel in the new capture: mark its seam, 1 px high.
    regions += [(0, _seam(source, valid, y1), new_width, 1) for (_y0, y1) in removed]
    removed_area = sum(y1 - y0 for (y0, y1) in removed) * width
    area = max(1, width * max(height, old.shape[0]))
    fraction = min(1.0, (int(changed.sum()) * CELL + removed_area) / area)
    return VisualDiff(
        fraction, tuple(regions), tuple(before_regions), new_width, height, tuple(removed)
    )


def _before_place(box: Box, offsets: npt.NDArray[np.int64], height: int) -> Box:
    """A region's place in the old capture, by the offset of the row below it (new content has
    no match of its own; the content under it does). Content inserted there pushed the rows
    below it down by about its height: in the old capture it is a 1 px seam, as removed content
    is in the new one (the report draws it as a line, not as a box over what was there)."""
    x, y, w, h = box
    below = int(offsets[min(y + h, height - 1)])
    above = int(offsets[y - 1]) if y > 0 else 0
    if below - above >= max(1, h // 2):
        return (x, max(0, y + h - below), w, 1)
    return (x, max(0, y - below), w, h)


def _profile(cells: Cells) -> npt.NDArray[np.float64]:
    profile = np.asarray(cells.astype(np.float32).std(axis=1), dtype=np.float64)
    return np.asarray(profile - profile.mean(), dtype=np.float64)


def _candidate_offsets(old: Cells, new: Cells) -> list[int]:
    """Offsets d (new row y ↔ old row y - d) where the row profiles correlate most."""
    a, b = _profile(old), _profile(new)
    size = 1 << int(len(a) + len(b)).bit_length()
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    lags = np.concatenate([np.arange(0, len(b)), np.arange(-(len(a) - 1), 0)])
    values = np.concatenate([corr[: len(b)], corr[size - (len(a) - 1) :]])
    chosen: list[int] = []
    for index in np.argsort(values)[::-1][: MAX_CANDIDATES * 8]:
        lag = int(lags[index])
        if all(abs(lag - c) > 2 for c in chosen):
            chosen.append(lag)
        if len(chosen) == MAX_CANDIDATES:
            break
    extra = [0, len(b) - len(a)]
    return chosen + [d for d in extra if d not in chosen]


def _choose_offsets(
    old: Cells, new: Cells, ignored_old: npt.NDArray[np.bool_], ignored_new: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    """Per new row, the candidate offset under which its window of rows matches best; ignored
    cells never count as mismatches."""
    candidates = _candidate_offsets(old, new)
    rows = np.arange(new.shape[0])
    errors = np.empty((len(candidates), new.shape[0]), dtype=np.float64)
    new16 = new.astype(np.int16)
    ignore_any = bool(ignored_old.any() or ignored_new.any())
    for k, d in enumerate(candidates):
        source = rows - d
        valid = (source >= 0) & (source < old.shape[0])
        clipped = np.clip(source, 0, old.shape[0] - 1)
        differs = np.abs(new16 - old[clipped].astype(np.int16)) > PIXEL_TOLERANCE
        if ignore_any:
            differs &= ~ignored_new & ~ignored_old[clipped]
        mismatched = differs.sum(axis=1, dtype=np.int32)
        mismatched[~valid] = new.shape[1]
        errors[k] = _window_score(mismatched.astype(np.float64))
    best = np.argmin(errors, axis=0)
    return np.asarray(np.asarray(candidates, dtype=np.int64)[best], dtype=np.int64)


def _seam(source: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_], old_row: int) -> int:
    """The new row compared with the old row nearest ``old_row``: where removed content was."""
    distance = np.where(valid, np.abs(source - old_row), np.iinfo(np.int64).max)
    return int(np.argmin(distance))


def _window_score(mismatched: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Mismatches around each row, nearest window first: a row of a plain panel matches every
    panel's rows, and only a wider window, reaching the panel's text, tells which is its own."""
    total = np.concatenate([[0.0], np.cumsum(mismatched)])
    rows = np.arange(len(mismatched))
    score = np.zeros_like(mismatched)
    for size, weight in zip(WINDOWS, (1e10, 1e5, 1.0), strict=True):
        low = np.clip(rows - size // 2, 0, len(rows))
        high = np.clip(rows + size // 2 + 1, 0, len(rows))
        score += weight * (total[high] - total[low])
    return score


def _ignored(shape: tuple[int, ...], boxes: Sequence[Box]) -> npt.NDArray[np.bool_]:
    mask = np.zeros(shape, dtype=bool)
    for x, y, w, h in boxes:
        c0, c1 = max(0, x // CELL), max(0, -(-(x + w) // CELL))
        mask[max(0, y) : max(0, y + h), c0:c1] = True
    return mask


def _runs(flags: npt.NDArray[np.bool_], gap: int) -> list[tuple[int, int]]:
    """[start, end) runs of True, runs at most ``gap`` apart merged."""
    idx = np.flatnonzero(flags)
    if not idx.size:
        return []
    breaks = np.flatnonzero(np.diff(idx) > gap + 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]]) + 1
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def _any(mask: npt.NDArray[np.bool_], axis: int) -> npt.NDArray[np.bool_]:
    return np.asarray(mask.any(axis=axis), dtype=bool)


def _regions(changed: npt.NDArray[np.bool_], width: int) -> list[Box]:
    boxes: list[Box] = []
    for y0, y1 in _runs(_any(changed, axis=1), MERGE_GAP):
        for c0, c1 in _runs(_any(changed[y0:y1], axis=0), 3 * MERGE_GAP // CELL):
            x0, x1 = c0 * CELL, min(width, c1 * CELL)
            boxes.append((x0, y0, x1 - x0, y1 - y0))
    return boxes


def _removed_rows(
    old: Cells, covered: npt.NDArray[np.int64], ignore_before: Sequence[Box]
) -> list[tuple[int, int]]:
    """Bands of old rows with content (not blank, not ignored) that no new row maps to."""
    background = int(np.median(old))
    content = np.abs(old.astype(np.int16) - background) > CONTENT_LEVEL
    content &= ~_ignored(old.shape, ignore_before)
    uncovered = np.ones(old.shape[0], dtype=bool)
    uncovered[covered] = False
    rows = _any(content, axis=1)
    # A removed panel's plain rows look like any other panel's and get "covered" by chance, and
    # the edge rows of the panel after it may match either: a block of contiguous content rows
    # that is mostly uncovered was removed as a whole.
    gone = np.zeros_like(rows)
    for y0, y1 in _runs(rows, 0):
        if 2 * int(uncovered[y0:y1].sum()) > y1 - y0:
            gone[y0:y1] = True
    return _runs(gone, MERGE_GAP)
