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

import json
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from analyzer_lambda.analyzers.base import DEADLINE_ERROR, UNAVAILABLE_ERROR, Analysis
from analyzer_lambda.analyzers.gemini.image import prepare_screenshot
from analyzer_lambda.analyzers.gemini.request import build_request
from analyzer_lambda.analyzers.gemini.text import reduce_html
from analyzer_lambda.analyzers.gemini.transport import backoff, is_transient
from analyzer_lambda.analyzers.gemini.transport import client as _client
from analyzer_lambda.exceptions import ConfigurationError
from rivalscope_core.records import ErrorInfo, Usage

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from analyzer_lambda.analyzers.base import Deadline
    from analyzer_lambda.analyzers.gemini.image import PreparedImage
    from analyzer_lambda.analyzers.gemini.request import GeminiRequest
    from analyzer_lambda.config import Config
    from analyzer_lambda.prompts.parser import Prompt
    from rivalscope_core.records import PageRecord

logger = logging.getLogger(__name__)

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
        from google.genai import types  # 1-5 s to import: only when Gemini is the analyser

        self._config = config
        self._types = types
        self._client = _client(
            config.gemini_api_key,
            int(config.gemini_timeout * 1000),
            os.environ.get("GOOGLE_GEMINI_BASE_URL"),
        )
        self._validators: dict[str, Validator] = {}
        self._lock = threading.Lock()

    def model_for(self, prompt: Prompt) -> str:
        return prompt.model or self._config.gemini_model

    def analyze(self, page: PageRecord, prompt: Prompt, deadline: Deadline) -> Analysis:
        text = reduce_html(page.body, self._config.text_tokens)
        image = self._image(page) if prompt.include_screenshot else None
        if not text.text and image is None:
            return _failed("empty_page", f"{page.url}: no readable text and no screenshot")
        request = build_request(page, prompt, text, image)
        return self._ask(request, prompt, deadline)

    def _image(self, page: PageRecord) -> PreparedImage | None:
        if page.screenshot is None:
            return None
        try:
            return prepare_screenshot(page.screenshot.data, self._config.screenshot_max_side)
        except ValueError as exc:
            logger.warning("%s: screenshot not sent: %s", page.url, exc)
            return None

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
            answer, problem = self._validate(text, prompt)
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

        types = self._types
        parts = [types.Part.from_text(text=request.page_text)]
        if request.image is not None:
            parts.append(
                types.Part.from_bytes(data=request.image.data, mime_type=request.image.mime_type)
            )
        timeout_ms = int(min(self._config.gemini_timeout, remaining) * 1000)
        config = types.GenerateContentConfig(
            system_instruction=request.system_instruction,
            response_mime_type="application/json",
            response_json_schema=prompt.schema,
            max_output_tokens=self._config.gemini_max_output_tokens,
            http_options=types.HttpOptions(timeout=max(timeout_ms, 1)),
        )
        contents = [types.Content(role="user", parts=parts)]
        try:
            response = self._client.models.generate_content(
                model=model, contents=contents, config=config
            )
        except errors.APIError as exc:
            code = exc.code or 0
            if is_transient(code):
                raise _Transient(f"HTTP {code} {exc.status or ''}".strip()) from exc
            if code in (401, 403, 404):  # key refused or model unknown: fix the configuration
                logger.error("gemini refused the call (HTTP %s): %s", code, exc.message)
                raise _Fatal(UNAVAILABLE_ERROR, f"HTTP {code}: {exc.message}") from exc
            raise _Fatal("gemini_request_rejected", f"HTTP {code}: {exc.message}") from exc
        except httpx2.TransportError as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        meta = response.usage_metadata
        usage = Usage(
            input_tokens=(meta.prompt_token_count or 0) if meta else 0,
            output_tokens=((meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0))
            if meta
            else 0,
        )
        text = response.text
        if text is None:
            reason = response.candidates[0].finish_reason if response.candidates else None
            feedback = response.prompt_feedback.block_reason if response.prompt_feedback else None
            return f"<no text: finish={reason} block={feedback}>", usage
        return text, usage

    def _validate(self, text: str | None, prompt: Prompt) -> tuple[dict[str, Any] | None, str]:
        from jsonschema.exceptions import best_match

        try:
            answer = json.loads(text or "")
        except json.JSONDecodeError as exc:
            return None, f"answer is not JSON ({exc}); raise GEMINI_MAX_OUTPUT_TOKENS if cut"
        if not isinstance(answer, dict):
            return None, "answer is not a JSON object"
        error = best_match(self._validator(prompt).iter_errors(answer))
        if error is not None:
            return None, f"answer does not match the schema: {error.message[:300]}"
        return answer, ""

    def _validator(self, prompt: Prompt) -> Validator:
        with self._lock:
            validator = self._validators.get(prompt.prompt_id)
            if validator is None:
                from jsonschema.validators import validator_for

                cls = validator_for(prompt.schema)
                validator = cls(prompt.schema)
                self._validators[prompt.prompt_id] = validator
            return validator

    def _backoff(self, failures: int) -> float:
        return backoff(failures, self._config.gemini_retry_base_delay)


class _Fatal(Exception):
    """A failure another attempt would not fix (400 bad request, 403 key refused...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _failed(kind: str, message: str) -> Analysis:
    return Analysis(answer=None, error=ErrorInfo(type=kind, message=message))
