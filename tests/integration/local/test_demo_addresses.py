"""The demo sites keep their addresses from one ``make run`` to the next (a page's previous
capture is found by its URL), also when the default port is taken, and serve the edited pages
of ``DEMO_CHANGE``."""

from __future__ import annotations

import json
import socket
import urllib.request
from typing import TYPE_CHECKING

import pytest

from rivalscope_local.demo import DemoSites
from rivalscope_local.demo_change import load_changes

if TYPE_CHECKING:
    from pathlib import Path

# the demo's fixed addresses, kept across starts: one such file at a time (tests/parallel.py's
# GROUPS)
pytestmark = pytest.mark.integration


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode("utf-8"))


def test_a_second_start_serves_every_site_at_the_same_address(tmp_path: Path) -> None:
    remember = tmp_path / "demo-sites.json"
    with DemoSites(remember=remember) as first:
        addresses = dict(
            zip(["acme", "acme-app", "hanami", "northwind"], first.netlocs, strict=True)
        )
    assert json.loads(remember.read_text("utf-8")) == addresses
    assert all(netloc.startswith("127.") for netloc in addresses.values())
    with DemoSites(remember=remember) as second:
        assert second.netlocs == list(addresses.values())


def test_a_taken_address_falls_back_to_a_free_port_that_is_kept(tmp_path: Path) -> None:
    remember = tmp_path / "demo-sites.json"
    with DemoSites(remember=remember) as first:
        before = first.netlocs
    taken = before[0]
    host, port = taken.rsplit(":", 1)
    with socket.socket() as squatter:  # another program now listens there
        # as any server does (the demo's too): an earlier run's connections may leave the
        # address in TIME_WAIT, which must not stop a program from listening there
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind((host, int(port)))
        squatter.listen()
        with DemoSites(remember=remember) as second:
            moved = second.netlocs[0]
            assert moved != taken
            assert second.netlocs[1:] == before[1:]
        assert json.loads(remember.read_text("utf-8"))["acme"] == moved
        with DemoSites(remember=remember) as third:  # stable from then on
            assert third.netlocs[0] == moved


def test_a_damaged_or_foreign_address_file_is_not_trusted(tmp_path: Path) -> None:
    remember = tmp_path / "demo-sites.json"
    remember.write_text('{"acme": "0.0.0.0:8470", "hanami": 12}', encoding="utf-8")
    with DemoSites(remember=remember) as sites:
        assert all(netloc.startswith("127.") for netloc in sites.netlocs)


def test_demo_changes_are_served_in_place_of_the_files() -> None:
    with DemoSites(changes=load_changes("acme-price,acme-claim")) as sites:
        acme = sites.base_url("acme")
        assert '<p class="price">$59</p>' in _get(f"{acme}/pricing.html")
        assert "Set up in two minutes" in _get(f"{acme}/")
        assert "Set up in two minutes" in _get(f"{acme}/index.html")
        assert "<h1>Plans per team</h1>" in _get(f"{sites.base_url('northwind')}/pricing.html")
        assert 'Enterprise</h2><p class="price">€599' not in _get(
            f"{sites.base_url('northwind')}/pricing.html"
        )
