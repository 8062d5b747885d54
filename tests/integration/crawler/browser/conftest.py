"""A render harness per test module: one child process running the real download handler
(and so one set of Chromium browsers) that tests send pages to. See ``harness.py``."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.servers.site import SiteServer

REPO_ROOT = Path(__file__).resolve().parents[4]
HARNESS_MODULE = "tests.integration.crawler.browser.harness"


class RenderHarness:
    """Talks to ``python -m tests.integration.crawler.browser.harness`` over stdin/stdout."""

    def __init__(self, settings: dict[str, Any]) -> None:
        env = {**os.environ, "SE_OFFLINE": "true", "SE_AVOID_STATS": "true"}
        self._process = subprocess.Popen(
            [sys.executable, "-m", HARNESS_MODULE, json.dumps(settings)],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.closed = False
        ready = self._read()
        assert ready.get("ready"), ready

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"render harness exited with {self._process.wait()}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def send(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        return self._read()

    def render(self, url: str, **meta: Any) -> dict[str, Any]:
        return self.send({"op": "render", "url": url, "meta": meta})

    def render_many(self, urls: list[str]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = self.send({"op": "render_many", "urls": urls})["results"]
        return results

    def browsers(self) -> list[dict[str, Any]]:
        browsers: list[dict[str, Any]] = self.send({"op": "browsers"})["browsers"]
        return browsers

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.send({"op": "stats"})["stats"]
        return stats

    def open_window(self, url: str) -> int:
        opened: int = self.send({"op": "open_window", "url": url})["opened"]
        return opened

    def close(self) -> int:
        """Closes the handler (quits every browser) and waits for the child to exit."""
        if not self.closed:
            self.closed = True
            assert self.send({"op": "close"}) == {"closed": True}
        code = self._process.wait(timeout=60)
        self._close_pipes()
        return code

    def kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()


def harness_settings(*servers: SiteServer, **overrides: Any) -> dict[str, Any]:
    """Settings that exempt exactly the given loopback servers from the address guard."""
    exempt = [f"{host}:{server.port}" for server in servers for host in (server.host, "localhost")]
    return {
        "ALLOW_PRIVATE_ADDRESSES": exempt,
        "SELENIUM_POOL_SIZE": 1,
        "SELENIUM_PAGE_LOAD_TIMEOUT": 4,
        "SELENIUM_SETTLE_TIMEOUT": 3,
        "LOG_LEVEL": "WARNING",
        **overrides,
    }


@pytest.fixture(scope="module")
def harness_factory() -> Iterator[Any]:
    """Starts harnesses; every one still running at the end of the module is closed."""
    started: list[RenderHarness] = []

    def start(settings: dict[str, Any]) -> RenderHarness:
        harness = RenderHarness(settings)
        started.append(harness)
        return harness

    yield start
    for harness in started:
        try:
            harness.close()
        finally:
            harness.kill()


def decode_screenshot(page: dict[str, Any]) -> Image.Image:
    shot = page["screenshot"]
    image = Image.open(io.BytesIO(base64.b64decode(shot["data"])))
    image.load()
    return image.convert("RGB")
