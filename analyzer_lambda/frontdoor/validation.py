"""``POST /runs`` bodies checked into a ``RunRequest``, or an ``ApiError`` (400) whose message
says what to fix and whose details name each bad value. Pure but for the two look-ups passed
in: the private-address policy (name resolution) and whether a prompt NAME exists.

``prompt`` is a NAME (``pricing``: ``prompts/pricing.md`` in the bucket, which must exist) when
it is one word of ``[A-Za-z0-9._-]``; anything else is prompt text (a Markdown prompt file, front
matter allowed), stored by the caller under a name made of its hash. A one-word text is taken
for a NAME on purpose: a mistyped name must be an error, not a prompt that says "pricng"."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from analyzer_lambda.frontdoor.http import ApiError
from analyzer_lambda.prompts.parser import PromptError, parse_prompt
from rivalscope_core.addresses import AddressBlockedError, AddressLookupError
from rivalscope_core.urls import BadUrlError, normalize_url
from rivalscope_core.watchlist import WatchList, WatchListError, parse_watchlist

if TYPE_CHECKING:
    from collections.abc import Callable

    from rivalscope_core.addresses import AddressPolicy

FIELDS = ("urls", "prompt", "max_pages", "watchlist")
PROMPT_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
MAX_PROMPT_CHARS = 20_000


@dataclass(frozen=True)
class Limits:
    max_urls: int
    max_pages: int
    max_body: int


@dataclass(frozen=True)
class RunRequest:
    urls: tuple[str, ...]  # the URLs given in "urls" (normalised), besides the watch list's
    prompt_name: str | None  # a NAME under prompts/ ...
    prompt_text: str | None  # ... or the text of an ad-hoc prompt
    max_pages: int
    watchlist: WatchList | None = None

    @property
    def all_urls(self) -> list[str]:
        listed = self.watchlist.urls if self.watchlist is not None else []
        return list(dict.fromkeys([*listed, *self.urls]))


def parse_run_request(
    body: bytes,
    limits: Limits,
    policy: AddressPolicy,
    prompt_exists: Callable[[str], bool],
    rewrite_url: Callable[[str], str] | None = None,
) -> RunRequest:
    """``rewrite_url`` maps a URL before it is checked (``make serve``: a demo host such as
    ``http://acme.demo/`` to the loopback address it is served on)."""
    if len(body) > limits.max_body:
        raise ApiError(413, "body_too_large", f"the body is over {limits.max_body} bytes")
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(
            400, "bad_request", 'send a JSON object: {"urls": [...], "prompt": "...", ...}'
        )
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ApiError(
            400,
            "unknown_field",
            f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(FIELDS)}",
            fields=unknown,
        )
    rewrite = rewrite_url or (lambda url: url)
    watchlist = _watchlist(data.get("watchlist"), rewrite, prompt_exists)
    urls = _urls(data.get("urls"), rewrite, required=watchlist is None)
    request = RunRequest(
        urls=tuple(u for u in urls if watchlist is None or watchlist.competitor_of(u) is None),
        prompt_name=None,
        prompt_text=None,
        max_pages=_max_pages(data.get("max_pages", 1), limits.max_pages),
        watchlist=watchlist,
    )
    every = request.all_urls
    if len(every) > limits.max_urls:
        raise ApiError(
            400,
            "too_many_urls",
            f"{len(every)} URLs: a run takes at most {limits.max_urls} (RIVALSCOPE_API_MAX_URLS)",
            limit=limits.max_urls,
        )
    _check_addresses(every, policy)
    name, text = _prompt(data.get("prompt"), prompt_exists)
    return RunRequest(request.urls, name, text, request.max_pages, watchlist)


