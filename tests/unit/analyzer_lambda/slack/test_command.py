"""``/rivalscope URL [URL...] [prompt text]``: what a user types becomes URLs and a prompt, or
an answer that says what to type instead."""

from __future__ import annotations

import pytest

from analyzer_lambda.slack.command import CommandError, parse_command


def test_urls_come_first_and_the_rest_is_the_prompt() -> None:
    parsed = parse_command(
        "https://a.example https://B.example/pricing what changed in their pricing?"
    )
    assert parsed.urls == ("https://a.example/", "https://b.example/pricing")
    assert parsed.prompt == "what changed in their pricing?"


def test_a_url_inside_the_prompt_stays_part_of_the_question() -> None:
    parsed = parse_command("https://a.example compare with https://b.example please")
    assert parsed.urls == ("https://a.example/",)
    assert parsed.prompt == "compare with https://b.example please"


def test_links_slack_escaped_are_unwrapped_in_urls_and_prompt() -> None:
    parsed = parse_command(
        "<https://a.example/plans|a.example/plans> <https://b.example> vs <https://c.example|c>"
    )
    assert parsed.urls == ("https://a.example/plans", "https://b.example/")
    assert parsed.prompt == "vs https://c.example"


def test_no_prompt_text_means_the_default_prompt_and_duplicates_are_crawled_once() -> None:
    parsed = parse_command("  https://a.example  https://a.example/ ")
    assert parsed.urls == ("https://a.example/",)
    assert parsed.prompt is None


def test_line_breaks_of_the_prompt_are_kept() -> None:
    parsed = parse_command("https://a.example list:\n- plans\n- prices")
    assert parsed.prompt == "list:\n- plans\n- prices"


@pytest.mark.parametrize("text", ["", "   ", "what changed in their pricing?"])
def test_no_url_is_an_error_with_the_usage(text: str) -> None:
    with pytest.raises(CommandError, match="No URL given") as caught:
        parse_command(text)
    assert "/rivalscope URL [URL...] [prompt text]" in str(caught.value)


def test_a_bare_host_is_answered_with_the_full_address_to_write() -> None:
    with pytest.raises(CommandError, match=r"`acme\.example/pricing` is not a full address"):
        parse_command("acme.example/pricing what do they charge?")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ftp://files.example/x.txt", "only http:// and https://"),
        ("https://user:pw@a.example/", "carries credentials"),
        ("https://a.example:99999/", "Port out of range"),
        ("https:///nohost", "no valid host"),
    ],
)
def test_a_bad_url_is_named_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(CommandError, match="Bad URL") as caught:
        parse_command(f"https://ok.example {text} the prompt")
    assert reason in str(caught.value)


def test_the_error_cannot_ping_the_channel_or_break_out_of_its_code_span() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("https://x.example:99999/`<!channel>`")
    message = str(caught.value)
    assert "<!channel>" not in message
    assert "Bad URL `https://x.example:99999/'&lt;!channel&gt;'`:" in message


def test_too_many_urls_is_refused_with_the_limit() -> None:
    text = " ".join(f"https://s{i}.example" for i in range(4))
    with pytest.raises(CommandError, match="4 given, at most 3"):
        parse_command(text, max_urls=3)
