"""Secrets named by reference (SPEC.md: the template never holds one in plain text): one reader
for the Gemini key, the notification URLs and the Slack secrets, through Powertools' parameters
utility, which caches a value across warm invocations, so a rotated secret is picked up within
``max_age`` seconds and without a deploy.

A Secrets Manager secret holds the value itself, or JSON with the variable's name as its key
(what the console's key/value editor writes); an SSM parameter is a SecureString."""

from __future__ import annotations

import json

from analyzer_lambda.exceptions import ConfigurationError


def read_secret(
    name: str,
    *,
    secret_arn: str | None,
    max_age: int,
    parameter: str | None = None,
    what: str | None = None,
) -> str | None:
    """The value of ``name`` from the secret ``secret_arn`` or the SSM ``parameter`` (the
    secret first); None when neither is named. Anything unreadable, not JSON where JSON was
    meant, or empty is a ``ConfigurationError`` naming the variable that points at it."""
    from aws_lambda_powertools.utilities import parameters

    label = what or name
    if secret_arn:
        source = f"{name}_SECRET_ARN"
        try:
            text = str(parameters.get_secret(secret_arn, max_age=max_age))
        except parameters.exceptions.GetParameterError as exc:
            raise ConfigurationError(f"cannot read {label} from {source}: {exc}") from exc
        if text.lstrip().startswith("{"):
            try:
                text = str(json.loads(text).get(name) or "")
            except (ValueError, AttributeError) as exc:
                raise ConfigurationError(f"the secret of {source} is not JSON: {exc}") from exc
    elif parameter:
        source = f"{name}_PARAMETER"
        try:
            text = str(parameters.get_parameter(parameter, decrypt=True, max_age=max_age))
        except parameters.exceptions.GetParameterError as exc:
            raise ConfigurationError(f"cannot read {label} from {source}: {exc}") from exc
    else:
        return None
    if not text.strip():
        raise ConfigurationError(f"{label} read from {source} is empty")
    return text.strip()
