"""Model prices, in one place, and the token estimates ``reanalyze --dry-run`` multiplies them by.

Prices change; each entry says when it was read from the vendor's price list, and a file named
by ``RIVALSCOPE_PRICES_FILE`` (JSON: ``{"model": {"input_per_million": 0.3,
"output_per_million": 2.5, "as_of": "2026-01-01"}}``) overrides or adds entries without a code
change. A model that is in neither has no price: the estimate says so instead of guessing.

Built-in figures: USD per million tokens, standard (paid-tier, non-batch) rates of Google's
Gemini API price list for prompts up to 200k tokens, as of the date beside each. Check
https://ai.google.dev/gemini-api/docs/pricing before relying on them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from analyzer_lambda.prompts.parser import Prompt
    from rivalscope_core.records import PageRecord

PRICES_FILE_ENV = "RIVALSCOPE_PRICES_FILE"
#: a run whose estimate exceeds this many USD asks for confirmation (``--yes`` skips it)
CONFIRM_ABOVE_ENV = "RIVALSCOPE_CONFIRM_ABOVE_USD"
DEFAULT_CONFIRM_ABOVE = 1.0
#: Gemini Batch API requests cost this fraction of the interactive price (Google's price list)
BATCH_PRICE_FACTOR = 0.5


@dataclass(frozen=True)
class Price:
    input_per_million: float
    output_per_million: float
    as_of: str

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (
            input_tokens * self.input_per_million + output_tokens * self.output_per_million
        ) / 1_000_000

    def batch_cost(self, input_tokens: int, output_tokens: int) -> float:
        """The Gemini Batch API's price: half the standard rate for the same tokens."""
        return self.cost(input_tokens, output_tokens) * BATCH_PRICE_FACTOR


BUILTIN_PRICES: dict[str, Price] = {
    "gemini-2.5-pro": Price(1.25, 10.00, "2025-11"),
    "gemini-2.5-flash": Price(0.30, 2.50, "2025-11"),
    "gemini-2.5-flash-lite": Price(0.10, 0.40, "2025-11"),
    "gemini-2.0-flash": Price(0.10, 0.40, "2025-11"),
    "gemini-2.0-flash-lite": Price(0.075, 0.30, "2025-11"),
    "gemini-3-pro-preview": Price(2.00, 12.00, "2025-11"),
}

#: analysers that call no paid model (``extract``'s model ids start with this)
FREE_MODEL_PREFIXES = ("extract",)


class PriceTableError(ValueError):
    """The prices file named by RIVALSCOPE_PRICES_FILE cannot be used."""


def load_prices(environ: Mapping[str, str]) -> dict[str, Price]:
    """The built-in table, overridden entry by entry by ``RIVALSCOPE_PRICES_FILE``."""
    prices = dict(BUILTIN_PRICES)
    path = environ.get(PRICES_FILE_ENV, "").strip()
    if not path:
        return prices
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise PriceTableError(
            f"{PRICES_FILE_ENV}={path}: cannot read a JSON table: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise PriceTableError(f"{PRICES_FILE_ENV}={path}: expected an object of models")
    for model, entry in data.items():
        try:
            prices[_normalize(model)] = Price(
                input_per_million=float(entry["input_per_million"]),
                output_per_million=float(entry["output_per_million"]),
                as_of=str(entry.get("as_of", "unknown")),
            )
        except (TypeError, KeyError, ValueError) as exc:
            raise PriceTableError(
                f"{PRICES_FILE_ENV}={path}: entry {model!r} needs numeric "
                f"input_per_million and output_per_million ({exc})"
            ) from exc
    return prices


def price_for(model: str, prices: Mapping[str, Price]) -> Price | None:
    """The price of ``model`` (``models/`` prefix ignored); free analysers cost 0; None when
    unknown."""
    name = _normalize(model)
    if name.startswith(FREE_MODEL_PREFIXES):
        return Price(0.0, 0.0, "n/a")
    return prices.get(name)


def _normalize(model: str) -> str:
    return model.strip().removeprefix("models/")


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
