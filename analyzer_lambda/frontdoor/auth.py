"""Who is calling: a bearer API key, or the IAM principal the function URL authenticated.

Keys are never stored, only their SHA-256 digests (``RIVALSCOPE_API_KEY_HASHES``, or a Secrets
Manager secret in AWS): a leaked configuration or secret does not leak a usable key, and the
digest of a random 256-bit key cannot be reversed. The presented key is hashed and compared
with every stored digest by ``hmac.compare_digest``, whose time does not depend on where two
values differ, so response times tell an attacker nothing about a digest's prefix; every
digest is compared (no early return), so neither does the number of keys matched.

In ``iam`` mode the function URL (``AuthType: AWS_IAM``) has already checked the SigV4
signature and IAM policy before the function runs; the handler trusts the principal it is
given and refuses a request without one (infra/README.md)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from analyzer_lambda.frontdoor.http import ApiError, Request

_BEARER = "bearer "


def hash_key(key: str) -> str:
    """The stored form of an API key: its SHA-256 digest in hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh key: 32 random bytes, URL-safe (``make serve`` prints one when none is set)."""
    return "rs_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Caller:
    """``id`` keys the throttle: a key's digest prefix, or the IAM principal's ARN."""

    id: str
    kind: str  # "key" or "iam"


def matches(presented: str, digests: tuple[str, ...]) -> str | None:
    """The digest ``presented`` hashes to, if it is one of ``digests``; constant time in where
    the digests differ, and every digest is compared."""
    candidate = hash_key(presented).encode("ascii")
    found: str | None = None
    for digest in digests:
        if hmac.compare_digest(candidate, digest.encode("ascii")):
            found = digest
    return found


def authenticate(request: Request, *, mode: str, digests: tuple[str, ...]) -> Caller:
    """The caller, or ``ApiError`` 401 (no or wrong credentials). No anonymous access: with no
    digest configured every key is wrong."""
    if mode == "iam":
        if not request.identity:
            raise ApiError(
                401,
                "unauthenticated",
                "this API uses IAM auth: sign the request with SigV4 (service lambda)",
                headers={"www-authenticate": "AWS4-HMAC-SHA256"},
            )
        return Caller(request.identity, "iam")
    header = request.headers.get("authorization", "")
    challenge = {"www-authenticate": 'Bearer realm="rivalscope"'}
    if not header[: len(_BEARER)].lower() == _BEARER or not header[len(_BEARER) :].strip():
        raise ApiError(
            401,
            "unauthenticated",
            "missing API key: send the header 'Authorization: Bearer YOUR_KEY'",
            headers=challenge,
        )
    found = matches(header[len(_BEARER) :].strip(), digests)
    if found is None:
        raise ApiError(
            401,
            "bad_api_key",
            "the API key is not valid",
            headers={"www-authenticate": 'Bearer realm="rivalscope", error="invalid_token"'},
        )
    return Caller(f"key:{found[:12]}", "key")
