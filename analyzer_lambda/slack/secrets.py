"""The Slack secrets: the variable itself (local runs, tests), else the Secrets Manager secret
its ``*_SECRET_ARN`` names (AWS), read through Powertools' parameters utility, which caches
it for five minutes across warm invocations (a rotated secret is picked up without a deploy).
A secret holds the value itself or JSON with the variable's name as its key."""

from __future__ import annotations

from analyzer_lambda.exceptions import ConfigurationError
from analyzer_lambda.secrets import read_secret

_MAX_AGE = 300


def resolve_secret(value: str | None, secret_arn: str | None, name: str) -> str:
    """The secret's value; ``ConfigurationError`` naming ``name`` when there is none."""
    if value:
        return value
    found = read_secret(name, secret_arn=secret_arn, max_age=_MAX_AGE)
    if found is None:
        raise ConfigurationError(
            f"set {name} (in AWS: {name}_SECRET_ARN, a Secrets Manager secret)"
        )
    return found
