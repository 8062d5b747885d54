"""``SELENIUM_SCREENSHOT_FORMAT=auto`` in a real crawl (issue #16): real headless Chromium renders
loopback pages, the screenshot pipeline re-encodes each capture, moto stores the chunks; the
stored screenshots are read back as the analyser and the report read them."""

from __future__ import annotations

import base64
import io
import random
import re
import shutil
import signal
import time
from typing import TYPE_CHECKING, Any

import psutil
import pytest
from PIL import Image

from analyzer_lambda.analyzers.gemini.image import prepare_screenshot
from analyzer_lambda.report.screenshots import write_screenshot
from rivalscope_core.records import Screenshot
from tests.integration.crawler.conftest import stored_records
from tests.servers.site import answer

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from tests.integration.crawler.conftest import Crawl
    from tests.servers.site import SiteServer, _Handler

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("chromedriver") is None, reason="needs chromium-driver"),
]

RENDERED: dict[str, Any] = {"DOWNLOAD_HANDLERS": None, "SELENIUM_RENDER_BY_DEFAULT": True}
_TEXT = (
    "<title>{title}</title><body style='font-family:sans-serif;margin:24px'>"
    "<h1>Plans and prices</h1>"
    + "<p>The Growth plan is $49 per seat and month, billed annually; Scale adds SSO and audit"
    " logs. 料金プランはチームの規模と利用量に応じて選べます。年払いで二か月分お得です。</p>" * 40
)


def _photo() -> bytes:
    """A noisy colour picture, as a photograph is to an encoder (no two pixels alike)."""
    rng = random.Random(7)  # noqa: S311 - test pixels, not secrets
    image = Image.frombytes("RGB", (1200, 1600), rng.randbytes(1200 * 1600 * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _shot_image(shot: dict[str, object]) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(str(shot["data"]))))
    image.load()
    return image


def _format_of(path: Path) -> str | None:
    with Image.open(path) as image:
        return image.format


