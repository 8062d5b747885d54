"""Prompt files (SPEC.md): Markdown with optional YAML front matter (``name``, ``model``,
``include_screenshot``, ``schema``). The prompt id is ``name`` plus a short hash of the whole
file, so an edited prompt is a new prompt and never overwrites the answers of the old one.

Pure: this module parses text; reading it from a file or S3 belongs to the callers."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

_FRONT_MATTER = re.compile(r"\A---\s*\n(?P<meta>.*?)\n---\s*(?:\n|\Z)", re.DOTALL)
_NAME = re.compile(r"[^A-Za-z0-9._-]+")

DEFAULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "offering": {"type": "string"},
        "pricing": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "plan": {"type": "string"},
                    "price": {"type": "string"},
                    "currency": {"type": "string"},
                    "period": {"type": "string"},
                    "notes": {"type": "string"},
                },
                "required": ["plan", "price"],
            },
        },
        "audience": {"type": "string"},
        "positioning": {"type": "string"},
        "notable_claims": {"type": "array", "items": {"type": "string"}},
        "summary": {"type": "string"},
    },
    "required": ["offering", "pricing", "audience", "positioning", "notable_claims", "summary"],
}


class PromptError(ValueError):
    """A prompt file that cannot be used; the message says which part to fix."""


@dataclass(frozen=True)
class Prompt:
    name: str
    text: str
    prompt_id: str
    model: str | None = None
    include_screenshot: bool = True
    schema: dict[str, Any] = field(default_factory=lambda: DEFAULT_SCHEMA)
    source: str = ""


def parse_prompt(raw: str, *, source: str = "", fallback_name: str = "prompt") -> Prompt:
    """Parse a prompt file. ``fallback_name`` (usually the file stem) names a prompt without
    front matter."""
    meta: dict[str, Any] = {}
    body = raw
    match = _FRONT_MATTER.match(raw)
    if match:
        try:
            loaded = yaml.safe_load(match["meta"]) or {}
        except yaml.YAMLError as exc:
            raise PromptError(
                f"prompt {source or fallback_name}: bad YAML front matter: {exc}"
            ) from exc
        if not isinstance(loaded, dict):
            raise PromptError(f"prompt {source or fallback_name}: front matter must be a mapping")
        meta = loaded
        body = raw[match.end() :]
    text = body.strip()
    if not text:
        raise PromptError(f"prompt {source or fallback_name} has no text")
    name = _NAME.sub("-", str(meta.get("name") or fallback_name)).strip("-") or "prompt"
    schema = meta.get("schema", DEFAULT_SCHEMA)
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise PromptError(
            f"prompt {source or name}: 'schema' must be a JSON Schema of type object"
        )
    include = meta.get("include_screenshot", True)
    if not isinstance(include, bool):
        raise PromptError(f"prompt {source or name}: 'include_screenshot' must be true or false")
    model = meta.get("model")
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:8]
    return Prompt(
        name=name,
        text=text,
        prompt_id=f"{name}-{digest}",
        model=str(model) if model else None,
        include_screenshot=include,
        schema=schema,
        source=source,
    )


def default_prompt() -> Prompt:
    bundled = resources.files("analyzer_lambda.prompts").joinpath("default_prompt.md")
    raw = bundled.read_text("utf-8")
    return parse_prompt(raw, source="builtin:default")
