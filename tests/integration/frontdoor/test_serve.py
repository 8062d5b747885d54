"""``make serve`` as its users meet it: the command started as a subprocess on a free port,
the API called over HTTP with curl's requests, and the web page driven in headless Chromium —
start a run of the demo sites, watch it go through crawling and analysing to done, open the
report. The whole local stack is real: moto's endpoint, the crawl with Chromium, the queue
worker, the ``extract`` analyser, the run-complete step."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
KEY = "rs_serve-test-key"
RUN_DEADLINE = 360.0  # a bound for a loaded machine, not a speed goal
DEMO = ["http://acme.demo/pricing.html", "http://northwind.demo/pricing.html"]


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("serve") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "AWS_ENDPOINT"))}
    env |= {"RIVALSCOPE_API_KEY": KEY, "ANALYZER": "extract", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rivalscope_local.serve", "--port", "0", "--data-dir", str(data)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    url = ""
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("rivalscope: open "):
            url = line.split()[2].split("/#", 1)[0]
            break
    assert url, "".join(lines)
    assert url.startswith("http://127.0.0.1:")  # loopback only
    assert f"#key={KEY}" in lines[-1]
    served = Served(url, proc, lines)
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        yield served
    finally:
        # Ctrl-C, as a user stops it: everything started is stopped, data/ saved, exit 0
        os.killpg(proc.pid, signal.SIGINT)
        try:
            code = proc.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait(10)
        reader.join(5)
        proc.stdout.close()
        assert code == 0, "".join(lines[-30:])
        assert (data / "s3").is_dir()


def _call(served: Served, method: str, path: str, body: Any = None, key: str | None = KEY,
          ) -> tuple[int, dict[str, str], Any]:  # fmt: skip
    request = urllib.request.Request(f"{served.url}{path}", method=method)
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
        request.data = json.dumps(body).encode()
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, dict(reply.headers), json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def _fetch(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=60) as reply:
        return reply.headers["content-type"], reply.read()


def test_a_run_started_through_the_api_ends_with_its_results(served: Served) -> None:
    assert _call(served, "GET", "/runs", key=None)[0] == 401
    assert _call(served, "GET", "/runs", key="rs_wrong")[0] == 401
    refused = _call(served, "POST", "/runs", {"urls": ["http://127.0.0.1:22/"], "prompt": "x y"})
    assert (refused[0], refused[2]["error"]["code"]) == (400, "blocked_address")
    huge = _call(served, "POST", "/runs", {"urls": DEMO, "prompt": "x " * 40_000})
    assert (huge[0], huge[2]["error"]["code"]) == (413, "body_too_large")  # read no further

    prompt = "Which plans do they offer, and at what prices?"
    missing = "http://northwind.demo/no-such-page.html"  # a 404: recorded, never dropped
    body = {"urls": [*DEMO, missing], "prompt": prompt}
    status, headers, started = _call(served, "POST", "/runs", body)
    assert status == 202, started
    run = started["run"]
    assert headers["location"] == started["status_url"] == f"{served.url}/runs/{run}"
    seen: list[str] = []
    deadline = time.monotonic() + RUN_DEADLINE
    while time.monotonic() < deadline:
        answer = _call(served, "GET", f"/runs/{run}")[2]
        if not seen or seen[-1] != answer["status"]:
            seen.append(answer["status"])
        if answer["status"] in ("done", "failed"):
            break
        time.sleep(1)
    assert seen[0] == "crawling"
    assert seen[-1] == "done", (answer, "".join(served.lines[-20:]))
    assert answer["progress"]["pages"] == answer["progress"]["pages_analysed"] == 3
    [failed] = [page for page in answer["pages"] if page["status"] == "failed"]
    assert failed["url"].endswith("/no-such-page.html")
    assert failed["analysis"] is None
    assert "404" in failed["error"]["message"], failed["error"]
    analysed = [page for page in answer["pages"] if page["status"] == "done"]
    titles = sorted(page["analysis"]["title"] for page in analysed)
    assert titles == ["Pricing — Acme Analytics", "Pricing — Northwind Metrics"], answer
    for page in analysed:
        assert (page["status"], page["error"]) == ("done", None)
        kind, data = _fetch(page["screenshot_url"])
        # the default format, auto, stores a pricing (text) page as a palette PNG
        assert kind == "image/png"
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    kind, html = _fetch(answer["report_url"])
    assert kind.startswith("text/html")
    assert "Pricing — Northwind Metrics" in html.decode()
    # the ad-hoc prompt was stored like any prompt: a second request finds the same one
    again = _call(served, "GET", "/runs")[2]["runs"]
    assert [r["prompt"] for r in again if r["run"] == run] == [started["prompt"] | {"adhoc": True}]


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    profile = tempfile.mkdtemp(prefix="serve-chrome-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                 "--window-size=1300,1000"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _listed_runs(driver: webdriver.Chrome) -> list[str]:
    """The run ids of the page's table, read in one script: the table is redrawn every 2 s,
    so rows found by one command can be gone by the next."""
    runs: list[str] = driver.execute_script(
        "return [...document.querySelectorAll('#runs tbody tr')].map(r => r.dataset.run || '')"
    )
    return runs


def test_the_page_starts_a_demo_run_shows_its_progress_and_opens_its_report(
    served: Served, browser: webdriver.Chrome
) -> None:
    browser.get(f"{served.url}/#key={KEY}")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: "#key" not in d.current_url)  # the key leaves the address bar
    assert browser.find_element(By.ID, "key-section").is_displayed() is False
    # a mistake is shown beside the form, in words, with the URL it is about
    browser.find_element(By.ID, "urls").send_keys("http://10.1.2.3/intranet")
    browser.find_element(By.ID, "prompt").send_keys("What is on this page?")
    browser.find_element(By.ID, "start").click()
    error = browser.find_element(By.ID, "form-error")
    wait.until(lambda d: error.is_displayed())
    assert "refused" in error.text
    assert "http://10.1.2.3/intranet" in error.text
    assert "ALLOW_PRIVATE_ADDRESSES" in error.text
    browser.find_element(By.ID, "prompt").clear()
    browser.find_element(By.ID, "demo-urls").click()
    urls = browser.find_element(By.ID, "urls").get_attribute("value") or ""
    assert "http://acme.demo/pricing.html" in urls.split()
    browser.find_element(By.ID, "prompt").send_keys("What does each plan cost?")
    wait.until(lambda d: d.find_element(By.ID, "runs").get_attribute("data-loaded") == "true")
    before = set(_listed_runs(browser))
    browser.find_element(By.ID, "start").click()

    def new_run(driver: webdriver.Chrome) -> Any:
        fresh = [run for run in _listed_runs(driver) if run not in before]
        return fresh[0] if fresh else False

    run = wait.until(new_run)
    selector = f'#runs tbody tr[data-run="{run}"]'
    seen: list[tuple[str, str]] = []
    deadline = time.monotonic() + RUN_DEADLINE
    while time.monotonic() < deadline:
        try:
            row = browser.find_element(By.CSS_SELECTOR, selector)
            state = row.get_attribute("data-status") or ""
            shown = row.find_element(By.CSS_SELECTOR, "td.progress").text
        except (
            StaleElementReferenceException,
            NoSuchElementException,
        ):  # the table is redrawn every 2 s: look again
            continue
        if not seen or seen[-1] != (state, shown):
            seen.append((state, shown))
        if state in ("done", "failed"):
            break
        time.sleep(0.3)
    states = [state for state, _ in seen]
    assert states[0] in ("crawling", "analysing")
    assert states[-1] == "done", (seen, browser.find_element(By.ID, "runs-error").text)
    assert any("analysed" in text for _, text in seen)  # progress was shown while it ran
    assert row.find_element(By.CSS_SELECTOR, ".status").text == "done"

    link = row.find_element(By.CSS_SELECTOR, "a.report")
    assert link.text == "open the report"
    main = browser.current_window_handle
    link.click()
    wait.until(lambda d: len(d.window_handles) == 2)
    browser.switch_to.window(next(h for h in browser.window_handles if h != main))
    wait.until(expected_conditions.presence_of_element_located((By.TAG_NAME, "main")))
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "Pricing — Acme Analytics" in text
    assert "Pricing — Northwind Metrics" in text
    images = browser.find_elements(By.CSS_SELECTOR, "main img")  # the cards' thumbnails
    assert images
    loaded = "return arguments[0].complete && arguments[0].naturalWidth > 0"
    wait.until(lambda d: d.execute_script(loaded, images[0]))  # the first card's screenshot

    browser.switch_to.window(main)
    violations = [
        e for e in browser.get_log("browser") if "Content Security Policy" in e["message"]
    ]
    assert violations == []  # the page keeps to its strict CSP: nothing inline, nothing foreign


def test_a_notification_url_apprise_cannot_use_stops_the_server_at_its_start(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "AWS_ENDPOINT"))}
    env |= {"RIVALSCOPE_API_KEY": KEY, "ANALYZER": "extract",
            "NOTIFY_URLS": "nosuchservice://team/channel"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "rivalscope_local.serve", "--port", "0",
         "--data-dir", str(tmp_path / "data")],
        check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    shown = done.stdout + done.stderr
    assert done.returncode == 2, shown
    assert "NOTIFY_URLS" in shown
    assert "nosuchservice://" in shown
    assert "open http" not in shown  # no server was offered
