"""The Slack secrets read by reference from Secrets Manager (moto's, through
``AWS_ENDPOINT_URL``), as in AWS: the value itself or JSON with the variable's name; an empty
secret is a configuration error naming the variable."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import boto3
import pytest

from analyzer_lambda.exceptions import ConfigurationError
from analyzer_lambda.slack.secrets import resolve_secret

if TYPE_CHECKING:
    from tests.servers.moto import MotoServer

pytestmark = pytest.mark.integration


def _secret(moto_server: MotoServer, value: str) -> str:
    client = boto3.client("secretsmanager", endpoint_url=moto_server.endpoint)
    return client.create_secret(Name=f"slack-{uuid.uuid4().hex[:8]}", SecretString=value)["ARN"]


def test_plain_and_json_secrets_are_read_and_an_empty_one_is_refused(
    moto_server: MotoServer,
) -> None:
    plain = _secret(moto_server, "xoxb-plain\n")
    assert resolve_secret(None, plain, "SLACK_BOT_TOKEN") == "xoxb-plain"
    as_json = _secret(moto_server, json.dumps({"SLACK_SIGNING_SECRET": "abc123"}))
    assert resolve_secret(None, as_json, "SLACK_SIGNING_SECRET") == "abc123"
    empty = _secret(moto_server, json.dumps({"OTHER": "x"}))
    with pytest.raises(ConfigurationError, match="SLACK_BOT_TOKEN_SECRET_ARN is empty"):
        resolve_secret(None, empty, "SLACK_BOT_TOKEN")
    with pytest.raises(ConfigurationError, match="cannot read SLACK_BOT_TOKEN"):
        resolve_secret(None, plain + "-gone", "SLACK_BOT_TOKEN")
