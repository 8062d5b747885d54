from __future__ import annotations

import pytest

from rivalscope_core.urls import BadUrlError, parse_url_list


def test_commas_whitespace_comments_and_duplicates() -> None:
    text = "https://A.example/pricing, https://b.example\n# a comment\nhttps://a.example/pricing"
    assert parse_url_list(text) == ["https://a.example/pricing", "https://b.example/"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no URL given"),
        ("  # only a comment", "no URL given"),
        ("ftp://a.example/", "only http:// and https://"),
        ("a.example/pricing", "needs a scheme"),
        ("https://", "no valid host"),
        ("http://a.example:99999/", "malformed"),
        ("https://user:pw@a.example/", "credentials"),
    ],
)
def test_bad_input_gets_a_message_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(BadUrlError, match=message):
        parse_url_list(text)