def test_a_text_page_is_stored_as_a_palette_png_and_a_photo_page_as_jpeg(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    crawl_site.route("/text", answer(_TEXT.format(title="text").encode()))
    crawl_site.route("/photo.jpg", answer(_photo(), "image/jpeg"))
    crawl_site.route(
        "/photo", answer(b"<title>photo</title><body style='margin:0'><img src='/photo.jpg'>")
    )
    result = crawl.run(
        "urls=" + " ".join(crawl_site.url(p) for p in ("/text", "/photo")),
        SELENIUM_SCREENSHOT_FORMAT="auto",
        SELENIUM_POOL_SIZE=1,
        **RENDERED,
    )
    assert result.returncode == 0, result.log
    records = {r["title"]: r for r in stored_records(s3, bucket)}

    text, photo = records["text"]["screenshot"], records["photo"]["screenshot"]
    text_image, photo_image = _shot_image(text), _shot_image(photo)
    assert (text["format"], text_image.format, text_image.mode) == ("png", "PNG", "P")
    assert (photo["format"], photo_image.format) == ("jpeg", "JPEG")
    for shot, image in ((text, text_image), (photo, photo_image)):
        assert (shot["width"], shot["height"]) == image.size
    assert "'screenshot/stored_as/png': 1" in result.log
    assert "'screenshot/stored_as/jpeg': 1" in result.log
    # the photo page, nearly all picture, is Chrome's JPEG: its fast PNG is never made
    assert "'screenshot/captured_as/jpeg': 1" in result.log
    assert "'screenshot/captured_as/png': 1" in result.log

    # The analyser sends either as a JPEG of the top of the page, saying so.
    for shot in (text, photo):
        prepared = prepare_screenshot(str(shot["data"]), 1536)
        assert prepared.mime_type == "image/jpeg"
        assert Image.open(io.BytesIO(prepared.data)).format == "JPEG"
    # The report writes each with the extension of what it is, and its thumbnail.
    (tmp_path / "screenshots").mkdir()
    for name, shot in (("text", text), ("photo", photo)):
        files = write_screenshot(Screenshot.from_dict(shot), name, tmp_path)  # type: ignore[arg-type]
        assert files is not None
        assert _format_of(tmp_path / files.full) == {"png": "PNG", "jpeg": "JPEG"}[shot["format"]]
        assert files.full.endswith({"png": ".png", "jpeg": ".jpg"}[str(shot["format"])])
        assert _format_of(tmp_path / files.thumb) == "WEBP"


PAGES = 12
SCRAPED = re.compile(r"Scraped from <\d+ (\S+)>")


def _slow_text(handler: _Handler) -> tuple[int, dict[str, str], bytes]:
    time.sleep(0.5)
    return 200, {}, _TEXT.format(title=f"slow {handler.path}").encode()


def test_sigterm_mid_crawl_stores_every_scraped_page_re_encoded(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    crawl_site.route("/slow", _slow_text)
    # Selenium's DEBUG lines carry whole browser logs: to a file, not a pipe nobody reads yet.
    log_file = tmp_path / "crawl.log"
    process = crawl.start(
        "urls=" + " ".join(crawl_site.url(f"/slow?n={n}") for n in range(PAGES)),
        SELENIUM_SCREENSHOT_FORMAT="auto",
        SELENIUM_POOL_SIZE=2,
        CONCURRENT_REQUESTS_PER_DOMAIN=2,
        DOWNLOAD_DELAY=0.1,
        S3PIPELINE_MAX_CHUNK_SIZE=2,
        RIVALSCOPE_STOP_GRACE=30,
        LOG_LEVEL="DEBUG",
        LOG_FILE=str(log_file),
        **RENDERED,
    )
    deadline = time.monotonic() + 120
    while (
        len([r for r in crawl_site.requests() if r.path.startswith("/slow")]) < 4
        and process.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert process.poll() is None, "the crawl ended before it could be stopped"
    # What a stop of the whole process group (Ctrl-C, a container's stop) does too: the
    # re-encoding process is told as well, and must still finish the pages in flight.
    for worker in _encode_workers(process.pid):
        worker.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=150)
    log = log_file.read_text("utf-8")

    assert "Stopping (SIGTERM)" in log
    scraped = SCRAPED.findall(log)
    records = stored_records(s3, bucket)
    assert len(scraped) >= 2, log[-3000:]
    assert len(scraped) < PAGES, "the stop came too late to test anything"
    assert sorted(r["url"] for r in records) == sorted(scraped)  # every page, once
    stored = [(r["screenshot"]["format"], _shot_image(r["screenshot"]).mode) for r in records]
    # each one re-encoded before it was stored (or, had the encoder been behind, captured as
    # Chrome's JPEG): never Chrome's fast PNG as captured
    assert set(stored) <= {("png", "P"), ("jpeg", "RGB")}, stored
    assert ("png", "P") in stored
    assert "reencode_failed" not in log


def _encode_workers(crawl_pid: int) -> list[psutil.Process]:
    """The crawl's re-encoding process (``crawler/browser/encode_worker.py``), once started."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        workers = [
            child
            for child in psutil.Process(crawl_pid).children(recursive=True)
            if "crawler.browser.encode_worker" in " ".join(child.cmdline())
        ]
        if workers:
            return workers
        time.sleep(0.05)
    raise AssertionError("no re-encoding process started")


STALLED_PAGES = 6


def test_a_stalled_encoder_holds_no_browser_back_and_loses_no_page(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    """The encoder getting no CPU at all (here: stopped) is the busiest machine's extreme: the
    pages that took its backlog's two places wait for it, every later one is captured as
    Chrome's JPEG and stored at once, and the waiting ones are stored re-encoded when it runs
    again."""
    crawl_site.route("/text", answer(_TEXT.format(title="text").encode()))
    log_file = tmp_path / "crawl.log"
    process = crawl.start(
        "urls=" + " ".join(crawl_site.url(f"/text?n={n}") for n in range(STALLED_PAGES)),
        SELENIUM_SCREENSHOT_FORMAT="auto",
        SELENIUM_POOL_SIZE=1,
        CONCURRENT_REQUESTS_PER_DOMAIN=STALLED_PAGES,
        LOG_LEVEL="DEBUG",
        LOG_FILE=str(log_file),
        **RENDERED,
    )
    (worker,) = _encode_workers(process.pid)
    worker.suspend()
    try:
        deadline = time.monotonic() + 120
        while (
            len(SCRAPED.findall(log_file.read_text("utf-8") if log_file.exists() else ""))
            < STALLED_PAGES - 2
            and process.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.1)
        assert process.poll() is None, "the crawl ended with its encoder stopped"
    finally:
        worker.resume()
    process.communicate(timeout=120)
    log = log_file.read_text("utf-8")

    assert process.returncode == 0, log[-3000:]
    records = stored_records(s3, bucket)
    assert len(records) == STALLED_PAGES
    stored = sorted(
        (r["screenshot"]["format"], _shot_image(r["screenshot"]).mode) for r in records
    )
    assert stored == [("jpeg", "RGB")] * (STALLED_PAGES - 2) + [("png", "P")] * 2
    assert f"'screenshot/encoder_busy': {STALLED_PAGES - 2}" in log
