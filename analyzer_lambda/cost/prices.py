"""Every price the cost ledger and ``reanalyze --dry-run`` use, in one table: Gemini per model
(standard and Batch API), Lambda per GB-second and per request, Fargate per vCPU-hour and
GB-hour (per CPU architecture), S3 Standard storage and requests. Each entry carries the date
it was read (``as_of``) and where (``source``), and every line of the ledger shows both.

Prices change; ``RIVALSCOPE_PRICES_FILE`` names a JSON file that overrides or adds entries,
entry by entry, without a code change (``PRICES_FILE_SCHEMA`` says what it may hold; the
README has an example). A file that breaks the schema is refused with the field named: a
ledger priced from a half-read file would be a quiet lie. A model in neither table has no
price: estimates and ledgers say so instead of guessing.

Built-in figures: USD, AWS us-east-1 list prices and the Gemini API's paid tier (prompts up
to 200k tokens), as last published on the date beside each; this repository was written
offline, so check the sources before relying on them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Gemini Batch API requests cost this fraction of the interactive price (Google's price list)
BATCH_PRICE_FACTOR = 0.5
#: analysers that call no paid model (``extract``'s model ids start with this)
FREE_MODEL_PREFIXES = ("extract",)
ARCHITECTURES = ("x86_64", "arm64")

GEMINI_SOURCE = "https://ai.google.dev/gemini-api/docs/pricing"
LAMBDA_SOURCE = "https://aws.amazon.com/lambda/pricing/"
FARGATE_SOURCE = "https://aws.amazon.com/fargate/pricing/"
S3_SOURCE = "https://aws.amazon.com/s3/pricing/"


class PriceTableError(ValueError):
    """The prices file named by RIVALSCOPE_PRICES_FILE cannot be used (a usage error: exit 2)."""


@dataclass(frozen=True)
class Price:
    """One Gemini model: USD per million tokens. Batch prices default to half the standard."""

    input_per_million: float
    output_per_million: float
    as_of: str
    source: str = GEMINI_SOURCE
    batch_input_per_million: float | None = None
    batch_output_per_million: float | None = None

    @property
    def batch_input(self) -> float:
        explicit = self.batch_input_per_million
        return self.input_per_million * BATCH_PRICE_FACTOR if explicit is None else explicit

    @property
    def batch_output(self) -> float:
        explicit = self.batch_output_per_million
        return self.output_per_million * BATCH_PRICE_FACTOR if explicit is None else explicit

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (
            input_tokens * self.input_per_million + output_tokens * self.output_per_million
        ) / 1_000_000

    def batch_cost(self, input_tokens: int, output_tokens: int) -> float:
        """The Gemini Batch API's price for the same tokens (half the standard rate)."""
        return (input_tokens * self.batch_input + output_tokens * self.batch_output) / 1_000_000


@dataclass(frozen=True)
class LambdaPrice:
    per_gb_second: float
    per_million_requests: float
    as_of: str
    source: str = LAMBDA_SOURCE


@dataclass(frozen=True)
class FargatePrice:
    per_vcpu_hour: float
    per_gb_hour: float
    as_of: str
    source: str = FARGATE_SOURCE


@dataclass(frozen=True)
class S3Price:
    """S3 Standard: storage per GB-month (AWS bills binary GB), requests per 1,000 (PUT, COPY,
    POST and LIST share one price; GET, HEAD and SELECT another; DELETE is free)."""

    per_gb_month: float
    per_1000_put: float
    per_1000_get: float
    as_of: str
    source: str = S3_SOURCE


_AS_OF = "2025-11"

BUILTIN_PRICES: dict[str, Price] = {
    "gemini-2.5-pro": Price(1.25, 10.00, _AS_OF),
    "gemini-2.5-flash": Price(0.30, 2.50, _AS_OF),
    "gemini-2.5-flash-lite": Price(0.10, 0.40, _AS_OF),
    "gemini-2.0-flash": Price(0.10, 0.40, _AS_OF),
    "gemini-2.0-flash-lite": Price(0.075, 0.30, _AS_OF),
    "gemini-3-pro-preview": Price(2.00, 12.00, _AS_OF),
}
BUILTIN_LAMBDA = {
    "x86_64": LambdaPrice(0.0000166667, 0.20, _AS_OF),
    "arm64": LambdaPrice(0.0000133334, 0.20, _AS_OF),
}
BUILTIN_FARGATE = {
    "x86_64": FargatePrice(0.04048, 0.004445, _AS_OF),
    "arm64": FargatePrice(0.03238, 0.00356, _AS_OF),
}
BUILTIN_S3 = S3Price(0.023, 0.005, 0.0004, _AS_OF)


