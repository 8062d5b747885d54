"""One Gemini request per page, built once for both ways of sending it: the interactive call
(``GeminiAnalyzer``) and the Batch API (``analyzer_lambda.batches``). Both must ask exactly the
same thing — same system instruction, response schema, reduced text and screenshot — so both
take their request from ``prepare`` and ``sdk_request``, and read the answer with ``usage_of``,
``text_of`` and ``AnswerValidator``.

``prepare`` is pure but for a log line; the SDK types are imported lazily (google-genai takes
seconds to import)."""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Any

from analyzer_lambda.analyzers.gemini.image import prepare_screenshot
from analyzer_lambda.analyzers.gemini.request import build_request
from analyzer_lambda.analyzers.gemini.text import reduce_html
from rivalscope_core.records import ErrorInfo, Usage

if TYPE_CHECKING:
    from google.genai import types
    from jsonschema.protocols import Validator

    from analyzer_lambda.analyzers.gemini.image import PreparedImage
    from analyzer_lambda.analyzers.gemini.request import GeminiRequest
    from analyzer_lambda.config import Config
    from analyzer_lambda.prompts.parser import Prompt
    from rivalscope_core.records import PageRecord

logger = logging.getLogger(__name__)


def prepare(page: PageRecord, prompt: Prompt, config: Config) -> GeminiRequest | ErrorInfo:
    """What to ask about ``page``, or the error result of a page with nothing to ask about."""
    text = reduce_html(page.body, config.text_tokens)
    image = _image(page, config.screenshot_max_side) if prompt.include_screenshot else None
    if not text.text and image is None:
        return ErrorInfo("empty_page", f"{page.url}: no readable text and no screenshot")
    return build_request(page, prompt, text, image)


def _image(page: PageRecord, max_side: int) -> PreparedImage | None:
    if page.screenshot is None:
        return None
    try:
        return prepare_screenshot(page.screenshot.data, max_side)
    except ValueError as exc:
        logger.warning("%s: screenshot not sent: %s", page.url, exc)
        return None


def sdk_request(
    request: GeminiRequest, prompt: Prompt, config: Config, *, timeout_ms: int | None = None
) -> tuple[list[types.Content], types.GenerateContentConfig]:
    """``contents`` and ``config`` of ``models.generate_content`` (and of a batch's
    ``InlinedRequest``): structured output with the prompt's schema and an explicit
    ``max_output_tokens`` — without it long JSON comes back truncated (python-genai#2266)."""
    from google.genai import types

    parts = [types.Part.from_text(text=request.page_text)]
    if request.image is not None:
        parts.append(
            types.Part.from_bytes(data=request.image.data, mime_type=request.image.mime_type)
        )
    generation = types.GenerateContentConfig(
        system_instruction=request.system_instruction,
        response_mime_type="application/json",
        response_json_schema=prompt.schema,
        max_output_tokens=config.gemini_max_output_tokens,
        http_options=None if timeout_ms is None else types.HttpOptions(timeout=timeout_ms),
    )
    return [types.Content(role="user", parts=parts)], generation


def usage_of(response: types.GenerateContentResponse) -> Usage:
    """Billed tokens: the prompt, and the answer with the model's thoughts (billed as output)."""
    meta = response.usage_metadata
    if meta is None:
        return Usage()
    output = (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0)
    return Usage(input_tokens=meta.prompt_token_count or 0, output_tokens=output)


def text_of(response: types.GenerateContentResponse) -> str:
    """The answer's text, or a note of why there is none (it then fails validation)."""
    text = response.text
    if text is None:
        reason = response.candidates[0].finish_reason if response.candidates else None
        feedback = response.prompt_feedback.block_reason if response.prompt_feedback else None
        return f"<no text: finish={reason} block={feedback}>"
    return text


class AnswerValidator:
    """JSON-parses an answer and checks it against the prompt's schema (validators cached per
    prompt id; thread-safe). An answer that fails is never stored as an analysis."""

    def __init__(self) -> None:
        self._validators: dict[str, Validator] = {}
        self._lock = threading.Lock()

    def validate(self, text: str | None, prompt: Prompt) -> tuple[dict[str, Any] | None, str]:
        """``(answer, "")``, or ``(None, what is wrong)``."""
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

                validator = validator_for(prompt.schema)(prompt.schema)
                self._validators[prompt.prompt_id] = validator
            return validator
