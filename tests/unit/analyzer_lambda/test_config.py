from __future__ import annotations

from pathlib import Path

import pytest

from analyzer_lambda.config import DEFAULT_MODEL, Config
from analyzer_lambda.exceptions import ConfigurationError


def test_defaults() -> None:
    config = Config.from_env({})
    assert config.gemini_model == DEFAULT_MODEL
    assert config.concurrency == 4
    assert config.claim_ttl == 900


def test_environment_is_read_and_explicit_arguments_win() -> None:
    env = {"ANALYZER_CONCURRENCY": "8", "GEMINI_MODEL": "m1", "ANALYZER_WORK_DIR": "/w"}
    config = Config.from_env(env, concurrency=2)
    assert (config.concurrency, config.gemini_model, config.work_dir) == (2, "m1", Path("/w"))


@pytest.mark.parametrize(
    ("env", "name"),
    [({"ANALYZER_CONCURRENCY": "x"}, "ANALYZER_CONCURRENCY"), ({"CLAIM_TTL": "0"}, "CLAIM_TTL")],
)
def test_bad_values_name_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Config.from_env(env)


def test_analyzer_defaults_to_gemini_only_when_a_key_can_be_had() -> None:
    assert Config.from_env({"GEMINI_API_KEY": "k"}).analyzer_name == "gemini"
    assert Config.from_env({"GEMINI_API_KEY_SECRET_ARN": "arn:x"}).analyzer_name == "gemini"
    assert Config.from_env({"ANALYZER": "extract"}).analyzer_name == "extract"
    with pytest.raises(ConfigurationError, match="ANALYZER=extract"):
        _ = Config.from_env({}).analyzer_name


def test_key_is_not_in_the_repr() -> None:
    assert "secret-value" not in repr(Config.from_env({"GEMINI_API_KEY": "secret-value"}))


def test_reuse_of_unchanged_pages_is_on_unless_turned_off() -> None:
    assert Config.from_env({}).reuse
    assert not Config.from_env({"ANALYZER_REUSE": "false"}).reuse
    assert Config.from_env({"ANALYZER_REUSE": "TRUE"}).reuse
    assert not Config.from_env({"ANALYZER_REUSE": "true"}, reuse=False).reuse  # --fresh wins
    with pytest.raises(ConfigurationError, match="ANALYZER_REUSE='maybe' must be true or false"):
        Config.from_env({"ANALYZER_REUSE": "maybe"})


def test_digest_language_is_a_bcp47_tag_defaulting_to_english() -> None:
    assert Config.from_env({}).digest_language == "en"
    assert Config.from_env({"DIGEST_LANGUAGE": "ja"}).digest_language == "ja"
    assert Config.from_env({"DIGEST_LANGUAGE": "zh-Hant-TW"}).digest_language == "zh-Hant-TW"
    with pytest.raises(ConfigurationError, match="did you mean 'en-US'"):
        Config.from_env({"DIGEST_LANGUAGE": "en_US"})
    with pytest.raises(ConfigurationError, match="DIGEST_LANGUAGE='English' is not a BCP 47"):
        Config.from_env({"DIGEST_LANGUAGE": "English"})
