"""A page's screenshot as two files beside the report: the original capture and a small WebP
thumbnail of the top of the page. Local files and Pillow only; no S3.

Files, not inline base64, so the report loads fast instead of carrying megabytes per page; the
thumbnail is the part of the page a card shows, so the card grid stays light while a click
still opens the full capture."""

from __future__ import annotations

import base64
import binascii
import io
import logging
from typing import TYPE_CHECKING

from PIL import Image

from analyzer_lambda.report.rows import ShotFiles

if TYPE_CHECKING:
    from pathlib import Path

    from rivalscope_core.records import Screenshot

# the report command's logger (the CLI sets its level), so its warnings keep one name
logger = logging.getLogger("analyzer_lambda.report")

THUMB_WIDTH = 600  # sharp on a ~450 px card at 1.3x; WebP keeps it ~30-60 KB
THUMB_ASPECT = 10 / 16  # the top of the page, as the card shows it (16:10)
_FORMATS = {"png": "png", "jpeg": "jpg", "jpg": "jpg", "webp": "webp"}


def make_thumbnail(data: bytes, width: int = THUMB_WIDTH) -> bytes:
    """The top of a full-page screenshot (``THUMB_ASPECT``), ``width`` px wide, as WebP."""
    with Image.open(io.BytesIO(data)) as image:
        keep = min(image.height, round(image.width * THUMB_ASPECT))
        top = image.crop((0, 0, image.width, keep)).convert("RGB")
    top.thumbnail((width, width * 2), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    top.save(out, format="WEBP", quality=78, method=4)
    return out.getvalue()


def write_screenshot(shot: Screenshot, name: str, out_dir: Path) -> ShotFiles | None:
    """``screenshots/<name>.<fmt>`` and ``<name>.thumb.webp``; None (and a warning) for data
    that is not an image, so one bad capture costs one thumbnail, not the report."""
    ext = _FORMATS.get(shot.format.lower(), "png")
    folder = out_dir / "screenshots"
    try:
        data = base64.b64decode(shot.data, validate=True)
        thumb = make_thumbnail(data)
    except (binascii.Error, OSError, ValueError, Image.DecompressionBombError) as exc:
        logger.warning("screenshot %s is unreadable: %s", name, exc)
        return None
    (folder / f"{name}.{ext}").write_bytes(data)
    (folder / f"{name}.thumb.webp").write_bytes(thumb)
    return ShotFiles(
        f"screenshots/{name}.{ext}",
        f"screenshots/{name}.thumb.webp",
        shot.width,
        shot.height,
        shot.truncated,
    )
