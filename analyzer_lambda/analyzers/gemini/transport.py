"""What every Gemini caller of this package shares: one google-genai client per key and
endpoint, which HTTP failures are worth another attempt, and the backoff between attempts.

The page analyser and the run's digest writer both call Gemini; they must reach the same
endpoint (``GOOGLE_GEMINI_BASE_URL``, read by google-genai itself) and retry the same way, so
the rules live here once rather than in each caller."""

from __future__ import annotations

import functools
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google import genai

MAX_BACKOFF = 20.0  # seconds between two attempts, before jitter


@functools.cache
def client(api_key: str, timeout_ms: int, base_url: str | None) -> genai.Client:
    """One client (and connection pool) per key and endpoint per process. ``base_url`` only keys
    the cache: google-genai reads ``GOOGLE_GEMINI_BASE_URL`` itself (SPEC.md)."""
    from google import genai
    from google.genai import types

    return genai.Client(api_key=api_key, http_options=types.HttpOptions(timeout=timeout_ms))


def is_transient(code: int) -> bool:
    """408, 429 and 5xx: the service may answer the same request on another attempt."""
    return code in (408, 429) or code >= 500


def backoff(failures: int, base_delay: float) -> float:
    """Seconds before attempt ``failures + 1``: doubled each time, capped, with full jitter on
    the upper half so that concurrent callers do not retry in step."""
    ceiling = min(MAX_BACKOFF, base_delay * 2 ** (failures - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography
