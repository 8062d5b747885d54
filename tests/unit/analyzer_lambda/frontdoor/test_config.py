"""The front door's settings: defaults, and a bad value naming its variable."""

from __future__ import annotations

import pytest

from analyzer_lambda.exceptions import ConfigurationError
from analyzer_lambda.frontdoor.auth import hash_key
from analyzer_lambda.frontdoor.config import ApiConfig


def test_defaults_need_a_key_and_keep_presigned_urls_an_hour() -> None:
    config = ApiConfig.from_env({})
    assert (config.auth, config.key_hashes, config.url_expires) == ("key", (), 3600)
    assert (config.max_urls, config.max_pages, config.rate_per_minute) == (20, 20, 30.0)


def test_values_are_read_and_digests_lower_cased() -> None:
    digest = hash_key("k").upper()
    config = ApiConfig.from_env({
        "RIVALSCOPE_API_KEY_HASHES": f" {digest} ,", "RIVALSCOPE_API_URL_EXPIRES": "604800",
        "RIVALSCOPE_API_AUTH": "IAM", "ALLOW_PRIVATE_ADDRESSES": "10.0.0.0/8, wiki.corp:443",
    })  # fmt: skip
    assert config.key_hashes == (digest.lower(),)
    assert (config.auth, config.url_expires) == ("iam", 604800)
    assert config.allow_private == ("10.0.0.0/8", "wiki.corp:443")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RIVALSCOPE_API_URL_EXPIRES", "604801", "at most 7 days"),
        ("RIVALSCOPE_API_KEY_HASHES", "my-plain-key", "never the key"),
        ("RIVALSCOPE_API_AUTH", "none", "must be one of key, iam"),
        ("RIVALSCOPE_API_RATE", "fast", "is not a number"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        ApiConfig.from_env({name: value})
    assert name in str(info.value)
    assert "my-plain" not in str(info.value)  # a key put there by mistake is not echoed
