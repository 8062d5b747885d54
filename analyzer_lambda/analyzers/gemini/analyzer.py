"""The Gemini analyser (``ANALYZER=gemini``), on google-genai, the maintained SDK
(google-generativeai is deprecated; its support ended 2025-11-30).

One call per page: the prompt and our guard as system instruction, the page's reduced text
between delimiters, the top of the screenshot unless the prompt says ``include_screenshot:
false``; structured output (``response_json_schema`` = the prompt's schema) with an explicit
``max_output_tokens`` — without it long JSON comes back truncated (python-genai#2266) — then
validated with jsonschema. An answer that does not validate is asked for once more, then
recorded as an error: an error text never ends up inside an analysis.

Retries are our own loop, not the SDK's ``HttpRetryOptions``: the SDK retries nothing by default
and its defaults wait up to a minute, while a Lambda has to stop when its time runs out. 408,
429, 5xx and transport errors (timeouts included) are retried up to ``GEMINI_MAX_ATTEMPTS``
times with exponential backoff and jitter, each attempt's timeout and each wait bounded by
the deadline. A page still failing after that gets an error result; a page cut off by the
deadline is reported as ``DEADLINE_ERROR`` and retried by the next delivery."""

from __future__ import annotations

import functools
import logging
import os
import random
import time
from typing import TYPE_CHECKING

from analyzer_lambda.analyzers.base import DEADLINE_ERROR, UNAVAILABLE_ERROR, Analysis
from analyzer_lambda.analyzers.gemini.call import (
    AnswerValidator,
    prepare,
    sdk_request,
    text_of,
    usage_of,
)
from analyzer_lambda.exceptions import ConfigurationError
from rivalscope_core.records import ErrorInfo, Usage

if TYPE_CHECKING:
    from google import genai

    from analyzer_lambda.analyzers.base import Deadline
    from analyzer_lambda.analyzers.gemini.request import GeminiRequest
    from analyzer_lambda.config import Config
    from analyzer_lambda.prompts.parser import Prompt
    from rivalscope_core.records import PageRecord

logger = logging.getLogger(__name__)

_MAX_BACKOFF = 20.0  # seconds between two attempts, before jitter
_MIN_ATTEMPT = 1.0  # never start an attempt with less time than this left


class _Transient(Exception):
    """A failure worth another attempt (429, 5xx, timeout, connection)."""


class GeminiAnalyzer:
    """Thread-safe: one google-genai client (an httpx2 connection pool) shared by all pages."""

    name = "gemini"

    def __init__(self, config: Config) -> None:
        if not config.gemini_api_key:
            raise ConfigurationError(
                "ANALYZER=gemini needs a key: set GEMINI_API_KEY (in AWS: "
                "GEMINI_API_KEY_SECRET_ARN or GEMINI_API_KEY_PARAMETER)"
            )
        self._config = config
        self._client = gemini_client(config)
        self._answers = AnswerValidator()

    def model_for(self, prompt: Prompt) -> str:
        return prompt.model or self._config.gemini_model

    def analyze(self, page: PageRecord, prompt: Prompt, deadline: Deadline) -> Analysis:
        request = prepare(page, prompt, self._config)
        if isinstance(request, ErrorInfo):
            return Analysis(answer=None, error=request)
        return self._ask(request, prompt, deadline)

    def _ask(self, request: GeminiRequest, prompt: Prompt, deadline: Deadline) -> Analysis:
        model = self.model_for(prompt)
        usage = Usage()
        transient_failures = 0
        invalid_answers = 0
        while True:
            remaining = deadline.remaining()
            if remaining < _MIN_ATTEMPT:
                return Analysis(None, usage, ErrorInfo(DEADLINE_ERROR, "no time left to ask"))
            try:
                text, call_usage = self._call(model, request, prompt, remaining)
            except _Transient as exc:
                transient_failures += 1
                if transient_failures >= self._config.gemini_max_attempts:
                    message = f"{transient_failures} attempts failed, last: {exc}"
                    return Analysis(None, usage, ErrorInfo("gemini_unavailable", message))
                delay = self._backoff(transient_failures)
                if delay > deadline.remaining() - _MIN_ATTEMPT:
                    return Analysis(None, usage, ErrorInfo(DEADLINE_ERROR, f"gave up: {exc}"))
                logger.info("gemini: %s; retry %d in %.1f s", exc, transient_failures, delay)
                time.sleep(delay)
                continue
            except _Fatal as exc:
                return Analysis(None, usage, ErrorInfo(exc.kind, str(exc)))
            usage = Usage(
                usage.input_tokens + call_usage.input_tokens,
                usage.output_tokens + call_usage.output_tokens,
            )
            answer, problem = self._answers.validate(text, prompt)
            if answer is not None:
                return Analysis(answer, usage)
            invalid_answers += 1
            if invalid_answers > 1:
                return Analysis(None, usage, ErrorInfo("invalid_output", problem))
            logger.info("gemini: answer rejected (%s); asking once more", problem)

    def _call(
        self, model: str, request: GeminiRequest, prompt: Prompt, remaining: float
    ) -> tuple[str | None, Usage]:
        import httpx2
        from google.genai import errors

        timeout_ms = int(min(self._config.gemini_timeout, remaining) * 1000)
        contents, config = sdk_request(
            request, prompt, self._config, timeout_ms=max(timeout_ms, 1)
        )
        try:
            response = self._client.models.generate_content(
                model=model, contents=contents, config=config
            )
        except errors.APIError as exc:
            code = exc.code or 0
            if code in (408, 429) or code >= 500:
                raise _Transient(f"HTTP {code} {exc.status or ''}".strip()) from exc
            if code in (401, 403, 404):  # key refused or model unknown: fix the configuration
                logger.error("gemini refused the call (HTTP %s): %s", code, exc.message)
                raise _Fatal(UNAVAILABLE_ERROR, f"HTTP {code}: {exc.message}") from exc
            raise _Fatal("gemini_request_rejected", f"HTTP {code}: {exc.message}") from exc
        except httpx2.TransportError as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        return text_of(response), usage_of(response)

    def _backoff(self, failures: int) -> float:
        ceiling = min(_MAX_BACKOFF, self._config.gemini_retry_base_delay * 2 ** (failures - 1))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography


def gemini_client(config: Config) -> genai.Client:
    """The process's client for ``config``'s key (also what the Batch API path uses)."""
    if not config.gemini_api_key:
        raise ConfigurationError("GEMINI_API_KEY is not set")
    return _client(
        config.gemini_api_key,
        int(config.gemini_timeout * 1000),
        os.environ.get("GOOGLE_GEMINI_BASE_URL"),
    )


@functools.cache
def _client(api_key: str, timeout_ms: int, base_url: str | None) -> genai.Client:
    """One client (and connection pool) per key and endpoint per process. ``base_url`` only keys
    the cache: google-genai reads ``GOOGLE_GEMINI_BASE_URL`` itself (SPEC.md)."""
    from google import genai
    from google.genai import types

    return genai.Client(api_key=api_key, http_options=types.HttpOptions(timeout=timeout_ms))


class _Fatal(Exception):
    """A failure another attempt would not fix (400 bad request, 403 key refused...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
