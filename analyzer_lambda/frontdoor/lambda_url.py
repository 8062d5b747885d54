"""The front door in AWS: ``analyzer_lambda.frontdoor.lambda_url.lambda_handler``, a function of
the analyser image (its ``ImageConfig`` command) behind a Lambda function URL.

It only validates, stores the request and starts the crawl state machine; it never crawls.
The function URL event (payload format 2.0) becomes a ``Request``; the ``Response`` becomes the
function URL's answer. With ``AuthType: AWS_IAM`` Lambda has verified the SigV4 signature and
the caller's ``lambda:InvokeFunctionUrl`` permission before this runs, and the caller's ARN is
in ``requestContext.authorizer.iam``: ``RIVALSCOPE_API_AUTH=iam`` trusts it. Otherwise
(``AuthType: NONE``) every request must carry a bearer key whose SHA-256 digest is in the
secret ``RIVALSCOPE_API_KEYS_SECRET_ARN`` (read through Powertools, cached 5 minutes, so a
rotated key takes effect within that) or in ``RIVALSCOPE_API_KEY_HASHES``.

Built once per container (the clients, the throttle's buckets), on the first request."""

from __future__ import annotations

import base64
import json
import os
import threading
from typing import TYPE_CHECKING, Any

from analyzer_lambda.exceptions import ConfigurationError
from analyzer_lambda.frontdoor.app import FrontDoor, mount_slack
from analyzer_lambda.frontdoor.config import READ_RATE_FACTOR_DEFAULT, ApiConfig
from analyzer_lambda.frontdoor.http import Request, Response
from analyzer_lambda.frontdoor.throttle import Throttle

if TYPE_CHECKING:
    from collections.abc import Callable

_lock = threading.Lock()
_front: FrontDoor | None = None
SECRET_MAX_AGE = 300


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return to_url_response(front_door().handle(from_url_event(event)))


def from_url_event(event: dict[str, Any]) -> Request:
    http = event.get("requestContext", {}).get("http", {})
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    iam = (event.get("requestContext", {}).get("authorizer") or {}).get("iam") or {}
    return Request(
        method=str(http.get("method", "GET")),
        path=str(event.get("rawPath") or http.get("path") or "/"),
        headers=Request.lower(dict(event.get("headers") or {})),
        body=raw,
        query=dict(event.get("queryStringParameters") or {}),
        identity=iam.get("userArn") or None,
    )


def to_url_response(response: Response) -> dict[str, Any]:
    try:
        text, encoded = response.body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(response.body).decode("ascii"), True
    return {
        "statusCode": response.status,
        "headers": response.headers,
        "body": text,
        "isBase64Encoded": encoded,
    }


def front_door() -> FrontDoor:
    global _front
    with _lock:
        if _front is None:
            _front = build(ApiConfig.from_env(os.environ))
        return _front


def build(config: ApiConfig) -> FrontDoor:
    import boto3

    from analyzer_lambda.deps import shared_s3_client
    from analyzer_lambda.frontdoor.launch import StepFunctionsLauncher
    from analyzer_lambda.frontdoor.store import FrontStore
    from rivalscope_core.addresses import AddressPolicy

    if not config.state_machine_arn:
        raise ConfigurationError("CRAWL_STATE_MACHINE_ARN is not set: the state machine to start")
    front = FrontDoor(
        config=config,
        store=FrontStore(shared_s3_client(), config.require_bucket()),
        launcher=StepFunctionsLauncher(boto3.client("stepfunctions"), config.state_machine_arn),
        policy=AddressPolicy.from_entries(config.allow_private),
        digests=key_digests(config),
        starts=Throttle(config.rate_per_minute, config.burst),
        reads=Throttle(config.rate_per_minute * READ_RATE_FACTOR_DEFAULT, config.burst * 5),
    )
    return mount_slack(front)


def key_digests(config: ApiConfig) -> Callable[[], tuple[str, ...]]:
    """The stored key digests: the environment's, plus the secret's (a JSON list of hex
    digests, ``{"sha256": [...]}``, or comma-separated digests), re-read every 5 minutes."""
    if not config.keys_secret_arn:
        return lambda: config.key_hashes
    arn = config.keys_secret_arn

    def read() -> tuple[str, ...]:
        from aws_lambda_powertools.utilities import parameters

        value = str(parameters.get_secret(arn, max_age=SECRET_MAX_AGE) or "")
        return config.key_hashes + parse_digests(value)

    return read


def parse_digests(value: str) -> tuple[str, ...]:
    text = value.strip()
    if text.startswith(("[", "{")):
        data = json.loads(text)
        items = data.get("sha256", []) if isinstance(data, dict) else data
        return tuple(str(item).strip().lower() for item in items if str(item).strip())
    return tuple(part.strip().lower() for part in text.split(",") if part.strip())
