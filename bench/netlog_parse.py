"""What reading the performance log costs python per page (issue #16): the main-document
lookups ``crawler.browser.page`` makes on one render's log (``main_document`` and
``shown_document`` after ``get``, again with the later entries, and ``navigation_started`` on
them), timed on a log recorded from a real Chromium, against another tree's ``netlog.py`` on
the same entries in the same run.

Run: ``.venv/bin/python -m bench.netlog_parse [--images 150] [--repeat 50]
[--against /tmp/before-netlog]`` — a loopback page with that many images, scripts and fetches
(a real site's page has 50–200 subresources; the crawl workload's pages have 2–10).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.settings import Settings

from crawler.browser import netlog
from crawler.browser.config import SeleniumConfig
from crawler.browser.session import BrowserSession
from rivalscope_local.static_site import SiteServer, answer
from tests.project_settings import project_settings_dict

if TYPE_CHECKING:
    from types import ModuleType

_PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def _page(images: int) -> bytes:
    tags = [f'<img src="/i/{n}.png" width="8" height="8">' for n in range(images)]
    scripts = [f'<script src="/s/{n}.js"></script>' for n in range(images // 10)]
    fetches = f"for (let n = 0; n < {images // 10}; n++) fetch('/api/' + n);"
    return (
        "<!doctype html><title>many</title><body>"
        + "".join(tags + scripts)
        + f"<script>{fetches}</script></body>"
    ).encode()


def _record(images: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """One render's log, split as page.py reads it: after ``get``, and later."""
    server = SiteServer()
    server.route("/", answer(_page(images)))
    for n in range(images):
        server.route(f"/i/{n}.png", answer(_PIXEL, "image/png"))
    for n in range(images // 10):
        server.route(f"/s/{n}.js", answer(b"window.x = 1;", "text/javascript"))
        server.route(f"/api/{n}", answer(b"{}", "application/json"))
    server.start()
    config = SeleniumConfig.from_settings(Settings(project_settings_dict()))
    session = BrowserSession.start(config)
    try:
        session.driver.get_log("performance")
        session.driver.get(server.url("/"))
        first: list[dict[str, Any]] = session.driver.get_log("performance")
        time.sleep(0.5)
        later: list[dict[str, Any]] = session.driver.get_log("performance")
        return first, later, session.frame_id
    finally:
        session.quit()
        server.stop()


def _lookups(module: ModuleType, first: list[Any], later: list[Any], frame: str) -> Any:
    """What page.py asks of one render's log; the answers as plain data (the two trees'
    ``MainDocument`` classes never compare equal)."""
    everything = first + later
    return (
        dataclasses.asdict(module.main_document(first, frame)),
        module.shown_document(first, frame) is not None,
        dataclasses.asdict(module.main_document(everything, frame)),
        dataclasses.asdict(module.shown_document(everything, frame)),
        module.navigation_started(later, frame),
    )


def _median_ms(module: ModuleType, log: tuple[list[Any], list[Any], str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        _lookups(module, *log)
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


def _module_at(tree: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "before_netlog", tree / "crawler" / "browser" / "netlog.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--against", type=Path, help="a tree whose netlog.py to compare")
    args = parser.parse_args(argv)
    log = _record(args.images)
    entries = log[0] + log[1]
    size = sum(len(entry["message"]) for entry in entries)
    print(
        f"{len(entries)} log entries, {size / 1024:.0f} KiB, for 1 page with {args.images} images"
    )
    ours = _median_ms(netlog, log, args.repeat)
    print(f"this tree: {ours:.2f} ms CPU per page; status {_lookups(netlog, *log)[0]['status']}")
    if args.against is not None:
        before = _module_at(args.against)
        # ABA: the tree measured first gets no advantage of warm caches
        theirs = statistics.median(
            [_median_ms(before, log, args.repeat), _median_ms(before, log, args.repeat)]
        )
        ours = statistics.median([ours, _median_ms(netlog, log, args.repeat)])
        a, b = _lookups(before, *log), _lookups(netlog, *log)
        same = a == b
        if not same:
            print("before:", a)
            print("this:  ", b)
        print(f"{args.against}: {theirs:.2f} ms CPU per page; same document: {same}")
        print(f"ratio this/before: {ours / theirs:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
