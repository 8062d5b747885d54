"""The Slack secrets: the variable itself (local runs, tests), else the Secrets Manager secret
its ``*_SECRET_ARN`` names (AWS), read through Powertools' parameters utility, which caches
it for five minutes across warm invocations (a rotated secret is picked up without a deploy).
A secret holds the value itself or JSON with the variable's name as its key."""

from __future__ import annotations

import json

from analyzer_lambda.exceptions import ConfigurationError

_MAX_AGE = 300


def resolve_secret(value: str | None, secret_arn: str | None, name: str) -> str:
    """The secret's value; ``ConfigurationError`` naming ``name`` when there is none."""
    if value:
        return value
    if not secret_arn:
        raise ConfigurationError(
            f"set {name} (in AWS: {name}_SECRET_ARN, a Secrets Manager secret)"
        )
    from aws_lambda_powertools.utilities import parameters

    try:
        text = str(parameters.get_secret(secret_arn, max_age=_MAX_AGE))
    except parameters.exceptions.GetParameterError as exc:
        raise ConfigurationError(f"cannot read {name} from {name}_SECRET_ARN: {exc}") from exc
    if text.lstrip().startswith("{"):
        try:
            text = str(json.loads(text).get(name) or "")
        except ValueError as exc:
            raise ConfigurationError(
                f"the secret of {name}_SECRET_ARN is not JSON: {exc}"
            ) from exc
    if not text.strip():
        raise ConfigurationError(f"the secret of {name}_SECRET_ARN is empty")
    return text.strip()
