"""Which prompt a page is analysed with, and reading it: a re-analysis override, else the
record's ``prompt``, else ``ANALYSIS_PROMPT``, else the bundled default prompt. A reference is a
file path, an ``s3://`` URI, or a NAME meaning ``s3://BUCKET/prompts/NAME.md`` in the chunk's
bucket. Prompts are cached per process (a warm Lambda reads each once)."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from analyzer_lambda.exceptions import PromptUnavailableError, StoreError
from analyzer_lambda.prompts.parser import Prompt, PromptError, default_prompt, parse_prompt
from rivalscope_core.keys import parse_s3_uri, prompt_key

if TYPE_CHECKING:
    from analyzer_lambda.store import Store

_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


class PromptResolver:
    def __init__(self, store: Store, default_ref: str | None) -> None:
        self._store = store
        self._default_ref = default_ref
        self._cache: dict[tuple[str, str], Prompt] = {}
        self._lock = threading.Lock()

    def resolve(self, ref: str | None, bucket: str) -> Prompt:
        """The prompt for ``ref`` (None: ``ANALYSIS_PROMPT`` or the default); raises
        ``PromptUnavailableError`` naming the reference."""
        ref = ref or self._default_ref
        if not ref:
            return default_prompt()
        with self._lock:
            cached = self._cache.get((ref, bucket))
        if cached is not None:
            return cached
        prompt = self._load(ref, bucket)
        with self._lock:
            self._cache[(ref, bucket)] = prompt
        return prompt

    def _load(self, ref: str, bucket: str) -> Prompt:
        try:
            if ref.startswith("s3://"):
                uri = parse_s3_uri(ref)
                raw, name = self._store.read_text(uri.bucket, uri.key), uri.key
            elif Path(ref).is_file():
                raw, name = Path(ref).read_text(encoding="utf-8"), ref
            elif _NAME.match(ref) and not ref.endswith(".md"):
                raw, name = self._store.read_text(bucket, prompt_key(ref)), ref
            else:
                raise PromptUnavailableError(f"prompt {ref!r}: no such file")
            stem = Path(name).name.removesuffix(".md") or "prompt"
            return parse_prompt(raw, source=ref, fallback_name=stem)
        except (StoreError, OSError, PromptError, ValueError) as exc:
            raise PromptUnavailableError(f"prompt {ref!r} is unavailable: {exc}") from exc
