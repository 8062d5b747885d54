"""``python -m analyzer_lambda.report`` end to end: a subprocess against the moto server, the
files it writes, and the report opened in a real headless Chromium as a user would."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.integration.report.conftest import XSS, StoredRun, run_report

if TYPE_CHECKING:
    import subprocess

    from selenium import webdriver

    from tests.servers.moto import MotoServer

pytestmark = pytest.mark.integration

SCREENSHOT = Path("/tmp/rivalscope-report.png")


@pytest.fixture(scope="module")
def report(
    moto_server: MotoServer, stored_run: StoredRun, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("report")
    proc = run_report(
        moto_server, stored_run.uri, "--prompt", stored_run.prompt_file, "--out", out
    )
    return proc, out


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_exit_1_and_a_summary_when_pages_failed_or_are_not_analysed(report: Any) -> None:
    proc, out = report
    assert proc.returncode == 1, proc.stderr
    assert "6 results: 4 analysed, 1 failed, 1 not analysed" in proc.stdout
    assert str(out / "report.html") in proc.stdout
    assert {p.name for p in out.iterdir()} == {
        "report.html",
        "results.jsonl",
        "results.csv",
        "changes.jsonl",  # the run's first capture: every page "new" (SPEC.md, Changes)
        "digest.md",  # and its digest (#13), with digest.json for the cost ledger
        "digest.json",
        "cost.json",  # the run's cost ledger (SPEC.md, Cost ledger)
        "screenshots",
    }


def test_results_jsonl_has_one_result_record_per_page(report: Any, stored_run: StoredRun) -> None:
    records = _jsonl(report[1] / "results.jsonl")
    assert [(r["url"], r["line"]) for r in records] == [
        (p.url, line) for p, line in zip(stored_run.pages, [1, 2, 3, 1, 2, 3], strict=True)
    ]
    fields = {"url", "final_url", "crawled_at", "chunk", "line", "prompt_id", "model"}
    fields |= {"analyzer", "analysis", "usage", "error"}
    assert all(fields <= set(r) for r in records)
    assert {r["prompt_id"] for r in records} == {stored_run.prompt_id}
    assert records[1]["analysis"]["prices"][0] == {
        "amount": 1980, "currency": "JPY", "period": "month", "text": "月額 1,980円",
        "source": "text",  # extract reads declared prices first (#11), this one from the text
    }  # fmt: skip
    assert records[3]["error"]["type"] == "model_error"
    assert records[5]["error"]["type"] == "not_analysed"  # none is silent
    assert records[5]["chunk"] == stored_run.chunks[1].uri
    assert all("reused_from" in r for r in records)  # SPEC.md's result record


def test_changes_jsonl_of_a_first_capture_says_new_or_failed(
    report: Any, stored_run: StoredRun
) -> None:
    changes = _jsonl(report[1] / "changes.jsonl")
    assert [c["url"] for c in changes] == [p.url for p in stored_run.pages]
    expected = ["failed" if p.error else "new" for p in stored_run.pages]
    assert [c["status"] for c in changes] == expected
    assert all(c["previous"] is None and c["text"] is None for c in changes)


def test_the_digest_of_a_first_capture_says_so_and_names_the_page_that_failed(
    report: Any, stored_run: StoredRun
) -> None:
    text = (report[1] / "digest.md").read_text("utf-8")
    failed = next(p for p in stored_run.pages if p.error)
    assert "First capture: 6 pages" in text
    point = f"- **low** · **{failed.url.split('/')[2]}** — could not be crawled (timeout)."
    assert [line for line in text.splitlines() if line.startswith("- ")] == [point]
    assert f"  <{failed.url}>" in text
    assert json.loads((report[1] / "digest.json").read_text())["usage"] == {
        "input_tokens": 0, "output_tokens": 0,
    }  # fmt: skip
    html = (report[1] / "report.html").read_text("utf-8")
    assert html.index('<section class="digest"') < html.index('<section class="summary"')


def test_results_csv_flattens_the_answer_and_keeps_japanese(report: Any) -> None:
    text = (report[1] / "results.csv").read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 6
    assert {"status", "url", "error_type", "analysis.title", "analysis.prices"} <= set(rows[0])
    # grouped by site (no page has a competitor), sites by name, pages in page order
    assert [r["site"] for r in rows] == [
        "acme.example", "acme.example", "down.example", "kantan-chobo.example.jp",
        "widgetly.example", "widgetly.example",
    ]  # fmt: skip
    japanese = rows[3]
    assert japanese["analysis.title"] == "料金プラン｜クラウド会計ソフト「かんたん帳簿」"
    assert json.loads(japanese["analysis.prices"])[2]["text"] == "3,980円/月"
    assert japanese["screenshot"] == "screenshots/items.0000000-2.webp"
    assert [r["status"] for r in rows] == ["done", "failed", "missing", "done", "done", "done"]
    assert rows[1]["error_message"].startswith("Gemini answered 500")


def test_screenshots_are_files_with_small_thumbnails(report: Any, stored_run: StoredRun) -> None:
    out = report[1]
    html = (out / "report.html").read_text("utf-8")
    assert "base64" not in html
    assert len(html) < 200_000
    shots = sorted((out / "screenshots").iterdir())
    assert len(shots) == 10  # 5 pages with a screenshot: the capture and a thumbnail each
    first = stored_run.pages[0].screenshot
    assert first is not None
    full = out / "screenshots" / "items.0000000-1.png"
    assert full.read_bytes() == base64.b64decode(first.data)
    for thumb in (p for p in shots if p.name.endswith(".thumb.webp")):
        with Image.open(thumb) as image:
            assert image.format == "WEBP"
            assert image.size == (600, 375)
        assert thumb.stat().st_size < 60_000


def _wait_loaded(driver: webdriver.Chrome, img: Any) -> None:
    loaded = "return arguments[0].complete && arguments[0].naturalWidth > 0"
    WebDriverWait(driver, 10).until(lambda d: d.execute_script(loaded, img))


def _visible_cards(driver: webdriver.Chrome) -> int:
    return len([c for c in driver.find_elements(By.CSS_SELECTOR, ".card") if c.is_displayed()])


def test_report_in_chromium(report: Any, browser: webdriver.Chrome) -> None:
    out = report[1]
    browser.get((out / "report.html").as_uri())
    cards = browser.find_elements(By.CSS_SELECTOR, "article.card")
    assert len(cards) == 6
    assert browser.find_element(By.ID, "shown").text == "showing 6 of 6"

    # every thumbnail loads (scrolled into view: they are loading="lazy")
    thumbs = browser.find_elements(By.CSS_SELECTOR, "a.shot img")
    assert len(thumbs) == 5
    for img in thumbs:
        browser.execute_script("arguments[0].scrollIntoView()", img)
        _wait_loaded(browser, img)
        assert img.get_property("naturalWidth") == 600

    # untrusted markup is shown as text, never run
    assert browser.execute_script("return window.__xss === undefined")
    assert browser.find_elements(By.CSS_SELECTOR, "img[src='x']") == []
    assert XSS in browser.find_element(By.ID, "page-items.0000003-2").text
    assert browser.find_elements(By.CSS_SELECTOR, "a[href^='javascript']") == []

    # Japanese renders as text in a card marked lang="ja"
    japanese = browser.find_element(By.CSS_SELECTOR, "article.card[lang='ja']")
    assert "料金プラン" in japanese.text
    assert "3,980円/月" in japanese.text

    # errors are visible
    failed = browser.find_element(By.CSS_SELECTOR, "article.card.failed")
    assert "Analysis error: model_error" in failed.text
    assert "<b>not bold</b>" in failed.text
    missing = browser.find_element(By.CSS_SELECTOR, "article.card.missing")
    assert "Crawl error: timeout" in missing.text
    assert "Not analysed yet" in missing.text

    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(SCREENSHOT))

    # a thumbnail click opens the full screenshot in a dialog; Escape closes it
    browser.find_element(By.CSS_SELECTOR, "#page-items\\.0000000-1 a.shot").click()
    dialog = browser.find_element(By.ID, "lightbox")
    WebDriverWait(browser, 10).until(lambda _d: dialog.get_attribute("open") is not None)
    full = browser.find_element(By.ID, "lightbox-img")
    _wait_loaded(browser, full)
    assert (full.get_property("naturalWidth"), full.get_property("naturalHeight")) == (1280, 3200)
    assert str(full.get_attribute("src")).endswith("screenshots/items.0000000-1.png")
    browser.save_screenshot(str(SCREENSHOT.with_name("rivalscope-report-lightbox.png")))
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    WebDriverWait(browser, 10).until(lambda _d: dialog.get_attribute("open") is None)

    # filter by site and by status
    Select(browser.find_element(By.ID, "site-filter")).select_by_value("kantan-chobo.example.jp")
    assert _visible_cards(browser) == 1
    assert browser.find_element(By.ID, "shown").text == "showing 1 of 6"
    Select(browser.find_element(By.ID, "site-filter")).select_by_value("")
    Select(browser.find_element(By.ID, "status-filter")).select_by_value("failed")
    assert _visible_cards(browser) == 1
    Select(browser.find_element(By.ID, "status-filter")).select_by_value("")
    browser.find_element(By.CSS_SELECTOR, "tr[data-site='widgetly.example']").click()
    assert _visible_cards(browser) == 2


def test_upload_of_one_chunk_is_private_with_a_presigned_url(
    moto_server: MotoServer, stored_run: StoredRun, tmp_path: Path
) -> None:
    chunk = stored_run.chunks[0]
    proc = run_report(
        moto_server, chunk.uri, "--prompt", stored_run.prompt_id, "--out", tmp_path,
        "--upload", "--expires", "900",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr  # every page of this chunk is analysed
    assert "3 results: 3 analysed, 0 failed, 0 not analysed" in proc.stdout
    url = proc.stdout.strip().splitlines()[-1]
    assert url.startswith(moto_server.endpoint)
    assert "X-Amz-Expires=900" in url
    assert "X-Amz-Signature=" in url

    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint, region_name="us-east-1")
    prefix = f"reports/competitors/{stored_run.run.time}/{stored_run.prompt_id}/items.0000000/"
    listed = s3.list_objects_v2(Bucket=stored_run.bucket, Prefix="reports/")["Contents"]
    keys = {obj["Key"] for obj in listed}
    assert {prefix + n for n in ("report.html", "results.csv", "results.jsonl")} <= keys
    assert prefix + "screenshots/items.0000000-2.thumb.webp" in keys
    assert all(key.startswith(prefix) for key in keys)
    for key in keys:
        grants = s3.get_object_acl(Bucket=stored_run.bucket, Key=key)["Grants"]
        grantees = {g["Grantee"].get("URI", "") for g in grants}
        assert not any(g.endswith(("/AllUsers", "/AuthenticatedUsers")) for g in grantees), key
    head = s3.head_object(Bucket=stored_run.bucket, Key=prefix + "report.html")
    assert head["ContentType"] == "text/html; charset=utf-8"

    with urllib.request.urlopen(url, timeout=10) as response:
        html = response.read().decode("utf-8")
    assert "料金プラン" in html
    assert html.count('class="card ') == 3
    # the uploaded report links its images by presigned URLs, which download
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) == 3
    with urllib.request.urlopen(sources[0].replace("&amp;", "&"), timeout=10) as response:
        assert response.headers["Content-Type"] == "image/webp"
        assert Image.open(io.BytesIO(response.read())).size == (600, 375)


def test_prompt_by_name_reports_a_chunk(
    moto_server: MotoServer, stored_run: StoredRun, tmp_path: Path
) -> None:
    proc = run_report(
        moto_server, stored_run.chunks[1].uri, "--prompt", "overview", "--out", tmp_path
    )
    assert proc.returncode == 1, proc.stderr
    assert "3 results: 1 analysed, 1 failed, 1 not analysed" in proc.stdout
    assert len(_jsonl(tmp_path / "results.jsonl")) == 3


@pytest.mark.parametrize(
    ("run_uri", "prompt", "message"),
    [
        ("s3://{bucket}/raw/competitors/1999-01-01T00-00-00/", "{prompt_id}", "check RUN_URI"),
        ("s3://{bucket}/raw/competitors/{time}/", "other-12345678", "{prompt_id}"),
        ("s3://no-such-bucket-x/raw/competitors/{time}/", "{prompt_id}", "NoSuchBucket"),
        ("https://example.com/run", "{prompt_id}", "not an s3:// URI"),
        ("s3://{bucket}/raw/competitors/{time}/items.0000099.jl.gz", "{prompt_id}", "404"),
        ("s3://{bucket}/raw/competitors/{time}/", "prompts/nope.md", "prompt file prompts/nope"),
    ],
)
def test_bad_usage_exits_2_naming_what_to_fix(
    moto_server: MotoServer, stored_run: StoredRun, tmp_path: Path,
    run_uri: str, prompt: str, message: str,
) -> None:  # fmt: skip
    values = {"bucket": stored_run.bucket, "time": stored_run.run.time}
    values["prompt_id"] = stored_run.prompt_id
    proc = run_report(
        moto_server, run_uri.format(**values), "--prompt", prompt.format(**values),
        "--out", tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2
    assert message.format(**values) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "report.html").exists()
