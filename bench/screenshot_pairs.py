"""Synthetic full-page screenshots for the visual diff's bench and tests: a page of text lines,
panels and a price, drawn with Pillow, deterministic for a seed. ``render_page`` takes the
edits a real page goes through between two captures (a banner inserted at the top, a price
changed, a block removed) so pairs can be generated at any height up to
``SELENIUM_MAX_SCREENSHOT_HEIGHT``."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageDraw, ImageFont

WIDTH = 1280
LINE = 24
_WORDS = (
    "plan", "seats", "usage", "billing", "annual", "monthly", "team", "enterprise", "support",
    "uptime", "api", "export", "integration", "workflow", "dashboard", "analytics", "storage",
    "limit", "overage", "invoice", "discount", "trial",
)  # fmt: skip


@dataclass(frozen=True)
class Edits:
    banner: int = 0  # px of a banner inserted above everything
    price: str = "$49"
    drop_block: bool = False  # remove the panel in the middle of the page


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _content(height: int, seed: int) -> list[tuple[str, int, str]]:
    """(kind, height, text) blocks filling ``height`` px, the same for a seed."""
    rng = random.Random(seed)
    blocks: list[tuple[str, int, str]] = [("title", 60, "Acme Analytics — Pricing")]
    used = 60 + 240  # the price and the block that may be dropped
    while used < height:
        kind = rng.choice(["text"] * 6 + ["gap", "panel"])
        if kind == "text":
            words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 16)))
            blocks.append(("text", LINE, words))
            used += LINE
        elif kind == "gap":
            blocks.append(("gap", 16, ""))
            used += 16
        else:
            blocks.append(("panel", 120, f"Panel {len(blocks)}"))
            used += 120
    middle = len(blocks) // 2
    blocks.insert(3, ("price", 40, "PRICE"))
    blocks.insert(middle, ("drop", 200, "Limited offer: ask sales"))
    return blocks


def render_page(height: int = 15_000, edits: Edits = Edits(), seed: int = 1) -> Image.Image:
    """The page of ``seed``, ``height`` px of content; a banner makes the page taller and a
    dropped block shorter, as on a real page."""
    content = _content(height, seed)
    if edits.drop_block:
        content = [block for block in content if block[0] != "drop"]
    total = edits.banner + sum(block[1] for block in content)
    image = Image.new("RGB", (WIDTH, total), "white")
    draw = ImageDraw.Draw(image)
    y = 0
    if edits.banner:
        draw.rectangle((0, 0, WIDTH - 1, edits.banner - 1), fill=(255, 214, 0))
        draw.text((40, edits.banner // 2 - 10), "New: annual plans save 20%", "black", _font(20))
        y = edits.banner
    for kind, block_height, text in content:
        if kind == "title":
            draw.text((40, y + 12), text, (20, 20, 60), _font(32))
        elif kind == "text":
            draw.text((40, y + 4), text, (40, 40, 40), _font(16))
        elif kind in ("panel", "drop"):
            draw.rectangle((40, y + 10, WIDTH - 41, y + block_height - 10), fill=(230, 236, 250))
            draw.text((60, y + 40), text, (30, 60, 160), _font(20))
        elif kind == "price":
            draw.text((40, y + 6), f"Starter {edits.price} per month", (0, 0, 0), _font(24))
        y += block_height
    return image


def encode(image: Image.Image, fmt: str = "JPEG") -> bytes:
    """As the crawler stores captures: JPEG q80 (its default) or PNG."""
    out = io.BytesIO()
    if fmt.upper() == "JPEG":
        image.save(out, format="JPEG", quality=80)
    else:
        image.save(out, format=fmt.upper(), compress_level=1)
    return out.getvalue()


@cache
def screenshot_pair(
    height: int = 15_000, after: Edits = Edits(), fmt: str = "JPEG", seed: int = 1
) -> tuple[bytes, bytes]:
    """(before, after) encoded captures; ``before`` is the page without edits. Cached: the
    pairs are deterministic and several tests share one."""
    return encode(render_page(height, Edits(), seed), fmt), encode(
        render_page(height, after, seed), fmt
    )


def block_top(kind: str, height: int = 15_000, edits: Edits = Edits(), seed: int = 1) -> int:
    """Where block ``kind`` (``price``, ``drop``) starts on the page rendered with ``edits``."""
    y = edits.banner
    for block_kind, block_height, _text in _content(height, seed):
        if block_kind == kind:
            return y
        if not (block_kind == "drop" and edits.drop_block):
            y += block_height
    raise ValueError(f"no {kind} block")