@dataclass(frozen=True)
class PriceTable:
    gemini: Mapping[str, Price] = field(default_factory=lambda: dict(BUILTIN_PRICES))
    lambda_: Mapping[str, LambdaPrice] = field(default_factory=lambda: dict(BUILTIN_LAMBDA))
    fargate: Mapping[str, FargatePrice] = field(default_factory=lambda: dict(BUILTIN_FARGATE))
    s3: S3Price = BUILTIN_S3
    origin: str = "built-in"  # or the prices file that overrode some of it

    def model(self, name: str) -> Price | None:
        return price_for(name, self.gemini)


def price_for(model: str, prices: Mapping[str, Price]) -> Price | None:
    """The price of ``model`` (``models/`` prefix ignored); free analysers cost 0; None when
    unknown."""
    name = _normalize(model)
    if name.startswith(FREE_MODEL_PREFIXES):
        return Price(0.0, 0.0, "n/a", source="no paid model (offline analyser)")
    return prices.get(name)


def _normalize(model: str) -> str:
    return model.strip().removeprefix("models/")


# -- the override file ---------------------------------------------------------------------------


def _entry(required: list[str], optional: list[str]) -> dict[str, Any]:
    numbers = {name: {"type": "number", "minimum": 0} for name in required + optional}
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": {**numbers, "as_of": {"type": "string"}, "source": {"type": "string"}},
    }


_GEMINI = _entry(
    ["input_per_million", "output_per_million"],
    ["batch_input_per_million", "batch_output_per_million"],
)
_BY_ARCH = {"type": "object", "propertyNames": {"enum": list(ARCHITECTURES)}}
#: what ``RIVALSCOPE_PRICES_FILE`` may hold. Top-level model names (the format before the
#: ledger: ``{"gemini-2.5-flash": {...}}``) still count as Gemini entries.
PRICES_FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "gemini": {"type": "object", "additionalProperties": _GEMINI},
        "lambda": {
            **_BY_ARCH,
            "additionalProperties": _entry(["per_gb_second", "per_million_requests"], []),
        },
        "fargate": {
            **_BY_ARCH,
            "additionalProperties": _entry(["per_vcpu_hour", "per_gb_hour"], []),
        },
        "s3": _entry(["per_gb_month", "per_1000_put", "per_1000_get"], []),
    },
    "additionalProperties": _GEMINI,
}
_SECTIONS = ("gemini", "lambda", "fargate", "s3")


def load_price_table(path: str | None, variable: str = "RIVALSCOPE_PRICES_FILE") -> PriceTable:
    """The built-in table, overridden entry by entry by the JSON file at ``path`` (None or
    empty: the built-in table). A ``PriceTableError`` names the file and the first bad field."""
    table = PriceTable()
    if not path:
        return table
    where = f"{variable}={path}"
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise PriceTableError(f"{where}: cannot read a JSON table: {exc}") from exc
    validator = jsonschema.Draft202012Validator(PRICES_FILE_SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        at = ".".join(str(part) for part in error.absolute_path) or "(the top level)"
        raise PriceTableError(f"{where}: {at}: {error.message}")

    def dated(entry: dict[str, Any]) -> dict[str, Any]:
        values = {k: v for k, v in entry.items() if k not in ("as_of", "source")}
        values["as_of"] = str(entry.get("as_of", "undated"))
        values["source"] = str(entry.get("source") or where)
        return values

    models = {k: v for k, v in data.items() if k not in _SECTIONS} | data.get("gemini", {})
    gemini = dict(table.gemini) | {
        _normalize(name): Price(**dated(entry)) for name, entry in models.items()
    }
    lambda_ = dict(table.lambda_) | {
        arch: LambdaPrice(**dated(entry)) for arch, entry in data.get("lambda", {}).items()
    }
    fargate = dict(table.fargate) | {
        arch: FargatePrice(**dated(entry)) for arch, entry in data.get("fargate", {}).items()
    }
    s3 = S3Price(**dated(data["s3"])) if "s3" in data else table.s3
    return replace(table, gemini=gemini, lambda_=lambda_, fargate=fargate, s3=s3, origin=where)
