"""What each of Chrome's own screenshot encoders costs the browser, and its bytes (issue #16).

``python -m bench.capture_formats [--pages N] [--rounds R] [--save DIR] FORMAT ...`` renders the
crawl benchmark's workload (bench/workload.py, loopback) in one reused browser, and on each
rendered page takes one full-page ``Page.captureScreenshot`` per FORMAT, formats interleaved
(their order reversed every other round). A FORMAT is ``png`` (Chrome's default compression),
``fastpng`` (``optimizeForSpeed``, what ``auto`` captures), ``jpeg:Q`` or ``webp:Q``. It prints,
per format, the median CPU seconds of the browser's process tree (chromedriver included) per
capture and the stored bytes against Chrome's default PNG of the same page. ``--save DIR``
keeps each page's fast PNG for ``bench.encode_steps``, which times the crawler's side.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import time
from pathlib import Path
from typing import Any

import psutil
from scrapy.settings import Settings

from bench.pss import tree_cpu
from bench.workload import WorkloadServers, build_workload
from crawler.browser import screenshot
from crawler.browser.config import SeleniumConfig
from crawler.browser.session import BrowserSession
from tests.project_settings import project_settings_dict


def _params(fmt: str, width: int, height: int) -> dict[str, Any]:
    name, _, quality = fmt.partition(":")
    params: dict[str, Any] = {
        "format": "png" if name == "fastpng" else name,
        "captureBeyondViewport": True,
        "fromSurface": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
    }
    if name == "fastpng":
        params["optimizeForSpeed"] = True
    if quality:
        params["quality"] = int(quality)
    return params


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.capture_formats", description=__doc__)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--save", type=Path)
    parser.add_argument("formats", nargs="+")
    args = parser.parse_args()
    formats: list[str] = ["png", *[f for f in args.formats if f != "png"]]
    servers = WorkloadServers(build_workload(args.pages)).start()
    config = SeleniumConfig.from_settings(Settings(project_settings_dict()))
    browser = BrowserSession.start(config)
    root = psutil.Process(browser.process_group)
    cpu: dict[str, list[float]] = {fmt: [] for fmt in formats}
    ratio: dict[str, list[float]] = {fmt: [] for fmt in formats}
    kb: dict[str, list[float]] = {fmt: [] for fmt in formats}
    try:
        for round_ in range(args.rounds):
            for number, (url, page) in enumerate(servers.urls()):
                # render_page leaves the browser on about:blank: load the page as it does, then
                # give the late JavaScript block and the lazy image time to arrive.
                browser.driver.get(url)
                browser.driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
                time.sleep(0.4)
                browser.driver.execute_script("window.scrollTo(0, 0)")
                width, height = screenshot.page_size(browser.driver)
                height = min(height, screenshot.SINGLE_CAPTURE_HEIGHT)
                order = formats if (round_ + number) % 2 == 0 else formats[::-1]
                sizes: dict[str, int] = {}
                for fmt in order:
                    before = tree_cpu(root)
                    result = browser.driver.execute_cdp_cmd(
                        "Page.captureScreenshot", _params(fmt, width, height)
                    )
                    cpu[fmt].append(tree_cpu(root) - before)
                    data = base64.b64decode(result["data"])
                    sizes[fmt] = len(data)
                    if args.save and fmt == "fastpng" and round_ == 0:
                        args.save.mkdir(parents=True, exist_ok=True)
                        (args.save / f"{number:02d}-{page.kind}.png").write_bytes(data)
                for fmt in formats:
                    ratio[fmt].append(sizes[fmt] / sizes["png"])
                    kb[fmt].append(sizes[fmt] / 1024)
                print(url, page.kind, height, {f: round(s / 1024) for f, s in sizes.items()})
    finally:
        browser.quit()
        servers.stop()
    print(f"load {psutil.getloadavg()[0]:.1f}; medians over {len(cpu['png'])} captures")
    print("format        browser CPU s  KB/page  bytes / Chrome PNG (min-max)")
    for fmt in formats:
        print(
            f"{fmt:12s}  {statistics.median(cpu[fmt]):.3f}          "
            f"{statistics.mean(kb[fmt]):7.0f}  {statistics.median(ratio[fmt]):.2f}x "
            f"({min(ratio[fmt]):.2f}-{max(ratio[fmt]):.2f})"
        )


if __name__ == "__main__":
    main()
