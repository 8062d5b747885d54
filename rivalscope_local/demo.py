"""The bundled demo: each directory of ``demo/site/`` served as its own site on loopback, so
``make run`` works offline. ``demo/watchlist.yaml`` names the competitors they belong to; its
``http://NAME.demo/`` hosts stand for the folder ``NAME`` (:meth:`DemoSites.base_url`).

Each site needs its own host — Scrapy's per-site politeness (downloader slots, robots.txt) keys
on it — so the sites listen on ``127.0.0.2``, ``127.0.0.3``, … (Linux routes all of 127/8 to
the loopback interface); where that fails (macOS), on ports of ``127.0.0.1``. The crawl must
exempt exactly these ``host:port`` pairs from its private-address guard:
:attr:`DemoSites.allow_private`. Every request is counted, which lets a test assert that
re-analysis fetched nothing. The server is the project's one static-site server
(``static_site``), which the tests and the benchmark use too.

**Stable addresses** (issue #12): a page's previous capture is found by its URL, so ``make
run`` must serve each demo site at the same address every time, or a second run sees only new
pages. With ``remember=`` (``make run`` passes ``data/demo-sites.json``) each site binds, in
order, the address it had last time, its fixed default (``127.0.0.N:8470``, or port ``8470+i``
of ``127.0.0.1``), and only then any free port — which is remembered, so a machine where the
default is taken (another checkout's ``make run``) is stable from its second run on. Why not
``*.demo`` host names mapped by Chromium's ``--host-resolver-rules``: every browser request goes
through the private-address guard's proxy, and robots.txt through Scrapy's own HTTP client, so
the guard, the proxy and Scrapy would each need the fake names too, where fixed ports change this
module only.

**Demo changes**: ``changes=`` (``demo_change``) makes the sites answer edited copies of some
pages, for ``make run DEMO_CHANGE=1``."""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Self

from rivalscope_local.demo_change import edited_pages, load_changes
from rivalscope_local.static_site import SiteServer, answer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rivalscope_local.demo_change import DemoChange

DEMO_ROOT = Path(__file__).resolve().parents[1] / "demo" / "site"
DEMO_WATCHLIST = DEMO_ROOT.parent / "watchlist.yaml"
DEMO_PORT = 8470  # every demo site's first choice (each on its own 127.0.0.N)


class DemoSites:
    """Serve every site under ``root``; :attr:`urls` are their home pages. ``remember``: a JSON
    file that keeps each site's address across runs (see the module docstring); without it
    (tests) every site takes a free port."""

    def __init__(
        self,
        root: Path = DEMO_ROOT,
        *,
        remember: Path | None = None,
        changes: Sequence[DemoChange] = (),
    ) -> None:
        self._root = root
        self._remember = remember
        self._changes = tuple(changes)
        self._servers: list[SiteServer] = []
        self._names: list[str] = []

    def start(self) -> Self:
        sites = sorted(p for p in self._root.iterdir() if p.is_dir())
        if not sites:
            raise FileNotFoundError(f"no demo site under {self._root}")
        edited = edited_pages(self._root, self._changes)
        known = _read_addresses(self._remember)
        for index, site in enumerate(sites):
            server = _bind(site, _candidates(index, known.get(site.name), self._remember))
            for (name, path), body in edited.items():
                if name == site.name:
                    server.route(path, answer(body))
            self._servers.append(server.start())
            self._names.append(site.name)
        served = dict(zip(self._names, self.netlocs, strict=True))
        if self._remember is not None and known != served:
            _write_addresses(self._remember, served)
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


def _candidates(
    index: int, remembered: str | None, remember: Path | None
) -> list[tuple[str, int]]:
    """Where site ``index`` tries to listen, in order."""
    own = f"127.0.0.{index + 2}"
    fallback = [(own, 0), ("127.0.0.1", 0)]  # 127.0.0.N not routed here (macOS): share .1
    if remember is None:
        return fallback
    first: list[tuple[str, int]] = []
    host, _, port = (remembered or "").rpartition(":")
    if host.startswith("127.") and port.isdigit():  # loopback only, whatever the file says
        first.append((host, int(port)))
    return [*first, (own, DEMO_PORT), ("127.0.0.1", DEMO_PORT + index), *fallback]


def _bind(root: Path, candidates: list[tuple[str, int]]) -> SiteServer:
    error: OSError | None = None
    for host, port in candidates:
        try:
            return SiteServer(root, host, port=port)
        except OSError as exc:  # taken, or an address this machine does not route
            error = exc
    assert error is not None
    raise error


def _read_addresses(path: Path | None) -> dict[str, str]:
    """Site → ``host:port`` of the last run; a missing or damaged file means none."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}


def _write_addresses(path: Path, addresses: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(addresses, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)  # atomic: a killed run leaves the old file or the new one


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the bundled demo sites on loopback.")
    parser.add_argument("--change", default="",
                        help="1, or names of demo/changes.yaml: serve those edits")  # fmt: skip
    args = parser.parse_args()
    with DemoSites(changes=load_changes(args.change)) as sites:
        for url in sites.urls:
            print(url, flush=True)
        print(f"-s ALLOW_PRIVATE_ADDRESSES={sites.allow_private}  (Ctrl-C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
