"""The offline ``extract`` analyser (issue 3) on realistic pages: what a user reading the
answer would check — prices with currency and period, calls to action without cookie-banner
buttons, contacts, social profiles, technologies, language, outline and lead."""

from __future__ import annotations

import json
import threading
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from analyzer_lambda.analyzers.extract import ExtractAnalyzer
from analyzer_lambda.prompts.parser import default_prompt
from rivalscope_core.records import PageRecord, Usage

PAGES = Path(__file__).resolve().parents[3] / "data" / "pages"


class _Plenty:
    def remaining(self) -> float:
        return 60.0


def _page(name: str, url: str = "https://acme.example/pricing") -> PageRecord:
    return PageRecord(
        url=url,
        final_url=url,
        status=200,
        crawled_at="2026-11-23T22:00:00.000000Z",
        body=(PAGES / name).read_text("utf-8"),
        title=None,
    )


def _analyse(name: str, url: str = "https://acme.example/pricing") -> dict[str, Any]:
    analysis = ExtractAnalyzer().analyze(_page(name, url), default_prompt(), _Plenty())
    assert analysis.error is None
    assert analysis.usage == Usage(0, 0)
    assert analysis.answer is not None
    json.dumps(analysis.answer)  # the answer is stored as JSON
    return analysis.answer


@pytest.fixture(scope="module")
def english() -> dict[str, Any]:
    return _analyse("saas_pricing_en.html")


@pytest.fixture(scope="module")
def japanese() -> dict[str, Any]:
    return _analyse("pricing_ja.html", "https://kantan-chobo.example.jp/price/")


@pytest.fixture(scope="module")
def blog() -> dict[str, Any]:
    return _analyse("blog_no_prices.html", "https://widgetly.example/blog/builds")


def test_registered_as_the_extract_plugin() -> None:
    (entry,) = entry_points(group="rivalscope.analyzers", name="extract")
    analyzer = entry.load()()
    assert analyzer.name == "extract"
    assert analyzer.model_for(default_prompt()) == "extract-v2"


def test_english_page_basics(english: dict[str, Any]) -> None:
    assert english["title"] == "Pricing — Acme Analytics"
    assert english["description"].startswith("Simple, transparent pricing")
    assert english["language"] == "en-US"
    assert english["language_source"] == "html"


def test_english_outline_keeps_levels_and_order(english: dict[str, Any]) -> None:
    assert english["headings"][:4] == [
        {"level": 1, "text": "Pricing that scales with you"},
        {"level": 2, "text": "Starter"},
        {"level": 2, "text": "Pro"},
        {"level": 2, "text": "Enterprise"},
    ]
    assert {"level": 3, "text": "Can I change plans later?"} in english["headings"]


def test_lead_is_main_content_not_navigation_or_cookie_banner(english: dict[str, Any]) -> None:
    lead = english["lead"]
    assert lead.startswith("Acme Analytics gives product teams real-time dashboards")
    assert "cookies" not in lead
    assert "Log in" not in lead
    assert len(lead) <= 300


def test_english_prices_with_currency_and_period(english: dict[str, Any]) -> None:
    assert english["prices"] == [
        {"amount": 0, "currency": "USD", "period": "month", "text": "$0/month", "source": "text"},
        {"amount": 49, "currency": "USD", "period": "month", "text": "$49/mo", "source": "text"},
        {
            "amount": 490,
            "currency": "USD",
            "period": "year",
            "text": "$490 per year",
            "source": "text",
        },
        {
            "amount": 19,
            "currency": "EUR",
            "period": "month",
            "text": "€19 per user per month",
            "source": "text",
        },
    ]


def test_calls_to_action_leave_out_cookie_buttons_and_ui_controls(
    english: dict[str, Any],
) -> None:
    texts = [action["text"] for action in english["calls_to_action"]]
    assert texts == ["Sign up", "Get started", "Start free trial", "Contact sales"]
    assert english["calls_to_action"][2]["href"] == "https://acme.example/signup?plan=pro"


def test_english_contacts(english: dict[str, Any]) -> None:
    assert english["emails"] == ["sales@acme-analytics.example", "billing@acme-analytics.example"]
    assert english["phones"] == ["+14155550100", "+1 (415) 555-0132"]
    # dates, versions and order numbers in the footer are not phones
    assert not any("2026" in phone for phone in english["phones"])


def test_social_profiles_but_not_share_links(english: dict[str, Any]) -> None:
    assert [(s["network"], s["url"]) for s in english["social"]] == [
        ("x", "https://twitter.com/acmeanalytics"),
        ("linkedin", "https://www.linkedin.com/company/acme-analytics/"),
        ("github", "https://github.com/acme-analytics"),
        ("youtube", "https://www.youtube.com/@acmeanalytics"),
    ]


