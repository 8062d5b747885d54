"""A watch-list run's report: pages grouped by competitor, each competitor's hosts inside its
one row, Japanese names intact, pages of no competitor under their host — and, without
``--prompt``, each page with the prompt it was analysed with. Opened in headless Chromium."""

from __future__ import annotations

import csv
import gzip
import io
import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from analyzer_lambda.analyzers.extract import ExtractAnalyzer
from analyzer_lambda.prompts.parser import parse_prompt
from rivalscope_core.keys import ChunkRef, RunRef, analysis_key
from rivalscope_core.records import ResultRecord
from tests.integration.report.conftest import MODEL, page, run_report, screenshot

if TYPE_CHECKING:
    from selenium import webdriver

    from tests.servers.moto import MotoServer

pytestmark = pytest.mark.integration

SCREENSHOT = Path("/tmp/rivalscope-report-competitors.png")
HANAMI = "花見クラウド"
OWN = "---\nname: pricing-ja\n---\n料金を教えてください。\n"
RUN_PROMPT = "---\nname: overview\n---\nWhat does this page offer?\n"


class _Plenty:
    def remaining(self) -> float:
        return 60.0


@pytest.fixture(scope="module")
def report(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of three pages of 花見クラウド on two hosts (analysed with its own prompt, a NAME
    under prompts/), one of Acme and one of no competitor (analysed with the run's prompt, a
    local file); every page also has a result for the other prompt, which must not show."""
    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint, region_name="us-east-1")
    bucket = f"report-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="prompts/pricing-ja.md", Body=OWN.encode())
    tmp = tmp_path_factory.mktemp("competitors")
    run_prompt = tmp / "overview.md"
    run_prompt.write_text(RUN_PROMPT, encoding="utf-8")
    own, other = parse_prompt(OWN, fallback_name="x"), parse_prompt(RUN_PROMPT, fallback_name="x")
    run = RunRef(bucket, "competitors", "2026-12-01T22-00-00")
    chunk = ChunkRef(bucket, f"{run.raw_prefix}items.0000000.jl.gz")
    hanami = {"competitor": HANAMI, "prompt": "pricing-ja"}
    records = [
        page("https://hanami.example.jp/price/", "pricing_ja.html",
             screenshot("料金プラン", (16, 122, 87), "png", 1600), **hanami),
        page("https://acme.example/pricing", "saas_pricing_en.html",
             screenshot("Acme — Pricing", (52, 84, 209), "png", 1600),
             competitor="Acme Analytics", prompt=str(run_prompt)),
        page("https://app.hanami-cloud.example/plans", "pricing_ja.html",
             screenshot("アプリ料金", (16, 122, 87), "png", 1600), **hanami),
        page("https://widgetly.example/blog", "blog_no_prices.html",
             screenshot("Widgetly", (180, 83, 9), "png", 1600), prompt=str(run_prompt)),
        page("https://hanami.example.jp/company/", "pricing_ja.html",
             screenshot("会社概要", (16, 122, 87), "png", 1600), **hanami),
    ]  # fmt: skip
    body = "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in records)
    s3.put_object(Bucket=bucket, Key=chunk.key, Body=gzip.compress(body.encode()))
    analyzer = ExtractAnalyzer()
    for line, record in enumerate(records, 1):
        for prompt in (own, other):
            answer = analyzer.analyze(record, prompt, _Plenty()).answer
            result = ResultRecord(
                url=record.url, final_url=record.url, crawled_at=record.crawled_at,
                chunk=chunk.uri, line=line, prompt_id=prompt.prompt_id, model=MODEL,
                analyzer="extract", analysis={**(answer or {}), "summary": prompt.name},
                competitor=record.competitor,
            )  # fmt: skip
            key = analysis_key(chunk, line, prompt.prompt_id, MODEL)
            s3.put_object(Bucket=bucket, Key=key, Body=result.to_json().encode())
    out = tmp / "report"
    proc = run_report(moto_server, run.uri, "--out", out)  # no --prompt: each page's own
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "5 results: 5 analysed, 0 failed, 0 not analysed" in proc.stdout
    return out


def test_results_carry_the_competitor_and_the_page_s_own_prompt(report: Path) -> None:
    lines = [json.loads(x) for x in (report / "results.jsonl").read_text("utf-8").splitlines()]
    assert [(r["competitor"], r["analysis"]["summary"]) for r in lines] == [
        (HANAMI, "pricing-ja"),  # in page order, each with its competitor's prompt
        ("Acme Analytics", "overview"),
        (HANAMI, "pricing-ja"),
        (None, "overview"),
        (HANAMI, "pricing-ja"),
    ]
    # the CSV groups them: competitors by name (花見クラウド's three pages together), then a
    # host of no competitor
    table = list(csv.DictReader(io.StringIO((report / "results.csv").read_text("utf-8-sig"))))
    assert [(r["competitor"], r["site"]) for r in table] == [
        ("Acme Analytics", "acme.example"),
        (HANAMI, "hanami.example.jp"),
        (HANAMI, "app.hanami-cloud.example"),
        (HANAMI, "hanami.example.jp"),
        ("", "widgetly.example"),
    ]


def _heading(element: Any) -> str:
    """A group heading's name, without the hosts shown beside it."""
    hosts = element.find_elements(By.CSS_SELECTOR, ".hosts")
    return str(element.text).removesuffix(hosts[0].text if hosts else "")


def _summary_rows(browser: webdriver.Chrome) -> list[Any]:
    return browser.find_elements(By.CSS_SELECTOR, "table.sites tbody tr")


def test_a_competitor_with_two_hosts_is_one_row_in_chromium(
    report: Path, browser: webdriver.Chrome
) -> None:
    browser.get((report / "report.html").as_uri())
    rows = _summary_rows(browser)
    cells = [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    assert [c[0].splitlines() for c in cells] == [
        ["Acme Analytics", "acme.example"],
        [HANAMI, "app.hanami-cloud.example · hanami.example.jp"],  # one row, both hosts
        ["widgetly.example"],  # no competitor: its host, as before watch lists
    ]
    assert [c[1:3] for c in cells] == [["1", "1"], ["3", "3"], ["1", "1"]]  # pages, analysed
    totals = browser.find_element(By.CSS_SELECTOR, ".totals").text
    assert "2\ncompetitors" in totals
    assert "4\nsites" in totals
    headings = browser.find_elements(By.CSS_SELECTOR, ".group-title")
    assert [_heading(h) for h in headings] == ["Acme Analytics", HANAMI, "widgetly.example"]
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(SCREENSHOT))

    # the competitor filter shows its pages on both hosts, and only its heading
    Select(browser.find_element(By.ID, "site-filter")).select_by_visible_text(HANAMI)
    shown = [c for c in browser.find_elements(By.CSS_SELECTOR, "article.card") if c.is_displayed()]
    assert len(shown) == 3
    assert all(HANAMI in card.text for card in shown)
    assert [_heading(h) for h in headings if h.is_displayed()] == [HANAMI]
    Select(browser.find_element(By.ID, "site-filter")).select_by_value("")
    rows[0].click()  # a summary row filters to its competitor
    shown = [c for c in browser.find_elements(By.CSS_SELECTOR, "article.card") if c.is_displayed()]
    assert [c.get_attribute("data-site") for c in shown] == ["Acme Analytics"]
