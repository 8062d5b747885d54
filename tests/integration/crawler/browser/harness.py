"""Drives ``SeleniumDownloadHandler`` the way Scrapy's downloader does, in a child process.

The parent (pytest) writes one JSON command per line on stdin and reads one JSON reply per line
on stdout. The child installs the asyncio reactor, builds the handler with ``get_crawler`` and
``build_from_crawler`` and awaits ``download_request`` on the reactor, so the pytest process
never gets a reactor installed (which would break other tests) and Chromium starts once per
test module.

Commands: ``{"op": "render", "url": ..., "meta": {...}}``,
``{"op": "render_many", "urls": [...]}``, ``{"op": "browsers"}`` (process groups, live pids,
profile dirs, open windows), ``{"op": "stats"}``, ``{"op": "open_window", "url": ...}`` (a stray
window in every idle browser), ``{"op": "close"}`` (closes the handler and exits).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from typing import Any

from scrapy.utils.reactor import install_reactor


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message, default=str) + "\n")
    sys.stdout.flush()


async def _render(handler: Any, url: str, meta: dict[str, Any]) -> dict[str, Any]:
    """The handler's response and, as ``record``, the page record the spider would store
    from it (``crawler.records``), screenshot data left out."""
    from scrapy import Request
    from scrapy.http import TextResponse

    from crawler.records import failed_page, rendered_page

    request = Request(url, meta={"selenium": True, **meta})
    try:
        response = await handler.download_request(request)
    except Exception as exc:  # noqa: BLE001 - the reply reports any failure, by type
        return {
            "ok": False,
            "exception": type(exc).__name__,
            "error_type": getattr(exc, "error_type", None),
            "message": str(exc),
            "record": _record(failed_page(url, exc, None)),
        }
    page = request.meta.get("selenium_page")
    return {
        "ok": True,
        "response_class": type(response).__name__,
        "url": response.url,
        "status": response.status,
        "flags": response.flags,
        "text": response.text if isinstance(response, TextResponse) else None,
        "page": dataclasses.asdict(page) if page is not None else None,
        "record": _record(rendered_page(url, response, None)),
    }


def _record(record: Any) -> dict[str, Any]:
    data: dict[str, Any] = record.to_dict()
    if data.get("screenshot"):
        data["screenshot"] = {k: v for k, v in data["screenshot"].items() if k != "data"}
    return data


async def _serve(settings: dict[str, Any]) -> None:
    from scrapy import Spider
    from scrapy.utils.defer import maybe_deferred_to_future
    from scrapy.utils.misc import build_from_crawler
    from scrapy.utils.test import get_crawler
    from twisted.internet.threads import deferToThread

    from crawler.handlers.selenium import SeleniumDownloadHandler
    from tests.project_settings import project_settings_dict

    crawler = get_crawler(Spider, project_settings_dict(**settings))
    handler = build_from_crawler(SeleniumDownloadHandler, crawler)
    _reply({"ready": True})
    while True:
        line = await maybe_deferred_to_future(deferToThread(sys.stdin.readline))
        if not line:
            command: dict[str, Any] = {"op": "close"}
        else:
            command = json.loads(line)
        op = command["op"]
        if op == "render":
            _reply(await _render(handler, command["url"], command.get("meta") or {}))
        elif op == "render_many":
            results = await asyncio.gather(*(_render(handler, u, {}) for u in command["urls"]))
            _reply({"results": list(results)})
        elif op == "browsers":
            sessions = handler.pool.sessions
            _reply(
                {
                    "browsers": [
                        {
                            "pgid": s.process_group,
                            "pids": s.pids(),
                            "profile": s.profile_dir,
                            "windows": len(s.driver.window_handles),
                        }
                        for s in sessions
                    ]
                }
            )
        elif op == "stats":
            _reply({"stats": crawler.stats.get_stats()})
        elif op == "open_window":
            # A window a page might still get past the pop-up blockers: opened through
            # WebDriver in every idle browser, which is then left on its own tab.
            for session in handler.pool.sessions:
                driver = session.driver
                driver.switch_to.new_window("window")
                driver.get(command["url"])
                driver.switch_to.window(session.window)
            _reply({"opened": len(handler.pool.sessions)})
        elif op == "close":
            await handler.close()
            _reply({"closed": True})
            return
        else:
            _reply({"error": f"unknown op {op}"})


def main() -> None:
    settings = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from scrapy.utils.defer import deferred_from_coro
    from twisted.internet import task

    task.react(lambda _reactor: deferred_from_coro(_serve(settings)))


if __name__ == "__main__":
    main()
