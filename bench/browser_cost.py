"""Where one browser's CPU and memory go, per Chromium flag set or capture mode (issue #16).

``python -m bench.browser_cost [--pages N] [--rounds R] VARIANT ...`` renders the crawl
benchmark's workload (bench/workload.py, loopback) serially in one reused browser per variant,
variants interleaved round by round, and prints for each the CPU seconds per page and the peak
PSS of every process kind (python's own render thread included), and how many screenshots hold
the whole page. It screens a flag cheaply; the crawl benchmark (``python -m bench.crawl
--against``) decides.

A variant is ``name`` or ``name:+--flag;+--flag2;---flag-to-drop`` (``+`` adds a flag, ``-``
drops one of ``CHROMIUM_FLAGS``); ``name`` alone is the project's flags.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import psutil
from PIL import Image
from scrapy.settings import Settings

from bench.pss import tree_pss
from bench.workload import WorkloadServers, build_workload
from crawler.browser import flags, screenshot, session
from crawler.browser.config import SeleniumConfig
from crawler.browser.page import RenderOptions, render_page
from crawler.browser.session import BrowserSession
from tests.project_settings import project_settings_dict


@dataclass
class Variant:
    name: str
    add: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    cpu: list[dict[str, float]] = field(default_factory=list)
    peak: list[dict[str, float]] = field(default_factory=list)
    capture: str = ""
    idle: list[dict[str, float]] = field(default_factory=list)
    complete: int = 0
    pages: int = 0
    # sha256 of each page's screenshot bytes, by url (the last round's): same pixels as
    # the first variant's, or not
    digests: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Variant:
        name, _, spec = text.partition(":")
        variant = cls(name)
        for item in filter(None, spec.split(";")):
            if item[0] == "@":
                variant.capture = item[1:]
            else:
                (variant.add if item[0] == "+" else variant.drop).append(item[1:])
        return variant

    def flags(self) -> tuple[str, ...]:
        return (*(f for f in flags.CHROMIUM_FLAGS if f not in self.drop), *self.add)


def _capture_in_metrics(
    driver: Any, width: int, tile: screenshot.Tile, fmt: str = "png", quality: int = 80
) -> str:
    """The viewport made as tall as the tile, then an ordinary capture."""
    metrics = {"width": width, "height": tile.y + tile.height, "deviceScaleFactor": 0}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "mobile": False})
    try:
        clip = {"x": 0, "y": tile.y, "width": width, "height": tile.height, "scale": 1}
        params: dict[str, Any] = {"format": fmt, "clip": clip}
        params.update({"optimizeForSpeed": True} if fmt == "png" else {"quality": quality})
        return str(driver.execute_cdp_cmd("Page.captureScreenshot", params)["data"])
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


CAPTURES = {"": screenshot.capture_tile, "metrics": _capture_in_metrics}


def _run(variant: Variant, urls: list[tuple[str, int]], config: SeleniumConfig) -> None:
    setattr(session, "CHROMIUM_FLAGS", variant.flags())  # noqa: B010 (a variant's flags)
    screenshot.capture_tile = CAPTURES[variant.capture]
    browser = BrowserSession.start(config)
    root = psutil.Process(browser.process_group)
    cpu: dict[tuple[int, float], float] = {}
    kinds: dict[tuple[int, float], str] = {}
    peak: dict[str, float] = {}
    _total, _count, idle = tree_pss(root, cpu, kinds)
    variant.idle.append({kind: value / 2**20 for kind, value in idle.items()})
    start_cpu = dict(cpu)
    python_cpu = time.thread_time()
    try:
        for url, expected in urls:
            page = render_page(browser, url, config, RenderOptions())
            total, _count, by_kind = tree_pss(root, cpu, kinds)
            for kind, value in (*by_kind.items(), ("total", total)):
                peak[kind] = max(peak.get(kind, 0.0), value / 2**20)
            shot = page.screenshot
            if shot is not None:
                Image.open(io.BytesIO(base64.b64decode(shot.data[:65536])))
                variant.complete += shot.height >= expected
                variant.digests[url] = hashlib.sha256(shot.data.encode()).hexdigest()
            variant.pages += 1
    finally:
        python = time.thread_time() - python_cpu
        browser.quit()
    by_kind_cpu: dict[str, float] = {"python": python}
    for key, seconds in cpu.items():
        kind = kinds[key]
        by_kind_cpu[kind] = by_kind_cpu.get(kind, 0.0) + seconds - start_cpu.get(key, 0.0)
    variant.cpu.append({kind: value / len(urls) for kind, value in by_kind_cpu.items()})
    variant.peak.append(peak)


def _median(rows: list[dict[str, float]], kind: str) -> float:
    return statistics.median(row.get(kind, 0.0) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.browser_cost", description=__doc__)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("variants", nargs="+", type=Variant.parse)
    args = parser.parse_args()
    servers = WorkloadServers(build_workload(args.pages)).start()
    urls = [(url, page.expected_height) for url, page in servers.urls()]
    config = SeleniumConfig.from_settings(Settings(project_settings_dict()))
    try:
        for round_ in range(args.rounds):
            order = args.variants if round_ % 2 == 0 else args.variants[::-1]
            for variant in order:
                _run(variant, urls, config)
                row = variant.cpu[-1]
                print(f"{variant.name}: CPU s/page {sum(row.values()):.3f}", row, flush=True)
    finally:
        servers.stop()
    kinds = sorted({kind for v in args.variants for row in v.cpu for kind in row})
    print(f"load {psutil.getloadavg()[0]:.1f}; CPU s/page (median of {args.rounds}) by kind")
    for variant in args.variants:
        cells = " ".join(f"{k}={_median(variant.cpu, k):.3f}" for k in kinds)
        total = statistics.median(sum(row.values()) for row in variant.cpu)
        print(f"  {variant.name:14s} total={total:.3f} {cells}")
    print("peak PSS MB (median) by kind, complete shots")
    pkinds = sorted({kind for v in args.variants for row in v.peak for kind in row})
    for variant in args.variants:
        cells = " ".join(f"{k}={_median(variant.peak, k):.0f}" for k in pkinds)
        first = args.variants[0].digests
        same = sum(first.get(url) == digest for url, digest in variant.digests.items())
        print(
            f"  {variant.name:14s} {cells} complete={variant.complete}/{variant.pages}"
            f" same-bytes-as-{args.variants[0].name}={same}/{len(variant.digests)}"
        )
    print("PSS MB of a browser just started (median), by kind")
    for variant in args.variants:
        ikinds = sorted({kind for row in variant.idle for kind in row})
        cells = " ".join(f"{k}={_median(variant.idle, k):.0f}" for k in ikinds)
        print(f"  {variant.name:14s} {cells}")


if __name__ == "__main__":
    main()
