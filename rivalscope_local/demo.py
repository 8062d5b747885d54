"""The bundled demo: each directory of ``demo/site/`` served as its own site on loopback, so
``make run`` works offline. ``demo/watchlist.yaml`` names the competitors they belong to; its
``http://NAME.demo/`` hosts stand for the folder ``NAME`` (:meth:`DemoSites.base_url`).

Each site needs its own host — Scrapy's per-site politeness (downloader slots, robots.txt) keys
on it — so the sites listen on ``127.0.0.2``, ``127.0.0.3``, … (Linux routes all of 127/8 to
the loopback interface); where that fails (macOS), on ports of ``127.0.0.1``. The crawl must
exempt exactly these ``host:port`` pairs from its private-address guard:
:attr:`DemoSites.allow_private`. Every request is counted, which lets a test assert that
re-analysis fetched nothing. The server is the project's one static-site server
(``static_site``), which the tests and the benchmark use too."""

from __future__ import annotations

import argparse
import contextlib
import threading
from pathlib import Path
from typing import Self

from rivalscope_local.static_site import SiteServer

DEMO_ROOT = Path(__file__).resolve().parents[1] / "demo" / "site"
DEMO_WATCHLIST = DEMO_ROOT.parent / "watchlist.yaml"


class DemoSites:
    """Serve every site under ``root``; :attr:`urls` are their home pages."""

    def __init__(self, root: Path = DEMO_ROOT) -> None:
        self._root = root
        self._servers: list[SiteServer] = []
        self._names: list[str] = []

    def start(self) -> Self:
        sites = sorted(p for p in self._root.iterdir() if p.is_dir())
        if not sites:
            raise FileNotFoundError(f"no demo site under {self._root}")
        for index, site in enumerate(sites):
            self._servers.append(_bind(site, f"127.0.0.{index + 2}").start())
            self._names.append(site.name)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.stop()
        self._servers.clear()
        self._names.clear()

    def base_url(self, name: str) -> str | None:
        """``http://host:port`` of the site served from the folder ``name``, if there is one."""
        for site, netloc in zip(self._names, self.netlocs, strict=True):
            if site == name:
                return f"http://{netloc}"
        return None

    @property
    def netlocs(self) -> list[str]:
        return [server.netloc for server in self._servers]

    @property
    def urls(self) -> list[str]:
        return [f"http://{netloc}/" for netloc in self.netlocs]

    @property
    def allow_private(self) -> str:
        """The value of ``-s ALLOW_PRIVATE_ADDRESSES=`` that exempts these sites and no more."""
        return ",".join(self.netlocs)

    def request_count(self) -> int:
        return sum(len(server.paths()) for server in self._servers)

    def requested_paths(self) -> dict[str, list[str]]:
        return {
            netloc: server.paths()
            for netloc, server in zip(self.netlocs, self._servers, strict=True)
        }

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bind(root: Path, host: str) -> SiteServer:
    try:
        return SiteServer(root, host)
    except OSError:  # 127.0.0.N not routed here: share 127.0.0.1, one port per site
        return SiteServer(root)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the bundled demo sites on loopback.")
    parser.parse_args()
    with DemoSites() as sites:
        for url in sites.urls:
            print(url, flush=True)
        print(f"-s ALLOW_PRIVATE_ADDRESSES={sites.allow_private}  (Ctrl-C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
