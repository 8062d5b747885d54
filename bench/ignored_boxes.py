"""What measuring the ``ignore_selectors`` boxes costs a page (issue #12): the one
``execute_script`` of ``crawler.browser.scripts.IGNORED_BOXES`` that runs right before the
screenshot, against the round trip of an empty script (the floor of any WebDriver command) and
the full-page screenshot of the same page (the cost it adds to), in one reused Chromium.

Run: ``.venv/bin/python -m bench.ignored_boxes [--repeat 30]`` — the demo sites on loopback:
the Acme home page (short, a fixed cookie banner) and Northwind's 13,000 px feature page (twelve
sections), with three selectors that match one element, twelve elements and none.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import TYPE_CHECKING, Any

from scrapy.settings import Settings

from crawler.browser import scripts
from crawler.browser.config import SeleniumConfig
from crawler.browser.page import MAX_IGNORED_BOXES
from crawler.browser.screenshot import full_page
from crawler.browser.session import BrowserSession
from rivalscope_local.demo import DemoSites
from tests.project_settings import project_settings_dict

if TYPE_CHECKING:
    from collections.abc import Callable

SELECTORS = ["#cookie-banner", "section.feature", ".no-such-element"]


def _median_ms(action: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    config = SeleniumConfig.from_settings(Settings(project_settings_dict()))
    with DemoSites() as sites:
        session = BrowserSession.start(config)
        try:
            driver = session.driver
            for name in ("acme", "northwind"):
                driver.get(f"{sites.base_url(name)}/")
                found = driver.execute_script(scripts.IGNORED_BOXES, SELECTORS, MAX_IGNORED_BOXES)
                empty = _median_ms(lambda: driver.execute_script("return 1"), args.repeat)
                boxes = _median_ms(
                    lambda: driver.execute_script(
                        scripts.IGNORED_BOXES, SELECTORS, MAX_IGNORED_BOXES
                    ),
                    args.repeat,
                )
                shot = _median_ms(
                    lambda: full_page(driver, "jpeg", 80, 30000), max(3, args.repeat // 10)
                )
                print(
                    f"{name}: {len(found['boxes'])} boxes; empty script {empty:.1f} ms, "
                    f"IGNORED_BOXES {boxes:.1f} ms (+{boxes - empty:.1f} ms), "
                    f"screenshot {shot:.0f} ms: the boxes add {100 * boxes / shot:.1f} %"
                )
        finally:
            session.quit()


if __name__ == "__main__":
    main()