def test_english_technologies(english: dict[str, Any]) -> None:
    assert {
        "Google Tag Manager",
        "Google Analytics",
        "HubSpot",
        "Stripe",
        "Next.js",
        "React",
        "Tailwind CSS",
    } <= set(english["technologies"])
    assert "WordPress" not in english["technologies"]


def test_japanese_page_without_lang_is_guessed_japanese(japanese: dict[str, Any]) -> None:
    assert japanese["language"] == "ja"
    assert japanese["language_source"] == "guess"
    assert japanese["title"] == "料金プラン｜クラウド会計ソフト「かんたん帳簿」"
    assert japanese["headings"][0] == {"level": 1, "text": "料金プラン"}


def test_japanese_prices_yen_and_periods(japanese: dict[str, Any]) -> None:
    assert japanese["prices"] == [
        {
            "amount": 1980,
            "currency": "JPY",
            "period": "month",
            "text": "月額 1,980円",
            "source": "text",
        },
        {
            "amount": 9800,
            "currency": "JPY",
            "period": "year",
            "text": "¥9,800/年",
            "source": "text",
        },
        {
            "amount": 3980,
            "currency": "JPY",
            "period": "month",
            "text": "3,980円/月",
            "source": "text",
        },
    ]


def test_japanese_actions_contacts_and_stack(japanese: dict[str, Any]) -> None:
    texts = [action["text"] for action in japanese["calls_to_action"]]
    assert "お問い合わせ" in texts
    assert "無料で始める" in texts
    assert japanese["emails"] == ["info@kantan-chobo.example.jp"]
    assert japanese["phones"] == ["03-1234-5678", "0120-123-456"]
    assert {s["network"] for s in japanese["social"]} == {"x", "facebook", "instagram"}
    assert japanese["technologies"] == ["jQuery", "WordPress"]


def test_japanese_lead_is_the_first_paragraph(japanese: dict[str, Any]) -> None:
    assert japanese["lead"].startswith("かんたん帳簿は、銀行口座やクレジットカードの明細")
    assert "よくある質問" not in japanese["lead"]


def test_cjk_word_count_counts_two_characters_as_a_word(
    japanese: dict[str, Any], english: dict[str, Any]
) -> None:
    # whitespace splitting would give the Japanese page a few dozen "words"
    assert 100 < japanese["word_count"] < 400
    assert 150 < english["word_count"] < 400


def test_page_without_prices(blog: dict[str, Any]) -> None:
    assert blog["prices"] == []
    assert blog["phones"] == []  # build numbers, dates and "Call it a win: 42" are not phones
    assert blog["calls_to_action"] == []  # an accordion toggle is not a call to action
    assert blog["emails"] == ["press@widgetly.example"]  # logo@2x.png is not an address
    assert blog["social"] == []  # a "share" link is not the company's profile
    assert blog["description"] == "Notes from migrating 40 services to incremental builds."
    assert blog["lead"].startswith("Last spring our CI pipeline took 42 minutes")
    assert set(blog["technologies"]) == {"Bootstrap", "Hotjar"}


@pytest.mark.parametrize(
    ("body", "kind"),
    [("", "empty_page"), ("   \n ", "empty_page"), ("<!-- nothing -->", "unparsable_html")],
)
def test_a_page_without_a_document_is_an_error_not_an_exception(body: str, kind: str) -> None:
    page = PageRecord("https://x.example/", None, 200, "2026-11-23T00:00:00Z", body)
    analysis = ExtractAnalyzer().analyze(page, default_prompt(), _Plenty())
    assert analysis.answer is None
    assert analysis.error is not None
    assert analysis.error.type == kind
    assert "https://x.example/" in analysis.error.message


def test_crawler_title_is_the_fallback_and_xml_declaration_is_accepted() -> None:
    body = '<?xml version="1.0" encoding="utf-8"?><html><body><p>Hi</p></body></html>'
    page = PageRecord("https://x.example/", None, 200, "", body, title="From the crawler")
    answer = ExtractAnalyzer().analyze(page, default_prompt(), _Plenty()).answer
    assert answer is not None
    assert answer["title"] == "From the crawler"


def test_one_analyser_serves_many_threads() -> None:
    analyzer = ExtractAnalyzer()
    pages = [_page("saas_pricing_en.html"), _page("pricing_ja.html")] * 8
    expected = [analyzer.analyze(p, default_prompt(), _Plenty()).answer for p in pages[:2]]
    results: list[Any] = [None] * len(pages)

    def work(index: int) -> None:
        results[index] = analyzer.analyze(pages[index], default_prompt(), _Plenty()).answer

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(pages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == expected * 8
