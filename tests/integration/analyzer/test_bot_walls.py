"""Bot walls end to end, as a user meets them: recorded interstitials (tests/data/walls/) served
on loopback with their statuses and headers, crawled in real Chromium by ``scrapy crawl
competitors``, stored in S3, analysed by the Lambda handler against the fake Gemini, and shown
in the report opened in headless Chromium.

A wall becomes a ``blocked_by_site`` record naming the service, with its body and screenshot
kept for a person; the crawl counts it as a failed page (exit code 1); the analyser writes a
failed result for it and never asks the model about it; the report shows it as "Blocked by
site" with its reason and screenshot. The ordinary pages beside them (one that writes about
Cloudflare, one with a reCAPTCHA contact form) are crawled and analysed."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from analyzer_lambda.__main__ import LocalContext
from analyzer_lambda.handler import lambda_handler
from tests.conftest import load_event
from tests.integration.analyzer.conftest import results, retarget
from tests.integration.crawler.conftest import CRAWL_SITE, Crawl, stored_chunks
from tests.integration.report.conftest import run_report
from tests.servers.site import SiteServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from mypy_boto3_s3 import S3Client
    from selenium.webdriver.remote.webelement import WebElement

    from tests.servers.gemini import GeminiServer
    from tests.servers.moto import MotoServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("chromedriver") is None, reason="needs chromium-driver"),
]

WALLS = Path(__file__).resolve().parents[2] / "data" / "walls"
REPORT_SHOT = Path(tempfile.gettempdir()) / "rivalscope-bot-walls-report.png"
BLOCKED = {
    "cloudflare_managed_challenge": "Cloudflare",
    "akamai_access_denied": "Akamai",
    "datadome_captcha": "DataDome",
    "perimeterx_press_and_hold": "PerimeterX (HUMAN)",
    "imperva_incapsula": "Imperva (Incapsula)",
    "captcha_wall": "captcha wall",
}
ORDINARY = ("mentions_cloudflare", "contact_form_recaptcha")


def _recorded_route(name: str) -> Any:
    """Serves a recorded page as it was answered. Absolute URLs become paths of this site, so
    that the browser asks nothing of any other host; the signatures survive (they name the
    services' hosts, not the scheme)."""
    meta = json.loads((WALLS / f"{name}.json").read_text())
    body = (WALLS / f"{name}.html").read_text(encoding="utf-8").replace("https://", "/")
    headers = {k: v.splitlines()[0] for k, v in meta["headers"].items() if k.lower() != "server"}
    server = meta["headers"].get("Server")

    def route(handler: Any) -> tuple[int, dict[str, str], bytes]:
        if server is not None:  # the one Server header, as the service sends it
            handler.server_version, handler.sys_version = server, ""
        return int(meta["status"]), headers, body.encode("utf-8")

    return route


@pytest.fixture
def walls_site() -> Iterator[SiteServer]:
    server = SiteServer(root=CRAWL_SITE).start()
    for name in (*BLOCKED, *ORDINARY):
        server.route(f"/walls/{name}", _recorded_route(name))
    yield server
    server.stop()


def test_walls_are_recorded_blocked_by_site_and_never_sent_to_the_model(
    walls_site: SiteServer,
    moto_server: MotoServer,
    s3: S3Client,
    bucket: str,
    gemini: GeminiServer,
    tmp_path: Path,
) -> None:
    crawl = Crawl(walls_site, moto_server.endpoint, bucket, tmp_path / "spill")
    urls = {name: walls_site.url(f"/walls/{name}") for name in (*BLOCKED, *ORDINARY)}
    result = crawl.run(
        "urls=" + " ".join(urls.values()),
        DOWNLOAD_HANDLERS=None,
        SELENIUM_RENDER_BY_DEFAULT=True,
        SELENIUM_POOL_SIZE=1,
        DOWNLOAD_DELAY=0,
        AUTOTHROTTLE_ENABLED=False,
    )

    assert result.returncode == 1, result.log  # walls are failed pages
    blocked_stat = re.search(r"'rivalscope/blocked_by_site': (\d+)", result.log)
    assert blocked_stat is not None, result.log
    assert int(blocked_stat[1]) == len(BLOCKED)
    chunks = stored_chunks(s3, bucket)
    records = {r["url"]: r for lines in chunks.values() for r in lines}
    assert sorted(records) == sorted(urls.values())
    for name, service in BLOCKED.items():
        record = records[urls[name]]
        assert record["error"]["type"] == "blocked_by_site", (name, record["error"])
        assert record["error"]["message"].startswith(f"{service} bot wall: "), name
        assert record["body"], name  # kept for a person to look at
        assert record["screenshot"] is not None, name
    challenge = records[urls["cloudflare_managed_challenge"]]
    assert "cf-mitigated: challenge header" in challenge["error"]["message"]  # seen by Chromium
    assert challenge["status"] == 403
    datadome = records[urls["datadome_captcha"]]
    assert "datadome cookie" in datadome["error"]["message"]  # Set-Cookie reached the record
    for name in ORDINARY:
        assert records[urls[name]]["error"] is None, (name, records[urls[name]]["error"])

    for key in chunks:
        lambda_handler(retarget(load_event("s3_put.json"), bucket, key), LocalContext(120))

    analysed = {r["url"]: r for r in results(s3, bucket).values()}
    assert sorted(analysed) == sorted(urls.values())
    assert gemini.calls == len(ORDINARY)  # one model call per ordinary page, none for walls
    for name in BLOCKED:
        outcome = analysed[urls[name]]
        assert outcome["analysis"] is None
        assert outcome["error"] == records[urls[name]]["error"]
    for name in ORDINARY:
        assert analysed[urls[name]]["error"] is None
        assert analysed[urls[name]]["analysis"] is not None

    run_uri = "s3://{}/{}".format(bucket, next(iter(chunks)).rsplit("/", 1)[0] + "/")
    prompt_id = next(iter(analysed.values()))["prompt_id"]
    out = tmp_path / "report"
    proc = run_report(moto_server, run_uri, "--prompt", prompt_id, "--out", out)
    assert proc.returncode == 1, proc.stderr  # walls were not analysed
    assert f"{len(ORDINARY)} analysed, 0 failed, 0 not analysed, {len(BLOCKED)} blocked" in (
        proc.stdout
    )
    _check_report_in_chromium(out / "report.html", tmp_path)


def _image_loaded(image: WebElement) -> Callable[[webdriver.Chrome], bool]:
    def loaded(driver: webdriver.Chrome) -> bool:
        script = "return arguments[0].complete && arguments[0].naturalWidth > 0"
        return bool(driver.execute_script(script, image))

    return loaded


def _check_report_in_chromium(report: Path, tmp_path: Path) -> None:
    """Opens the report as a user does: the walls have their own state, with the reason and
    the screenshot of what the crawler was shown; a full-page capture is kept for a look."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'chrome'}",
                 "--window-size=1400,1000"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(report.as_uri())
        Select(driver.find_element(By.ID, "status-filter")).select_by_value("blocked")
        shown = [c for c in driver.find_elements(By.CSS_SELECTOR, ".card") if c.is_displayed()]
        assert len(shown) == len(BLOCKED)
        for card in shown:
            assert card.find_element(By.CSS_SELECTOR, ".badge").text == "Blocked by site"
            reason = card.find_element(By.CSS_SELECTOR, ".wall .reason").text
            assert reason.startswith(tuple(f"{s} bot wall: " for s in BLOCKED.values()))
            image = card.find_element(By.CSS_SELECTOR, ".shot img")
            driver.execute_script("arguments[0].scrollIntoView()", image)  # loading="lazy"
            # the kept screenshot is there to look at
            WebDriverWait(driver, 30).until(_image_loaded(image), message=reason)
        Select(driver.find_element(By.ID, "status-filter")).select_by_value("")
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1400, min(int(height) + 100, 6000))
        driver.save_screenshot(str(REPORT_SHOT))
    finally:
        driver.quit()