def _urls(value: Any, rewrite: Callable[[str], str], *, required: bool) -> list[str]:
    if value is None and not required:
        return []
    if not isinstance(value, list) or (not value and required):
        raise ApiError(
            400, "no_urls", '"urls" must be a non-empty list of http(s) URLs', field="urls"
        )
    problems: list[dict[str, str]] = []
    urls: list[str] = []
    for item in value:
        if not isinstance(item, str):
            problems.append({"url": json.dumps(item), "problem": "not a string"})
            continue
        try:
            urls.append(normalize_url(rewrite(item.strip())))
        except BadUrlError as exc:
            problems.append({"url": item, "problem": str(exc)})
    if problems:
        raise ApiError(
            400,
            "bad_urls",
            f"{len(problems)} URL(s) cannot be crawled: {problems[0]['problem']}",
            urls=problems,
        )
    return list(dict.fromkeys(urls))


def _check_addresses(urls: list[str], policy: AddressPolicy) -> None:
    """Each host once: the crawl would refuse these anyway, as a ``blocked_address`` page."""
    problems: list[dict[str, str]] = []
    seen: set[tuple[str, int]] = set()
    for url in urls:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if (host, port) in seen:
            continue
        seen.add((host, port))
        try:
            policy.check_all(host, port, url=url)
        except AddressBlockedError as exc:
            problems.append({"url": url, "problem": str(exc), "type": "blocked_address"})
        except AddressLookupError as exc:
            problems.append({"url": url, "problem": str(exc), "type": "dns"})
    if problems:
        blocked = any(p["type"] == "blocked_address" for p in problems)
        raise ApiError(
            400,
            "blocked_address" if blocked else "unresolvable_host",
            f"{len(problems)} URL(s) refused: {problems[0]['problem']}",
            urls=problems,
        )


def _max_pages(value: Any, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise ApiError(
            400,
            "max_pages_out_of_range",
            f'"max_pages" must be a whole number from 1 to {most} (pages per site), '
            f"got {json.dumps(value)}",
            field="max_pages",
            minimum=1,
            maximum=most,
        )
    return value


def _prompt(value: Any, prompt_exists: Callable[[str], bool]) -> tuple[str | None, str | None]:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(
            400,
            "empty_prompt",
            '"prompt" must be prompt text or the NAME of a prompt under prompts/',
            field="prompt",
        )
    text = value.strip()
    if PROMPT_NAME.match(text):
        if not prompt_exists(text):
            raise ApiError(
                400,
                "unknown_prompt",
                f"there is no prompt named {text!r} (prompts/{text}.md); give a NAME that "
                "exists, or a sentence of prompt text",
                field="prompt",
            )
        return text, None
    if len(text) > MAX_PROMPT_CHARS:
        raise ApiError(400, "prompt_too_long", f"the prompt is over {MAX_PROMPT_CHARS} characters")
    try:
        parse_prompt(text, source="request", fallback_name="adhoc")
    except PromptError as exc:
        raise ApiError(400, "bad_prompt", str(exc), field="prompt") from None
    # stored as a text file: the text, one final newline (a prompt file saved by an editor,
    # the bundled one included, has the same bytes, hence the same prompt id)
    return None, text + "\n"


def _watchlist(
    value: Any, rewrite: Callable[[str], str], prompt_exists: Callable[[str], bool]
) -> WatchList | None:
    """A watch list as JSON (the YAML file's shape). A competitor's prompt must be a NAME under
    prompts/: the crawl and the analyser run elsewhere and cannot read a path of the caller's."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(
            400, "bad_watchlist", '"watchlist" must be an object: {"competitors": [...]}'
        )
    try:
        parsed = parse_watchlist(json.dumps(value), "(request)")
        competitors = []
        for index, competitor in enumerate(parsed.competitors):
            prompt = competitor.prompt
            if prompt is not None and not (PROMPT_NAME.match(prompt) and prompt_exists(prompt)):
                raise WatchListError(
                    f'watchlist (request): competitors[{index}] "{competitor.name}": prompt: '
                    f"{prompt!r} is not the NAME of a prompt under prompts/"
                )
            urls = tuple(normalize_url(rewrite(url)) for url in competitor.urls)
            competitors.append(dataclasses.replace(competitor, urls=urls))
        return WatchList(parsed.source, tuple(competitors), parsed.unnamed_urls)
    except (WatchListError, BadUrlError) as exc:
        raise ApiError(400, "bad_watchlist", str(exc), field="watchlist") from None
