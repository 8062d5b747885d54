"""The front door's settings, read once from the environment into a frozen ``ApiConfig``.

Apart from ``analyzer_lambda.config`` because only the front door's two entry points (the
function URL's handler, ``make serve``) read them, and the analyser's ``Config`` is compared on
every invocation to decide whether its clients must be rebuilt. The helpers that parse and
reject values are the same, so a bad value names its variable the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from analyzer_lambda.config import PAGES_BUCKET, _number, _text
from analyzer_lambda.exceptions import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Mapping

API_AUTH = "RIVALSCOPE_API_AUTH"  # "key" (bearer API key, the default) or "iam" (SigV4)
API_KEY_HASHES = "RIVALSCOPE_API_KEY_HASHES"  # SHA-256 hex digests, comma-separated
API_KEYS_SECRET_ARN = "RIVALSCOPE_API_KEYS_SECRET_ARN"  # noqa: S105 - a variable name
API_MAX_URLS = "RIVALSCOPE_API_MAX_URLS"
API_MAX_PAGES = "RIVALSCOPE_API_MAX_PAGES"  # the largest max_pages a request may ask for
API_RATE = "RIVALSCOPE_API_RATE"  # requests per minute per key
API_BURST = "RIVALSCOPE_API_BURST"  # requests a key may make at once before the rate applies
API_URL_EXPIRES = "RIVALSCOPE_API_URL_EXPIRES"  # seconds presigned URLs live
API_MAX_BODY = "RIVALSCOPE_API_MAX_BODY"  # bytes of a request body
CRAWL_STATE_MACHINE_ARN = "CRAWL_STATE_MACHINE_ARN"
ALLOW_PRIVATE_ADDRESSES = "ALLOW_PRIVATE_ADDRESSES"  # the crawl's guard, applied to requests

MAX_URL_EXPIRES = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live
AUTH_MODES = ("key", "iam")
#: reads (polling a run) may come this many times as often as starts, with 5 x the burst
READ_RATE_FACTOR_DEFAULT = 20


@dataclass(frozen=True)
class ApiConfig:
    pages_bucket: str | None = None
    auth: str = "key"
    key_hashes: tuple[str, ...] = ()
    keys_secret_arn: str | None = None
    max_urls: int = 20
    max_pages: int = 20
    rate_per_minute: float = 30.0
    burst: int = 10
    url_expires: int = 3600
    max_body: int = 64 * 1024
    state_machine_arn: str | None = None
    allow_private: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ApiConfig:
        auth = (_text(environ, API_AUTH) or "key").lower()
        if auth not in AUTH_MODES:
            raise ConfigurationError(f"{API_AUTH}={auth!r} must be one of {', '.join(AUTH_MODES)}")
        hashes = tuple(
            h.strip().lower()
            for h in (_text(environ, API_KEY_HASHES) or "").split(",")
            if h.strip()
        )
        for number, digest in enumerate(hashes, 1):
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                # the value is not echoed: it may be a key put there by mistake
                raise ConfigurationError(
                    f"{API_KEY_HASHES}: entry {number} is not a SHA-256 hex digest (64 hex "
                    "digits): store the hash of each key, never the key"
                )
        expires = int(_number(environ, API_URL_EXPIRES, 3600, minimum=1))
        if expires > MAX_URL_EXPIRES:
            raise ConfigurationError(
                f"{API_URL_EXPIRES}={expires} is over {MAX_URL_EXPIRES} s: presigned URLs live "
                "at most 7 days"
            )
        allow = _text(environ, ALLOW_PRIVATE_ADDRESSES) or ""
        return cls(
            pages_bucket=_text(environ, PAGES_BUCKET),
            auth=auth,
            key_hashes=hashes,
            keys_secret_arn=_text(environ, API_KEYS_SECRET_ARN),
            max_urls=int(_number(environ, API_MAX_URLS, 20, minimum=1)),
            max_pages=int(_number(environ, API_MAX_PAGES, 20, minimum=1)),
            rate_per_minute=_number(environ, API_RATE, 30.0, minimum=0.01),
            burst=int(_number(environ, API_BURST, 10, minimum=1)),
            url_expires=expires,
            max_body=int(_number(environ, API_MAX_BODY, 64 * 1024, minimum=1024)),
            state_machine_arn=_text(environ, CRAWL_STATE_MACHINE_ARN),
            allow_private=tuple(a.strip() for a in allow.split(",") if a.strip()),
        )

    def require_bucket(self) -> str:
        if not self.pages_bucket:
            raise ConfigurationError(f"{PAGES_BUCKET} is not set: the bucket runs are stored in")
        return self.pages_bucket
