"""Screenshot format benchmark: time and bytes of each way to encode a full-page capture.

Run: ``.venv/bin/python -m tests.integration.crawler.browser.screenshot_bench [--repeat N]``

One reused browser renders the tallest text-heavy pricing page and an image-heavy gallery of the
benchmark workload (bench/workload.py, loopback), then captures each page several times per
option and reports the median milliseconds of capture + encode, the encoded bytes, and the
pages/min one browser would reach (whole render_page, measured per format). Used to choose
``SELENIUM_SCREENSHOT_FORMAT`` (bench/RESULTS.md, "Screenshot format").
"""

from __future__ import annotations

import argparse
import base64
import io
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image
from scrapy.settings import Settings

from bench.workload import WorkloadServers, build_workload
from crawler.browser import screenshot
from crawler.browser.config import SeleniumConfig
from crawler.browser.page import RenderOptions, render_page
from crawler.browser.session import BrowserSession
from tests.project_settings import project_settings_dict

if TYPE_CHECKING:
    from collections.abc import Callable


def _cdp(driver: Any, fmt: str, **extra: Any) -> bytes:
    width, height = screenshot.page_size(driver)
    params: dict[str, Any] = {
        "format": fmt,
        "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        **extra,
    }
    return base64.b64decode(driver.execute_cdp_cmd("Page.captureScreenshot", params)["data"])


def _pillow(driver: Any, fmt: str) -> bytes:
    """Fast PNG from Chrome, decoded and re-encoded by Pillow (the tiled path)."""
    width, height = screenshot.page_size(driver)
    tile = screenshot.Tile(0, height)
    image = Image.open(io.BytesIO(base64.b64decode(screenshot.capture_tile(driver, width, tile))))
    return screenshot.encode(image.convert("RGB"), fmt, 80)  # type: ignore[arg-type]


def _pipeline(driver: Any, fmt: str) -> bytes:
    """What full_page does for this format (one tile below 8,000 px, tiles above)."""
    shot = screenshot.full_page(driver, fmt, 80, 30000)  # type: ignore[arg-type]
    return base64.b64decode(shot.data)


OPTIONS: dict[str, Callable[[Any], bytes]] = {
    "CDP png (default)": lambda d: _cdp(d, "png"),
    "CDP png optimizeForSpeed": lambda d: _cdp(d, "png", optimizeForSpeed=True),
    "CDP jpeg q80": lambda d: _cdp(d, "jpeg", quality=80),
    "CDP webp q80": lambda d: _cdp(d, "webp", quality=80),
    "fast png + Pillow webp q80 m0": lambda d: _pillow(d, "webp"),
    "fast png + Pillow jpeg q80": lambda d: _pillow(d, "jpeg"),
    "full_page png": lambda d: _pipeline(d, "png"),
    "full_page jpeg": lambda d: _pipeline(d, "jpeg"),
    "full_page webp": lambda d: _pipeline(d, "webp"),
}


def _bench_render(session: BrowserSession, url: str, base: dict[str, Any], repeat: int) -> None:
    """Whole render_page per configured format, rounds interleaved so load hits all alike."""
    configs = {
        fmt: SeleniumConfig.from_settings(Settings({**base, "SELENIUM_SCREENSHOT_FORMAT": fmt}))
        for fmt in ("png", "jpeg", "webp")
    }
    times: dict[str, list[float]] = {fmt: [] for fmt in configs}
    sizes: dict[str, int] = {}
    for _ in range(repeat):
        for fmt, config in configs.items():
            started = time.perf_counter()
            page = render_page(session, url, config, RenderOptions())
            times[fmt].append(time.perf_counter() - started)
            assert page.screenshot is not None
            sizes[fmt] = len(base64.b64decode(page.screenshot.data))
    for fmt, spent in times.items():
        median = statistics.median(spent)
        print(
            f"  render_page as {fmt:5s} {median * 1000:6.0f} ms {sizes[fmt] / 1024:7.0f} KB"
            f"  -> {60 / median:5.1f} pages/min per browser"
        )


def _bench_captures(session: BrowserSession, label: str, repeat: int, save: Path) -> None:
    times: dict[str, list[float]] = {name: [] for name in OPTIONS}
    outputs: dict[str, bytes] = {}
    for _ in range(repeat):
        for name, capture in OPTIONS.items():
            started = time.perf_counter()
            outputs[name] = capture(session.driver)
            times[name].append(time.perf_counter() - started)
    for name, data in outputs.items():
        median = statistics.median(times[name])
        print(f"  {name:32s} {median * 1000:6.0f} ms {len(data) / 1024:7.0f} KB")
        slug = name.replace(" ", "_").replace("(", "").replace(")", "")
        Image.open(io.BytesIO(data)).convert("RGB").save(save / f"{label}-{slug}.png")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--save", type=Path, default=Path("/tmp/screenshot-bench"))
    args = parser.parse_args()
    args.save.mkdir(parents=True, exist_ok=True)
    workload = build_workload()
    servers = WorkloadServers(workload).start()
    pages = [(url, page) for url, page in servers.urls() if page.kind in ("pricing", "gallery")]
    text_url, text_page = max(
        ((u, p) for u, p in pages if p.kind == "pricing"), key=lambda up: up[1].expected_height
    )
    image_url, image_page = next((u, p) for u, p in pages if p.kind == "gallery")
    base = project_settings_dict()
    settings = Settings(base)
    session = BrowserSession.start(SeleniumConfig.from_settings(settings))
    try:
        for label, url, page in (("text", text_url, text_page), ("image", image_url, image_page)):
            print(f"\n{label} page {url} ({page.expected_height} px)")
            _bench_render(session, url, base, args.repeat)
            _bench_captures(session, label, args.repeat, args.save)
    finally:
        session.quit()
        servers.stop()


if __name__ == "__main__":
    main()
