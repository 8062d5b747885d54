"""docker/crawl, the crawler image's command: the arguments it hands to ``scrapy crawl
competitors`` and the fact that it *becomes* scrapy (exec), so SIGTERM from ECS reaches Scrapy.

A stand-in ``scrapy`` executable first on PATH records its argv and PID; the real crawl through
the same script runs in tests/integration/image/."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.unit.infra.dockerfile import ROOT

ENTRY = ROOT / "docker" / "crawl"
URLS_FILE = "s3://pages/config/urls.txt"
WATCHLIST = "s3://pages/config/watchlist.yaml"

_FAKE_SCRAPY = """#!{python}
import json, os, signal, sys, time
out = os.environ["FAKE_SCRAPY_OUT"]
def stop(signum, frame):
    with open(out + ".signal", "w") as f:
        f.write(signal.Signals(signum).name)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
with open(out, "w") as f:
    json.dump({{"pid": os.getpid(), "argv": sys.argv[1:]}}, f)
if os.environ.get("FAKE_SCRAPY_WAIT"):
    time.sleep(30)
"""


@pytest.fixture
def fake_scrapy(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scrapy = bin_dir / "scrapy"
    scrapy.write_text(_FAKE_SCRAPY.format(python=sys.executable))
    scrapy.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("URLS_FILE", "WATCHLIST")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["FAKE_SCRAPY_OUT"] = str(tmp_path / "scrapy.json")
    return env


def _run(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    result = subprocess.run(
        [str(ENTRY), *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    out = Path(env["FAKE_SCRAPY_OUT"])
    return result, json.loads(out.read_text()) if out.exists() else None


def test_without_urls_it_crawls_the_watch_list_of_the_task(fake_scrapy: dict[str, str]) -> None:
    result, scrapy = _run({**fake_scrapy, "WATCHLIST": WATCHLIST, "URLS_FILE": URLS_FILE})
    assert result.returncode == 0, result.stderr
    assert scrapy["argv"] == ["crawl", "competitors", "-a", f"watchlist={WATCHLIST}"]


def test_a_task_with_only_the_older_url_list_keeps_working(fake_scrapy: dict[str, str]) -> None:
    result, scrapy = _run({**fake_scrapy, "URLS_FILE": URLS_FILE})
    assert result.returncode == 0, result.stderr
    assert scrapy["argv"] == ["crawl", "competitors", "-a", f"urls_file={URLS_FILE}"]


def test_shard_and_settings_overrides_keep_the_watch_list(fake_scrapy: dict[str, str]) -> None:
    args = ["-a", "shard=2/4", "-s", "LOG_LEVEL=DEBUG"]
    result, scrapy = _run({**fake_scrapy, "WATCHLIST": WATCHLIST}, *args)
    assert result.returncode == 0, result.stderr
    assert scrapy["argv"] == ["crawl", "competitors", "-a", f"watchlist={WATCHLIST}", *args]


@pytest.mark.parametrize(
    "args",
    [
        ["-a", "urls=https://a.example/,https://b.example/"],
        ["-a", "urls_file=s3://pages/config/runs/one-off.txt", "-a", "shard=1/2"],
        ["-a", "watchlist=s3://pages/config/runs/one-off.yaml", "-a", "shard=1/2"],
        ["-aurls=https://a.example/"],
        ["-awatchlist=s3://pages/config/runs/one-off.yaml"],
    ],
)
def test_urls_given_on_the_command_line_win(fake_scrapy: dict[str, str], args: list[str]) -> None:
    result, scrapy = _run({**fake_scrapy, "WATCHLIST": WATCHLIST, "URLS_FILE": URLS_FILE}, *args)
    assert result.returncode == 0, result.stderr
    assert scrapy["argv"] == ["crawl", "competitors", *args]


def test_no_urls_anywhere_is_a_usage_error(fake_scrapy: dict[str, str]) -> None:
    result, scrapy = _run(fake_scrapy)
    assert result.returncode == 2  # SPEC.md: bad usage or configuration
    assert "WATCHLIST" in result.stderr
    assert "urls=" in result.stderr
    assert scrapy is None


def test_the_script_becomes_scrapy_so_sigterm_reaches_it(fake_scrapy: dict[str, str]) -> None:
    env = {**fake_scrapy, "WATCHLIST": WATCHLIST, "FAKE_SCRAPY_WAIT": "1"}
    out = Path(env["FAKE_SCRAPY_OUT"])
    proc = subprocess.Popen([str(ENTRY)], env=env)
    try:
        deadline = time.monotonic() + 20
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.1)  # the file is written before the handler's sleep starts
        scrapy = json.loads(out.read_text())
        assert scrapy["pid"] == proc.pid, "scrapy runs as a child: the shell would eat SIGTERM"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert Path(f"{out}.signal").read_text() == "SIGTERM"
