"""The token estimates ``reanalyze --dry-run`` multiplies prices by, and the prices' names as
re-analysis knows them.

The prices themselves live in ``analyzer_lambda.cost.prices`` (one table for the estimate and
the cost ledger, dated, with sources, overridable by ``RIVALSCOPE_PRICES_FILE``); this module
re-exports the Gemini side so that ``reanalyze`` and its batch path keep one import."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from analyzer_lambda.config import PRICES_FILE
from analyzer_lambda.cost.prices import (
    BATCH_PRICE_FACTOR,
    BUILTIN_PRICES,
    FREE_MODEL_PREFIXES,
    Price,
    PriceTableError,
    load_price_table,
    price_for,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from analyzer_lambda.prompts.parser import Prompt
    from rivalscope_core.records import PageRecord

__all__ = [
    "BATCH_PRICE_FACTOR",
    "BUILTIN_PRICES",
    "CONFIRM_ABOVE_ENV",
    "DEFAULT_CONFIRM_ABOVE",
    "FREE_MODEL_PREFIXES",
    "PRICES_FILE_ENV",
    "Price",
    "PriceTableError",
    "estimate_page_tokens",
    "image_tokens",
    "load_prices",
    "price_for",
]

PRICES_FILE_ENV = PRICES_FILE
#: a run whose estimate exceeds this many USD asks for confirmation (``--yes`` skips it)
CONFIRM_ABOVE_ENV = "RIVALSCOPE_CONFIRM_ABOVE_USD"
DEFAULT_CONFIRM_ABOVE = 1.0


def load_prices(environ: Mapping[str, str]) -> dict[str, Price]:
    """The Gemini prices: the built-in table, overridden by ``RIVALSCOPE_PRICES_FILE``."""
    return dict(load_price_table(environ.get(PRICES_FILE, "").strip() or None).gemini)


# -- token estimates (``reanalyze --dry-run``) --------------------------------------------------

#: what one answer of the default schema takes, measured on the demo pages (~300-700 tokens)
OUTPUT_TOKENS_PER_PAGE = 600
#: system instruction, delimiters and the request's framing around prompt and page
REQUEST_OVERHEAD_TOKENS = 150
_TILE = 768
_TOKENS_PER_TILE = 258


def image_tokens(width: int, height: int, max_side: int) -> int:
    """Tokens of the screenshot as ``analyzers.gemini.image`` sends it: the top of the page (at
    most twice as tall as wide) scaled to fit ``max_side``, billed per 768 px tile."""
    if width <= 0 or height <= 0:
        return 0
    kept = min(height, 2 * width)
    scale = min(1.0, max_side / max(width, kept))
    tiles = -(-round(width * scale) // _TILE) * -(-round(kept * scale) // _TILE)
    return _TOKENS_PER_TILE * max(1, tiles)


def estimate_page_tokens(
    page: PageRecord, prompt: Prompt, *, text_budget: int, image_max_side: int, max_output: int
) -> tuple[int, int]:
    """``(input, output)`` tokens one model call for ``page`` would take; (0, 0) for a page the
    crawler could not render (no call is made for it)."""
    # lxml: imported only when estimating
    from analyzer_lambda.analyzers.gemini.text import estimate_tokens, reduce_html

    if page.error is not None:
        return 0, 0
    tokens = REQUEST_OVERHEAD_TOKENS + estimate_tokens(prompt.text)
    tokens += estimate_tokens(json.dumps(prompt.schema))
    tokens += reduce_html(page.body, text_budget).tokens
    if prompt.include_screenshot and page.screenshot is not None:
        tokens += image_tokens(page.screenshot.width, page.screenshot.height, image_max_side)
    return tokens, min(OUTPUT_TOKENS_PER_PAGE, max_output)
