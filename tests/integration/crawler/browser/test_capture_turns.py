"""Two browsers never capture tall pages at the same time (issue #16), seen from outside the
crawler: each browser's chromedriver writes its own log (a wrapper given as
``SELENIUM_DRIVER_PATH``), where every ``Page.captureScreenshot`` it relays has the time of the
command and of its answer. Tall captures of the two logs must never overlap; the pages still
render whole."""

from __future__ import annotations

import json
import re
import stat
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.crawler.browser.conftest import harness_settings

if TYPE_CHECKING:
    from pathlib import Path

    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration

TALL = 4000
# chromedriver's INFO lines: "[1764690000.123][INFO]: [session] COMMAND ExecuteCDP {json…}" and
# the answer's "… RESPONSE ExecuteCDP …"; a session runs its commands one at a time.
_LINE = re.compile(
    r"^\[(?P<at>\d+\.\d+)\]\[INFO\]: \[\w+\] (?P<kind>COMMAND|RESPONSE) (?P<name>\w+)"
)


def _logging_driver(directory: Path) -> Path:
    wrapper = directory / "chromedriver"
    wrapper.write_text(
        f'#!/bin/sh\nexec /usr/bin/chromedriver --log-path="{directory}/driver-$$.log" "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper


def _captures(log: Path) -> list[tuple[float, float, int]]:
    """(start, end, clip height) of every ``Page.captureScreenshot`` in one driver's log."""
    found: list[tuple[float, float, int]] = []
    lines = log.read_text(errors="replace").splitlines()
    for index, line in enumerate(lines):
        match = _LINE.match(line)
        if not match or match["kind"] != "COMMAND" or match["name"] != "ExecuteCDP":
            continue
        body = _json_after(lines, index, line[match.end() :])
        if body.get("cmd") != "Page.captureScreenshot":
            continue
        end = next(
            float(answer["at"])
            for later in lines[index + 1 :]
            if (answer := _LINE.match(later)) and answer["kind"] == "RESPONSE"
        )
        found.append((float(match["at"]), end, int(body["params"]["clip"]["height"])))
    return found


def _json_after(lines: list[str], index: int, first: str) -> dict[str, Any]:
    text = first
    for line in lines[index + 1 :]:
        try:
            parsed: dict[str, Any] = json.loads(text)
        except json.JSONDecodeError:
            text += "\n" + line
            continue
        return parsed
    return {}


def test_two_browsers_never_capture_tall_pages_at_once(
    harness_factory: Any, site: SiteServer, tmp_path: Path
):
    settings = harness_settings(
        site,
        SELENIUM_POOL_SIZE=2,
        SELENIUM_DRIVER_PATH=str(_logging_driver(tmp_path)),
        SELENIUM_TALL_CAPTURE_HEIGHT=TALL,
    )
    harness = harness_factory(settings)
    heights = [8000, 6000, 2000, 8000, 5000, 1000, 7000, 8000, 3000, 6000]
    urls = [site.url(f"/render/bands.html?height={h}&n={n}") for n, h in enumerate(heights)]
    replies = harness.render_many(urls)
    assert all(reply["ok"] for reply in replies), replies
    assert sorted(r["page"]["screenshot"]["height"] for r in replies) == sorted(heights)
    assert harness.close() == 0

    logs = sorted(tmp_path.glob("driver-*.log"))
    assert len(logs) == 2  # one chromedriver per browser of the pool
    first, second = (_captures(log) for log in logs)
    assert sorted(h for *_, h in first + second) == sorted(heights)  # every capture was seen
    overlaps = [
        (a, b)
        for a in first
        for b in second
        if a[2] >= TALL and b[2] >= TALL and a[0] < b[1] and b[0] < a[1]
    ]
    assert overlaps == []


BUDGET = 10000


def test_two_browsers_capture_together_only_within_the_height_budget(
    harness_factory: Any, site: SiteServer, tmp_path: Path
):
    """The default: no two captures at once whose heights add up past the budget; every page
    is still captured whole."""
    settings = harness_settings(
        site,
        SELENIUM_POOL_SIZE=2,
        SELENIUM_DRIVER_PATH=str(_logging_driver(tmp_path)),
        SELENIUM_CAPTURE_HEIGHT_BUDGET=BUDGET,
    )
    harness = harness_factory(settings)
    heights = [8000, 6000, 2000, 8000, 3000, 1000, 7000, 8000, 3000, 6000, 2000, 2000]
    urls = [site.url(f"/render/bands.html?height={h}&n={n}") for n, h in enumerate(heights)]
    replies = harness.render_many(urls)
    assert all(reply["ok"] for reply in replies), replies
    assert sorted(r["page"]["screenshot"]["height"] for r in replies) == sorted(heights)
    assert harness.close() == 0

    first, second = (_captures(log) for log in sorted(tmp_path.glob("driver-*.log")))
    assert sorted(h for *_, h in first + second) == sorted(heights)
    together = [(a, b) for a in first for b in second if a[0] < b[1] and b[0] < a[1]]
    assert [(a, b) for a, b in together if a[2] + b[2] > BUDGET] == []
