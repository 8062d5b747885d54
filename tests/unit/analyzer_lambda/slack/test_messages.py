"""What the channel reads: the acknowledgement, the run's header and one message per page, with
untrusted page and model text shown, never interpreted."""

from __future__ import annotations

import json

from analyzer_lambda.slack.command import parse_command
from analyzer_lambda.slack.messages import (
    PageAnswer,
    ack_text,
    cannot_post_text,
    header_message,
    image_title,
    page_message,
)
from analyzer_lambda.slack.mrkdwn import link

REPORT = (
    "https://bucket.s3.amazonaws.com/reports/x/report.html?X-Amz-Signature=abc&X-Amz-Expires=60"
)


def _answer(**fields: object) -> PageAnswer:
    values: dict[str, object] = {
        "url": "https://a.example/pricing",
        "final_url": "https://a.example/pricing",
        "competitor": "Acme",
        "analysis": {
            "offering": "Analytics for teams",
            "pricing": [{"plan": "Pro", "price": "49", "currency": "USD", "period": "month"}],
            "notable_claims": [],
            "summary": "Acme sells analytics; Pro costs 49 USD a month.",
        },
        "error": None,
    }
    values.update(fields)
    return PageAnswer(**values)  # type: ignore[arg-type]


def test_the_acknowledgement_counts_the_pages_and_repeats_the_question() -> None:
    text = ack_text(parse_command("https://a.example https://b.example what changed in pricing?"))
    assert text.startswith("Crawling 2 pages…")
    assert "`https://a.example/`" in text
    assert "“what changed in pricing?”" in text
    assert "posted here when the run is done" in text


def test_a_page_message_leads_with_the_summary_then_the_other_fields() -> None:
    message = page_message(_answer(), REPORT)
    blocks = message["blocks"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Acme"}}
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert sections[0] == "Acme sells analytics; Pro costs 49 USD a month."
    assert "*Offering*: Analytics for teams" in sections
    assert "*Pricing*: \n• plan: Pro, price: 49, currency: USD, period: month" in sections
    assert not any("Notable claims" in s for s in sections)  # empty fields are left out
    assert message["text"].startswith("https://a.example/pricing: Acme sells analytics")
    assert REPORT in json.dumps(blocks)


def test_page_and_model_text_cannot_mention_the_channel_or_plant_a_link() -> None:
    hostile = _answer(
        competitor=None,
        analysis={"summary": "<!channel> buy now <https://evil.example|your bank> & more"},
    )
    text = json.dumps(page_message(hostile, REPORT))
    assert "<!channel>" not in text
    assert "<https://evil.example" not in text
    assert "&lt;!channel&gt; buy now &lt;https://evil.example|your bank&gt; &amp; more" in text


def test_a_failed_or_blocked_page_shows_its_error_instead_of_an_analysis() -> None:
    blocked = _answer(
        analysis=None, error={"type": "blocked_by_site", "message": "Cloudflare challenge"}
    )
    assert blocked.status == "blocked"
    sections = [b for b in page_message(blocked, REPORT)["blocks"] if b["type"] == "section"]
    assert "bot check instead of the page" in sections[0]["text"]["text"]
    assert "Cloudflare challenge" in sections[0]["text"]["text"]


def test_long_answers_stay_within_slack_limits() -> None:
    huge = _answer(analysis={f"field_{i}": "x" * 5000 for i in range(80)}, competitor="C" * 400)
    blocks = page_message(huge, REPORT)["blocks"]
    assert len(blocks) <= 50
    assert len(blocks[0]["text"]["text"]) <= 150
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")


def test_the_header_tallies_the_run_and_links_the_full_report() -> None:
    pages = [_answer(), _answer(analysis=None, error={"type": "timeout", "message": "slow"})]
    text = header_message("/rivalscope https://a.example", pages, REPORT, shown=2)["text"]
    assert "2 pages (1 done, 1 failed)" in text
    assert f"<{REPORT}|Full report>" in text
    more = header_message("/rivalscope x", pages, REPORT, shown=1)["text"]
    assert "The first 1 are below." in more


def test_links_only_for_web_addresses() -> None:
    assert link("javascript:alert(1)", "click") == "click"
    assert link("https://a.example/x", "a|b<c>") == "<https://a.example/x|a¦b&lt;c&gt;>"


def test_image_titles_say_whether_the_image_is_the_change() -> None:
    assert image_title(_answer()) == "Screenshot of https://a.example/pricing"
    assert image_title(_answer(image_is_crop=True)).startswith("What changed on ")


def test_when_the_bot_may_not_post_the_user_is_told_how_to_fix_it() -> None:
    text = cannot_post_text("not_in_channel", REPORT)
    assert "`/invite @rivalscope`" in text
    assert f"<{REPORT}|Full report>" in text
