"""The baseline: the original design, a new Chrome (Selenium) for every URL, 5 threads.

Each page pays a browser start and quit. The full-page capture is the same CDP call a reused
browser would make (``Page.captureScreenshot`` with ``captureBeyondViewport`` and a clip of
the whole layout), so the comparison measures browser reuse, not capture technique. Run by
``bench.crawl`` in its own process: ``python -m bench.baseline URLS_FILE OUT_DIR TIMING_FILE``.
"""

from __future__ import annotations

import base64
import json
import math
import os
import struct
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from selenium import webdriver

THREADS = 5
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PAGE_LOAD_TIMEOUT = 30
# Flags that work as root in a container (crawler/browser/flags.py has the crawler's own);
# shared with the scrapy-playwright run.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def png_height(data: bytes) -> int | None:
    """The pixel height from a PNG's IHDR chunk (no decoding)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return None
    return int(struct.unpack(">I", data[20:24])[0])


def file_stem(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path.strip("/").removesuffix(".html").replace("/", "_") or "index"
    return f"{parts.hostname}_{parts.port}_{path}"


def _driver(profile: str) -> webdriver.Chrome:
    # Imported here so that the scrapy-playwright run, which borrows the helpers above,
    # does not carry Selenium in its measured memory.
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (*CHROMIUM_ARGS, "--headless=new", "--window-size=1280,900"):
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
    return driver


def full_page_png(driver: webdriver.Chrome) -> bytes:
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    clip = {
        "x": 0,
        "y": 0,
        "width": math.ceil(size["width"]),
        "height": math.ceil(size["height"]),
        "scale": 1,
    }
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": clip},
    )
    return base64.b64decode(shot["data"])


def render(url: str, out_dir: Path) -> dict[str, Any]:
    """Start Chrome, load ``url``, capture, quit: the cost of one page in the original design."""
    started = time.monotonic()
    page: dict[str, Any] = {"url": url}
    with tempfile.TemporaryDirectory(prefix="bench-chrome-") as profile:
        driver = None
        try:
            driver = _driver(profile)
            driver.get(url)
            shot = full_page_png(driver)
            html = driver.page_source.encode()
            stem = file_stem(url)
            (out_dir / f"{stem}.png").write_bytes(shot)
            (out_dir / f"{stem}.html").write_bytes(html)
            page.update(bytes=len(shot) + len(html), shot_height=png_height(shot))
        except Exception as exc:  # noqa: BLE001 - a failed page is recorded, as the crawler does
            page["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            if driver is not None:
                driver.quit()
    page.update(render_ms=(time.monotonic() - started) * 1000, done_at=time.time())
    return page


def main(argv: list[str]) -> None:
    urls_file, out_dir, timing_file = argv
    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ.setdefault("SE_AVOID_STATS", "true")
    urls = Path(urls_file).read_text().split()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    pages: list[dict[str, Any]] = []

    def one(url: str) -> None:
        page = render(url, out)
        with lock:
            pages.append(page)

    first_request = time.time()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, urls))
    report = {"first_request": first_request, "finished": time.time(), "pages": pages}
    Path(timing_file).write_text(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
