"""The Slack settings in ``analyzer_lambda.config``: read once, secrets never shown, bad values
named, and the secrets' own rule (the value, else its Secrets Manager secret)."""

from __future__ import annotations

import pytest

from analyzer_lambda.config import DEFAULT_SLACK_API_URL, Config, SlackConfig
from analyzer_lambda.exceptions import ConfigurationError
from analyzer_lambda.slack.secrets import resolve_secret


def test_defaults_post_nothing_and_use_slacks_web_api() -> None:
    slack = Config.from_env({}).slack
    assert slack == SlackConfig()
    assert slack.api_url == DEFAULT_SLACK_API_URL == "https://slack.com/api/"
    assert not slack.posts_answers
    assert slack.max_pages == 10


def test_the_environment_is_read_and_the_api_url_gets_its_trailing_slash() -> None:
    slack = SlackConfig.from_env(
        {
            "SLACK_SIGNING_SECRET": "s3cr3t",
            "SLACK_BOT_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:bot",
            "SLACK_API_URL": "http://127.0.0.1:9000/api",
            "SLACK_MAX_PAGES": "3",
        }
    )
    assert slack.api_url == "http://127.0.0.1:9000/api/"  # slack_sdk appends method names
    assert (slack.signing_secret, slack.max_pages, slack.posts_answers) == ("s3cr3t", 3, True)
    assert "s3cr3t" not in repr(slack)


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
        ({"SLACK_MAX_PAGES": "0"}, "SLACK_MAX_PAGES"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Config.from_env(env)


def test_a_secret_given_directly_wins_and_none_at_all_says_what_to_set() -> None:
    assert resolve_secret("direct", "arn:never-read", "SLACK_BOT_TOKEN") == "direct"
    with pytest.raises(ConfigurationError, match="SLACK_BOT_TOKEN_SECRET_ARN"):
        resolve_secret(None, None, "SLACK_BOT_TOKEN")
