"""``make run`` stops every process it started on Ctrl-C, and keeps what was stored."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import psutil
import pytest

from tests.servers.site import SiteServer

if TYPE_CHECKING:
    from tests.servers.site import Route

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("sig", "exit_code"),
    [(signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["ctrl-c", "sigkill"],
)
def test_ctrl_c_stops_the_endpoint_crawl_and_browsers_and_saves_data(
    tmp_path: Path, sig: signal.Signals, exit_code: int
) -> None:
    """Ctrl-C: a clean stop that saves data/. SIGKILL: the run cannot clean up, yet nothing it
    started outlives it (the endpoint watches its parent; the crawl gets a parent-death
    SIGTERM and stops gracefully, quitting its browsers). Two sites: one page is stored at
    once, the other keeps a browser busy, so the signal always lands mid-crawl."""
    fast, slow = SiteServer().start(), SiteServer(host="127.0.0.2").start()
    fast.route("/now", lambda _h: (200, {}, b"<title>now</title><p>stored at once</p>"))
    slow.route("/later", _after(40))
    try:
        _interrupt_a_run(tmp_path, sig, exit_code, [fast.url("/now"), slow.url("/later")])
    finally:
        fast.stop()
        slow.stop()


def _after(seconds: float) -> Route:
    def route(_handler: object) -> tuple[int, dict[str, str], bytes]:
        time.sleep(seconds)
        return 200, {}, b"<title>later</title>"

    return route


def _interrupt_a_run(tmp_path: Path, sig: signal.Signals, exit_code: int, urls: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"GEMINI_API_KEY", "ANALYZER"}}
    allow = ",".join(urlsplit(url).netloc for url in urls)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rivalscope_local.run", "--data-dir", str(tmp_path / "data"),
         "--out", str(tmp_path / "out"), "--chunk-size", "1", "--urls", " ".join(urls),
         "--allow-private", allow],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout

    def forward() -> None:
        for line in stdout:
            lines.put(line)

    reader = threading.Thread(target=forward, daemon=True)
    reader.start()
    seen: list[str] = []
    deadline = time.monotonic() + 180
    # wait until the crawl has stored something (a chunk per page here): endpoint, crawl and
    # browsers are all up
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=1))
        except queue.Empty:
            continue
        if "analysis: " in seen[-1] and " 0 stored" not in seen[-1]:
            break
    else:
        proc.kill()
        proc.wait()
        stdout.close()
        pytest.fail("the run never got going:\n" + "".join(seen))
    assert "GEMINI_API_KEY is not set: using the offline extract analyser" in "".join(seen)
    descendants = psutil.Process(proc.pid).children(recursive=True)
    names = {p.name() for p in descendants if p.is_running()}
    assert any("chrom" in name for name in names), names  # the crawl's browsers are running

    started = time.monotonic()
    proc.send_signal(sig)
    code = proc.wait(timeout=90)
    stopped_in = time.monotonic() - started
    reader.join(10)
    stdout.close()
    while not lines.empty():
        seen.append(lines.get_nowait())
    assert code == exit_code, "".join(seen)  # the run's own account of why, if it failed
    # after SIGKILL the crawl stops by itself: its grace (10 s locally) and closing the browsers
    _, alive = psutil.wait_procs(descendants, timeout=10 if sig == signal.SIGINT else 60)
    assert [p for p in alive if p.status() != psutil.STATUS_ZOMBIE] == []
    assert stopped_in < 60
    if sig == signal.SIGKILL:
        return
    # what the crawl had stored was synced to data/ before the endpoint stopped
    assert list((tmp_path / "data" / "s3" / "rivalscope-local" / "raw").rglob("*.jl.gz"))


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--urls", "ftp://a.example/"], {}, "only http:// and https://"),
        ([], {"ANALYZER": "nope"}, "ANALYZER='nope' is not installed"),
    ],
)
def test_bad_usage_stops_the_run_before_any_crawl_with_exit_2(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rivalscope_local.run", "--data-dir", str(tmp_path / "d"), *args],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
        check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2
    assert message in done.stdout + done.stderr
    assert not list(tmp_path.rglob("crawl-*.log"))  # no crawl was started
