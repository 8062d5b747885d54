"""What changed, as a user sees it: a loopback pricing page crawled twice in real Chromium (the
second time with a new price and a banner above everything), each run analysed by the Lambda
handler (offline ``extract`` analyser) on the moto server, then ``python -m
analyzer_lambda.report`` on the second run, read in headless Chromium."""

from __future__ import annotations

import base64
import gzip
import io
import json
import shutil
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.changes.reuser import MAX_CACHED_CHUNKS
from analyzer_lambda.handler import lambda_handler
from analyzer_lambda.report.changes import compute_changes
from rivalscope_core.keys import ChunkRef
from tests.conftest import load_event
from tests.integration.analyzer.conftest import retarget
from tests.integration.crawler.conftest import CRAWL_SITE, Crawl
from tests.integration.report.conftest import XSS, StoredRun, run_report
from tests.servers.site import SiteServer, answer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from mypy_boto3_s3 import S3Client
    from selenium import webdriver

    from tests.servers.moto import MotoServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("chromedriver") is None, reason="needs chromium-driver"),
]

RUNS = ("2026-11-16T06-00-00", "2026-11-23T06-00-00")
BANNER = '<div class="banner">New: annual billing saves 20 %</div>'


def pricing_page(price: str, yen: str, banner: str = "") -> bytes:
    plans = "".join(
        f'<div class="plan"><h2>{name}</h2><p class="price">{amount} per month</p></div>'
        for name, amount in (("Starter", price), ("Team", "$199"))
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Acme pricing</title>"
        "<style>body{font:18px sans-serif;margin:0}.banner{background:#c00;color:#fff;"
        "padding:30px}.plan{display:inline-block;width:300px;margin:40px;padding:20px;"
        "border:2px solid #ccd}main{padding:20px}</style></head><body>"
        + banner
        + "<main><h1>Acme Analytics pricing</h1>"
        + f"<p>スタータープランは月額{yen}円（税込）です。</p>"
        + plans
        + "<p>"
        + "Analytics for every team. " * 40
        + "</p></main></body></html>"
    ).encode()


@pytest.fixture
def acme() -> Iterator[SiteServer]:
    server = SiteServer(root=CRAWL_SITE).start()
    yield server
    server.stop()


def _crawl_and_analyse(crawl: Crawl, s3: S3Client, bucket: str, run: str, urls: list[str]) -> None:
    done = crawl.run(f"urls={' '.join(urls)}", f"run={run}", DOWNLOAD_HANDLERS=None,
                     SELENIUM_RENDER_BY_DEFAULT=True, SELENIUM_POOL_SIZE=1)  # fmt: skip
    assert done.returncode == 0, done.log
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"raw/competitors/{run}/")
    for key in [o["Key"] for o in listed["Contents"] if o["Key"].endswith(".jl.gz")]:
        event = retarget(load_event("s3_put.json"), bucket, key)
        assert lambda_handler(event, LocalContext(120))["chunks"][0]["complete"]


