"""Small pages for the signals a competitor's page gives away: technologies, language,
calls to action and contacts, one case each."""

from __future__ import annotations

from typing import Any

import pytest

from analyzer_lambda.extraction import extract_facts
from analyzer_lambda.extraction.text import guess_language, normalise_lang, word_count


def _facts(head: str = "", body: str = "", html_attrs: str = "") -> dict[str, Any]:
    page = f"<html {html_attrs}><head>{head}</head><body>{body}</body></html>"
    return extract_facts(page, "https://site.example/")


@pytest.mark.parametrize(
    ("head", "body", "expected"),
    [
        ("", '<div id="__nuxt"></div><script>window.__NUXT__={}</script>', {"Nuxt", "Vue"}),
        ("", '<div id="___gatsby"></div>', {"Gatsby", "React"}),
        ('<script src="https://cdn.shopify.com/s/x.js"></script>', "", {"Shopify"}),
        ('<script src="https://widget.intercom.io/widget/abc"></script>', "", {"Intercom"}),
        (("<script>!function(){analytics.load('k')}();</script>"
         '<script src="https://cdn.segment.com/analytics.js/v1/k/analytics.min.js"></script>'),
         "", {"Segment"}),
        ('<script src="https://static.hotjar.com/c/hotjar-1.js"></script>', "", {"Hotjar"}),
        ('<script src="/cdn-cgi/scripts/email-decode.min.js"></script>', "", {"Cloudflare"}),
        (('<link rel="stylesheet" href="/css/bootstrap.min.css">'
         '<script src="/js/jquery-3.7.1.min.js"></script>'), "", {"Bootstrap", "jQuery"}),
        ('<meta name="generator" content="Hugo 0.121.0">', "", {"Hugo 0.121.0"}),
        ("", '<div data-v-7ba5bd90 class="x"></div>', {"Vue"}),
    ],
)  # fmt: skip
def test_technologies(head: str, body: str, expected: set[str]) -> None:
    assert set(_facts(head, body)["technologies"]) == expected


def test_few_utility_classes_are_not_tailwind() -> None:
    body = '<div class="mt-4 px-2 text-center">a</div><p class="md:flex">b</p>'
    assert _facts(body=body)["technologies"] == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [("en_us", "en-US"), ("ja-JP", "ja-JP"), ("zh-Hant-TW", "zh-Hant-TW"), ("", None),
     ("{{ lang }}", None)],
)  # fmt: skip
def test_normalise_lang(value: str, expected: str | None) -> None:
    assert normalise_lang(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("私たちのサービスは中小企業のためのクラウド会計です。", "ja"),
        ("我们的服务是为中小企业提供的云会计软件。", "zh"),
        ("우리 서비스는 중소기업을 위한 클라우드 회계입니다.", "ko"),
        (("The team behind the product is small and the pricing is simple for you and your "
         "company, with a plan for every stage of the business and the support you need."), "en"),
        ("Lorem ipsum dolor sit amet", None),
    ],
)  # fmt: skip
def test_guess_language(text: str, expected: str | None) -> None:
    assert guess_language(text) == expected


def test_word_count_is_cjk_aware() -> None:
    assert word_count("Start your free trial today") == 5
    assert word_count("無料で始める") == 3  # six characters, two per word
    assert word_count("料金 Pricing プラン") == 1 + 1 + 2


def test_declared_language_wins_over_the_script() -> None:
    facts = _facts(
        body="<p>日本語のページですが英語と宣言されています。</p>", html_attrs='lang="en"'
    )
    assert (facts["language"], facts["language_source"]) == ("en", "html")


def test_actions_from_forms_and_role_buttons() -> None:
    body = (
        '<form action="/demo"><input name="email"><button>Book a demo</button></form>'
        '<div role="button">Request a quote</div>'
        '<a href="javascript:void(0)" class="btn">Try it now</a>'
        "<button>FAQ: how do refunds work?</button>"
    )
    actions = _facts(body=body)["calls_to_action"]
    assert actions == [
        {"text": "Book a demo", "href": None},
        {"text": "Request a quote", "href": None},
        {"text": "Try it now", "href": None},
    ]


def test_obfuscated_or_invalid_contacts_are_left_out() -> None:
    body = (
        '<a href="mailto:Sales@Example.COM?subject=Hi">Mail us</a>'
        "<p>Phone: 555-0100 (too short) · Fax: +44 20 7946 0958 · ISBN 978-3-16-148410-0</p>"
    )
    facts = _facts(body=body)
    assert facts["emails"] == ["sales@example.com"]
    assert facts["phones"] == ["+44 20 7946 0958"]


def test_a_declared_legacy_charset_does_not_garble_decoded_html() -> None:
    # the crawler stores the rendered DOM as text; its old <meta charset> no longer applies
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
    head = meta + "<title>料金</title>"
    facts = _facts(head=head, body="<h1>料金プラン</h1><p>月額 1,980円</p>")
    assert facts["title"] == "料金"
    assert facts["headings"] == [{"level": 1, "text": "料金プラン"}]
    assert facts["prices"][0]["amount"] == 1980
