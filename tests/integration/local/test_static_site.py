"""The one static-site server, as its three users see it over HTTP on loopback: the test site
(files, never cached), the benchmark's workload (routes only, cacheable, the rest 404) and the
demo (one server per site, every request counted)."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import pytest

from bench.workload import WorkloadServers, build_workload
from rivalscope_local.demo import DemoSites
from rivalscope_local.static_site import SiteServer, answer

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.integration


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_files_routes_and_the_request_log(tmp_path: Path) -> None:
    home = b"<title>home</title>"
    (tmp_path / "index.html").write_bytes(home)
    server = SiteServer(tmp_path, cache_control="no-store").start()
    try:
        server.route("/made", answer(b"made", "text/plain", status=201))
        status, headers, body = _get(server.url("/"))
        assert (status, body, headers["Cache-Control"]) == (
            200,
            b"<title>home</title>",
            "no-store",
        )
        status, headers, body = _get(server.url("/made?x=1"))  # a route matches without query
        assert (status, headers["Content-Type"], body) == (201, "text/plain", b"made")
        assert _get(server.url("/missing.html"))[0] == 404
        assert server.paths() == ["/", "/made?x=1", "/missing.html"]
        server.clear_log()
        assert server.requests() == []
    finally:
        server.stop()


def test_a_server_without_a_root_serves_its_routes_only() -> None:
    server = SiteServer().start()  # never the working directory
    try:
        assert _get(server.url("/pyproject.toml"))[:3:2] == (404, b"not found")
        assert "Cache-Control" not in _get(server.url("/"))[1]
    finally:
        server.stop()


def test_the_benchmark_workload_is_served_from_routes() -> None:
    workload = build_workload(12)
    servers = WorkloadServers(workload).start()
    try:
        (url, page), *_ = servers.urls()
        status, headers, body = _get(url)
        assert (status, body, headers["Cache-Control"]) == (200, page.html, "max-age=3600")
        site = f"http://{servers.netlocs[0]}"
        status, headers, body = _get(site + "/api/offers.json")
        assert headers["Content-Type"] == "application/json"
        assert b"Offers on 127.0.0.2" in body
        assert _get(site + "/img/lazy.png")[1]["Content-Type"] == "image/png"
        assert _get(site + "/robots.txt")[2] == b"User-agent: *\nAllow: /\n"
        assert _get(site + "/nothing-here")[0] == 404
    finally:
        servers.stop()


def test_the_demo_sites_count_every_request() -> None:
    with DemoSites() as sites:
        assert len(set(sites.netlocs)) == len(sites.urls) >= 2
        assert _get(sites.urls[0])[0] == 200
        assert _get(sites.urls[0] + "robots.txt")[0] == 200
        assert sites.request_count() == 2
        assert sites.requested_paths()[sites.netlocs[0]] == ["/", "/robots.txt"]
        assert sites.allow_private == ",".join(sites.netlocs)