def test_the_report_opens_with_the_changed_page_its_old_and_new_price_and_crops(
    acme: SiteServer, moto_server: MotoServer, s3: S3Client, bucket: str, tmp_path: Path,
    browser: webdriver.Chrome, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("ANALYZER", "extract")
    monkeypatch.delenv("ANALYSIS_PROMPT", raising=False)
    crawl = Crawl(acme, moto_server.endpoint, bucket, tmp_path / "spill")
    urls = [acme.url("/pricing.html"), acme.url("/a.html")]
    acme.route("/pricing.html", answer(pricing_page("$49", "4,900")))
    _crawl_and_analyse(crawl, s3, bucket, RUNS[0], urls)
    acme.route("/pricing.html", answer(pricing_page("$59", "5,900", BANNER)))
    _crawl_and_analyse(crawl, s3, bucket, RUNS[1], urls)

    first, out = tmp_path / "first", tmp_path / "report"
    done = run_report(moto_server, f"s3://{bucket}/raw/competitors/{RUNS[0]}/", "--out", first)
    assert done.returncode == 0, done.stderr
    assert "First capture." in (first / "report.html").read_text("utf-8")
    done = run_report(
        moto_server, f"s3://{bucket}/raw/competitors/{RUNS[1]}/", "--out", out, "--upload"
    )
    assert done.returncode == 0, done.stderr
    presigned = done.stdout.strip().splitlines()[-1]

    changes = {
        c["url"]: c for c in map(json.loads, (out / "changes.jsonl").read_text().splitlines())
    }
    assert changes[acme.url("/pricing.html")]["status"] == "changed"
    assert changes[acme.url("/a.html")]["status"] == "unchanged"
    crops = sorted(p.name for p in (out / "changes").iterdir())
    assert any(name.endswith(".after.jpg") for name in crops), crops
    # crops are <record>-<k>.after.jpg; the record id follows the order the pages were crawled in
    (record,) = {name.rsplit("-", 1)[0] for name in crops if name.endswith(".after.jpg")}
    # the changed page's full previous capture, in the format it was stored in: the default,
    # auto, stores a pricing (text) page as a palette PNG
    previous_capture = f"{record}.before.png"
    assert previous_capture in crops, crops

    browser.get((out / "report.html").as_uri())
    # the digest heads the page (#13), What changed comes right after it (#12)
    sections = browser.execute_script(
        "return [...document.querySelector('main').children].map(e => e.id || e.className)"
    )
    assert sections[:2] == ["digest", "what-changed"], sections
    changed = browser.find_elements(By.CSS_SELECTOR, "#what-changed article.change")
    assert len(changed) == 1
    text = changed[0].text
    assert acme.url("/pricing.html") in text
    assert "$49" in text
    assert "$59" in text
    assert "New: annual billing saves 20 %" in text
    assert "スタータープランは月額" in text  # Japanese kept, its changed digit marked
    html = str(changed[0].get_attribute("innerHTML"))
    assert "月額<del>4</del><ins>5</ins>,900円" in html
    images = changed[0].find_elements(By.CSS_SELECTOR, ".crop-pair img")
    assert len(images) >= 2
    for image in images:
        browser.execute_script("arguments[0].scrollIntoView()", image)
    browser.implicitly_wait(0)
    loaded = browser.execute_script(
        "return Array.from(arguments[0]).map(i => i.complete && i.naturalWidth)", images
    )
    assert all(width and width > 0 for width in loaded), loaded
    # the full previous capture is a click away, in the report's lightbox
    changed[0].find_element(By.CSS_SELECTOR, ".crop-pair a.zoomable").click()
    full = browser.find_element(By.ID, "lightbox-img")
    assert str(full.get_attribute("src")).endswith(f"/changes/{previous_capture}")
    WebDriverWait(browser, 10).until(
        lambda b: b.execute_script("return arguments[0].naturalWidth", full) > 0
    )
    browser.find_element(By.ID, "lightbox-close").click()
    unchanged = browser.find_element(By.CSS_SELECTOR, "details.others[data-status=unchanged]")
    assert "1 unchanged page" in unchanged.text

    # the uploaded copy, opened by its presigned URL: its crops are presigned too, and load
    browser.get(presigned)
    uploaded = browser.find_elements(By.CSS_SELECTOR, "#what-changed .crop-pair img")
    assert uploaded
    sources = [str(i.get_attribute("src")) for i in uploaded]
    assert all(s.startswith(moto_server.endpoint) and "X-Amz-Signature=" in s for s in sources)
    for image in uploaded:
        browser.execute_script("arguments[0].scrollIntoView()", image)
    WebDriverWait(browser, 10).until(
        lambda b: all(
            b.execute_script("return arguments[0].naturalWidth", i) > 0 for i in uploaded
        )
    )


def test_no_compare_writes_no_changes_and_no_what_changed_but_the_side_by_side_table(
    moto_server: MotoServer, stored_run: StoredRun, tmp_path: Path
) -> None:
    compared = run_report(moto_server, stored_run.uri, "--prompt", stored_run.prompt_id,
                          "--out", tmp_path / "compared")  # fmt: skip
    assert "changes: 1 failed, 5 new" in compared.stdout, compared.stderr
    assert "First capture." in (tmp_path / "compared" / "report.html").read_text("utf-8")
    done = run_report(moto_server, stored_run.uri, "--prompt", stored_run.prompt_id,
                      "--out", tmp_path / "plain", "--no-compare")  # fmt: skip
    assert "changes:" not in done.stdout
    html = (tmp_path / "plain" / "report.html").read_text("utf-8")
    assert 'id="what-changed"' not in html
    assert not (tmp_path / "plain" / "changes.jsonl").exists()
    assert not (tmp_path / "plain" / "changes").exists()
    assert 'id="side-title">Side by side' in html
    assert XSS not in html  # a page's hostile title and answer, escaped in the table too


def test_a_run_of_more_chunks_than_are_kept_in_memory_is_compared_page_by_page(
    s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    """Chunks are dropped from memory once compared (and the previous run's past a few), so a
    long run fits a Lambda; every page still meets its own previous capture."""
    chunks = MAX_CACHED_CHUNKS * 2 + 1
    for run, changed in ((RUNS[0], None), (RUNS[1], 7)):
        for n in range(chunks):
            price = 59 if n == changed else 49
            html = f"<html><body><main><h1>Plan {n}</h1><p>Starter ${price}/mo</p></main></body>"
            url = f"https://acme.example/{n}"
            record = {"url": url, "final_url": url, "status": 200, "body": html, "title": str(n),
                      "crawled_at": f"{run[:10]}T06:00:0{n % 10}Z", "screenshot": None,
                      "prompt": None, "error": None}  # fmt: skip
            key = f"raw/competitors/{run}/items.{n * 20:07d}.jl.gz"
            s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(json.dumps(record).encode()))
    current = [
        ChunkRef(bucket, f"raw/competitors/{RUNS[1]}/items.{n * 20:07d}.jl.gz")
        for n in range(chunks)
    ]
    changes = compute_changes(s3, current, [], tmp_path)
    statuses = {r["url"]: r["status"] for r in changes.records}
    assert statuses.pop("https://acme.example/7") == "changed"
    assert set(statuses.values()) == {"unchanged"}
    assert len(statuses) == chunks - 1


def _shot(shade: int, renderer: str | None) -> dict[str, object]:
    """A 320x200 grey PNG screenshot with a dark band whose shade the runs vary."""
    image = Image.new("RGB", (320, 200), (250, 250, 250))
    image.paste((shade, shade, shade), (0, 40, 320, 120))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    data = base64.b64encode(buffer.getvalue()).decode()
    return {"format": "png", "width": 320, "height": 200, "data": data, "renderer": renderer}


@pytest.mark.parametrize(
    ("renderers", "said"),
    [(("chromium 156, flags 1", "chromium 157, flags 1"),
      {"before": "chromium 156, flags 1", "after": "chromium 157, flags 1"}),
     (("chromium 157, flags 1", "chromium 157, flags 1"), None),
     ((None, "chromium 157, flags 1"), None)],
    ids=["upgraded", "same-browser", "before-it-was-recorded"],
)  # fmt: skip
def test_a_screenshot_drawn_by_another_browser_is_named_in_the_change_record(
    s3: S3Client, bucket: str, tmp_path: Path,
    renderers: tuple[str | None, str], said: dict[str, str] | None,
) -> None:  # fmt: skip
    """Same text, other pixels: the page changed on screen, and the record says whether the
    browser that drew it changed too (a Chromium upgrade redraws text a little differently)."""
    url = "https://acme.example/"
    html = "<html><body><main><h1>Acme</h1><p>Starter $49/mo</p></main></body>"
    for run, shade, renderer in ((RUNS[0], 40, renderers[0]), (RUNS[1], 90, renderers[1])):
        record = {"url": url, "final_url": url, "status": 200, "body": html, "title": "Acme",
                  "crawled_at": f"{run[:10]}T06:00:00Z", "screenshot": _shot(shade, renderer),
                  "prompt": None, "error": None}  # fmt: skip
        key = f"raw/competitors/{run}/items.0000000.jl.gz"
        s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(json.dumps(record).encode()))
    current = [ChunkRef(bucket, f"raw/competitors/{RUNS[1]}/items.0000000.jl.gz")]
    (change,) = compute_changes(s3, current, [], tmp_path).records
    assert change["status"] == "changed"
    assert change["text"] == {"added": [], "removed": []}
    assert change["visual"]["changed_fraction"] > 0.3
    assert change.get("renderer") == said
