"""The digest written by Gemini from the run's changes (``digest.request``), with structured
output (``POINTS_SCHEMA``: importance, competitor, url, summary per point).

The client and the retry rules are the page analyser's (``analyzers.gemini.transport``, the
same ``GEMINI_*`` settings and ``GOOGLE_GEMINI_BASE_URL``): 408, 429, 5xx and transport errors
are retried up to ``GEMINI_MAX_ATTEMPTS`` times with the same backoff; an answer that does not
validate is asked for once more, as a page's would be. The answer is then held to what we know:
every point must name one of the pages we sent (the model may not invent a page), its
competitor is ours for that page, and the most important change must be among the points. An
answer that holds is kept (``digest.cache``), so the same request is not paid for twice.
Anything else raises ``DigestWriterError``, carrying the usage spent so far, and the caller
writes the deterministic digest instead and says so."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from analyzer_lambda.analyzers.gemini.transport import backoff, client, is_transient
from analyzer_lambda.digest.markdown import fit
from analyzer_lambda.digest.model import Digest, Point
from analyzer_lambda.digest.phrases import clip, offline_language
from analyzer_lambda.digest.request import POINTS_SCHEMA, build_request
from rivalscope_core.keys import model_slug
from rivalscope_core.records import Usage

if TYPE_CHECKING:
    from collections.abc import Sequence

    from analyzer_lambda.config import Config
    from analyzer_lambda.digest.cache import DigestCache
    from analyzer_lambda.digest.model import State
    from analyzer_lambda.digest.rank import RankedChange
    from analyzer_lambda.digest.request import DigestRequest

logger = logging.getLogger(__name__)

_SUMMARY_CHARS = 400
_ORDER = {"high": 0, "medium": 1, "low": 2}


class DigestWriterError(Exception):
    """Gemini gave no usable digest; ``usage`` and ``calls`` are what it cost anyway, and
    ``reused_from`` where that verdict was stored by an earlier writer of the same request."""

    def __init__(
        self, reason: str, usage: Usage, calls: int, reused_from: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.usage = usage
        self.calls = calls
        self.reused_from = reused_from


class _Transient(Exception):
    pass


def gemini_digest(
    run: str,
    changes: Sequence[RankedChange],
    counts: dict[str, int],
    state: State,
    config: Config,
    cache: DigestCache | None = None,
) -> Digest:
    """The digest of ``changes`` (ranked, non-empty) by ``config.gemini_model``; the one in
    ``cache`` when the same request was answered before (no call, usage 0)."""
    if not config.gemini_api_key:
        raise DigestWriterError("no Gemini key", Usage(), 0)
    request = build_request(run, changes, counts, config.digest_language)
    by_url = {c.url: c for c in changes}
    frame, _ = offline_language(config.digest_language)
    digest = Digest(
        run=run, state=state, counts=counts, language=config.digest_language, frame=frame,
        requested_language=config.digest_language, writer="gemini", model=config.gemini_model,
    )  # fmt: skip
    fingerprint = f"{model_slug(config.gemini_model)}-{request.fingerprint}"
    stored = cache.get(fingerprint) if cache is not None else None
    if stored is not None and cache is not None:
        if isinstance(stored.get("unusable"), str):  # asked twice already, by another writer
            raise DigestWriterError(stored["unusable"], Usage(), 0, cache.location(fingerprint))
        try:
            points = validate_points(json.dumps(stored.get("answer")), by_url, changes[0].url)
        except ValueError as exc:
            logger.warning("digest: stored digest %s unusable (%s)", fingerprint, exc)
        else:
            return fit(replace(digest, points=points, reused_from=cache.location(fingerprint)))
    usage, calls, failures, invalid = Usage(), 0, 0, 0
    while True:
        calls += 1
        try:
            text, spent = _call(config, request)
        except _Transient as exc:
            failures += 1
            if failures >= config.gemini_max_attempts:
                raise DigestWriterError(f"{failures} attempts failed, last: {exc}", usage,
                                        calls) from exc  # fmt: skip
            delay = backoff(failures, config.gemini_retry_base_delay)
            logger.info("digest: gemini %s; retry %d in %.1f s", exc, failures, delay)
            time.sleep(delay)
            continue
        except DigestWriterError as exc:
            raise DigestWriterError(exc.reason, usage, calls) from exc
        usage = Usage(usage.input_tokens + spent.input_tokens,
                      usage.output_tokens + spent.output_tokens)  # fmt: skip
        try:
            points = validate_points(text, by_url, changes[0].url)
        except ValueError as exc:
            invalid += 1
            if invalid > 1:
                reason = f"unusable answer: {exc}"
                if cache is not None:  # the same request would be asked twice more in vain
                    cache.put(fingerprint, _stored(config, usage, unusable=reason))
                raise DigestWriterError(reason, usage, calls) from exc
            logger.info("digest: answer rejected (%s); asking once more", exc)
            continue
        if cache is not None:
            cache.put(fingerprint, _stored(config, usage, answer=json.loads(text)))
        return fit(replace(digest, points=points, usage=usage, calls=calls))


def _stored(config: Config, usage: Usage, **verdict: Any) -> dict[str, Any]:
    """What the cache keeps of an answered request: the ``answer``, or why it was
    ``unusable`` (an outage is not stored: the next writer may find Gemini back)."""
    return {
        **verdict,
        "model": config.gemini_model,
        "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
    }


def _call(config: Config, request: DigestRequest) -> tuple[str, Usage]:
    import httpx2  # google-genai's transport; imported with the SDK, only when a key is set
    from google.genai import errors, types

    gemini = client(
        str(config.gemini_api_key),
        int(config.gemini_timeout * 1000),
        os.environ.get("GOOGLE_GEMINI_BASE_URL"),
    )
    settings = types.GenerateContentConfig(
        system_instruction=request.system_instruction,
        response_mime_type="application/json",
        response_json_schema=POINTS_SCHEMA,
        max_output_tokens=config.gemini_max_output_tokens,
    )
    contents = [types.Content(role="user", parts=[types.Part.from_text(text=request.text)])]
    try:
        response = gemini.models.generate_content(
            model=config.gemini_model, contents=contents, config=settings
        )
    except errors.APIError as exc:
        code = exc.code or 0
        if is_transient(code):
            raise _Transient(f"HTTP {code} {exc.status or ''}".strip()) from exc
        raise DigestWriterError(f"HTTP {code}: {exc.message}", Usage(), 0) from exc
    except httpx2.TransportError as exc:
        raise _Transient(f"{type(exc).__name__}: {exc}") from exc
    meta = response.usage_metadata
    spent = Usage(
        input_tokens=(meta.prompt_token_count or 0) if meta else 0,
        output_tokens=((meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0))
        if meta
        else 0,
    )
    return response.text or "", spent


def validate_points(
    text: str, changes: dict[str, RankedChange], top_url: str
) -> tuple[Point, ...]:
    """The model's points, checked against the schema and the changes we sent; raises
    ``ValueError`` saying what is wrong."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    try:
        answer: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    error = best_match(Draft202012Validator(POINTS_SCHEMA).iter_errors(answer))
    if error is not None:
        raise ValueError(f"does not match the schema: {error.message[:200]}")
    points = []
    for item in answer["points"]:
        url = item["url"].strip()
        change = changes.get(url)
        if change is None:
            raise ValueError(f"names a page that is not among the changes: {clip(url, 120)}")
        summary = clip(item["summary"], _SUMMARY_CHARS)
        if not summary:
            raise ValueError(f"an empty summary for {url}")
        points.append(Point(item["importance"], change.competitor, url, summary, change.kind))
    if not points:
        raise ValueError("no point, yet pages changed")
    if top_url not in {p.url for p in points}:
        raise ValueError(f"leaves out the most important change ({clip(top_url, 120)})")
    return tuple(sorted(points, key=lambda p: _ORDER[p.importance]))  # stable: model's order
