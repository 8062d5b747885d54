"""Nothing lost on a fault: a page whose browser died is tried again in a fresh browser, through
the scheduler and its site's slot (crawler/crash_retry.py), and a Chromium that fails a start is
started again at once (crawler/browser/pool.py). Real crawls, real Chromium, a loopback site
whose routes SIGKILL the crawl's browser while it loads the page."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from crawler.browser.flags import CHROMIUM_FLAGS
from crawler.browser.pool import MAX_START_FAILURES
from crawler.settings import SELENIUM_BROWSER_PATH
from tests.integration.crawler.conftest import stored_records

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_s3 import S3Client

    from tests.integration.crawler.conftest import Crawl
    from tests.servers.site import SiteServer, _Handler

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("chromedriver") is None, reason="needs chromium-driver"),
]

RENDER: dict[str, Any] = {
    "DOWNLOAD_HANDLERS": None,  # the project's: rendering through Selenium
    "SELENIUM_RENDER_BY_DEFAULT": True,
    "SELENIUM_POOL_SIZE": 1,
}
SINGLE_PROCESS = "--single-process" in CHROMIUM_FLAGS
PAGE = b"<html><head><title>Survivor</title></head><body><p>rendered in full</p></body></html>"


def _stat(pid: int) -> tuple[str, int] | None:
    """A process's name and parent pid, None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    return name, int(stat.rsplit(")", 1)[1].split()[1])


def _browsers_of(crawl_pid: int) -> list[int]:
    """The crawl's browser processes: children of a chromedriver the crawl started."""
    table = {
        int(entry.name): stat
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None
    }

    def descends_from_crawl(pid: int) -> bool:
        while pid > 1 and pid in table:
            if pid == crawl_pid:
                return True
            pid = table[pid][1]
        return False

    return [
        pid
        for pid, (name, ppid) in table.items()
        if name.startswith("chrom")
        and not name.startswith("chromedriver")
        and table.get(ppid, ("", 0))[0].startswith("chromedriver")
        and descends_from_crawl(pid)
    ]


class BrowserKiller:
    """A route that SIGKILLs the crawl's browser while it is loading the page (the request has
    reached the site), the first ``times`` times; later requests get the page."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.crawl_pid = 0
        self.killed = 0

    def __call__(self, _handler: _Handler) -> tuple[int, dict[str, str], bytes]:
        if self.killed < self.times:
            browsers = _browsers_of(self.crawl_pid)
            assert browsers, "no browser of the crawl found to kill"
            for pid in browsers:
                os.kill(pid, signal.SIGKILL)
            self.killed += 1
            time.sleep(1)  # the browser is gone before an answer could reach it
        return 200, {"Content-Type": "text/html"}, PAGE


def _renderers_of(crawl_pid: int) -> list[int]:
    """The crawl's renderer processes (none with ``--single-process``)."""
    return [
        pid
        for browser in _browsers_of(crawl_pid)
        for pid in _descendants(browser)
        if b"--type=renderer" in _command_line(pid)
    ]


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            children.setdefault(stat[1], []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        found.extend(kids := children.get(todo.pop(), []))
        todo.extend(kids)
    return found


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


class RendererKiller(BrowserKiller):
    """A route that SIGKILLs the crawl's renderers (a renderer crash: out of memory, a Blink
    bug) while the page loads, the first ``times`` times. With ``--single-process``
    (crawler/browser/flags.py) the renderer runs inside the browser process, so a renderer
    crash takes the browser down: that is what is killed then."""

    def __call__(self, _handler: _Handler) -> tuple[int, dict[str, str], bytes]:
        if self.killed < self.times:
            renderers = _renderers_of(self.crawl_pid)
            assert bool(renderers) != SINGLE_PROCESS, renderers
            renderers = renderers or _browsers_of(self.crawl_pid)
            assert renderers, "no renderer of the crawl found to kill"
            for pid in renderers:
                os.kill(pid, signal.SIGKILL)
            self.killed += 1
            time.sleep(1)
        return 200, {"Content-Type": "text/html"}, PAGE


def _run(crawl: Crawl, killer: BrowserKiller, *args: str, **settings: Any) -> tuple[int, str]:
    process = crawl.start(*args, **RENDER, **settings)
    killer.crawl_pid = process.pid
    log, _ = process.communicate(timeout=180)
    return process.returncode, log


def _sigterm_once(
    process: subprocess.Popen[str], ready: Callable[[list[str]], bool], stop_timeout: float
) -> str:
    """The crawl's log, read as it runs; SIGTERM once ``ready(lines so far)`` (within 120 s),
    then the crawl must end within ``stop_timeout`` seconds."""
    lines: list[str] = []
    stream = process.stdout
    assert stream is not None
    reader = threading.Thread(target=lambda: lines.extend(stream), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while not ready(lines):
        assert process.poll() is None, "".join(lines)
        assert time.monotonic() < deadline, "".join(lines)
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=stop_timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    reader.join(10)
    stream.close()
    return "".join(lines)


def _stat_value(log: str, name: str) -> int:
    found = re.search(rf"'{re.escape(name)}': (\d+)", log)
    return int(found[1]) if found else 0


def test_a_page_whose_browser_is_killed_mid_render_is_stored_once_complete(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    killer = BrowserKiller(times=1)
    crawl_site.route("/crash-once", killer)
    urls = [crawl_site.url("/"), crawl_site.url("/crash-once")]
    code, log = _run(
        crawl, killer, "urls=" + " ".join(urls), DOWNLOAD_DELAY=2, DOWNLOAD_DELAY_JITTER=0
    )

    assert code == 0, log
    records = stored_records(s3, bucket)
    assert sorted(r["url"] for r in records) == sorted(urls)  # each once
    page = next(r for r in records if r["url"] == crawl_site.url("/crash-once"))
    assert page["error"] is None, page["error"]
    assert (page["status"], page["title"]) == (200, "Survivor")
    assert "rendered in full" in page["body"]
    assert page["screenshot"] is not None
    assert killer.killed == 1
    assert _stat_value(log, "selenium/crash_retry/count") == 1
    assert "1 retry(ies) of a page in a fresh browser after a crash" in log
    # the retry waited its site's turn: the site saw the two tries a delay apart
    tries = [r.at for r in crawl_site.requests() if r.path == "/crash-once"]
    assert len(tries) == 2
    assert tries[1] - tries[0] >= 2.0 - 0.05


def test_a_page_whose_renderer_crashes_mid_render_is_stored_once_complete(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    """What the user gets from a renderer crash is the same whether the renderer is a process
    of its own (chromedriver: "tab crashed") or inside the browser (``--single-process``: the
    whole browser dies): the page is tried again in a fresh browser and stored once, complete."""
    killer = RendererKiller(times=1)
    crawl_site.route("/renderer-crash", killer)
    urls = [crawl_site.url("/"), crawl_site.url("/renderer-crash"), crawl_site.url("/a.html")]
    code, log = _run(crawl, killer, "urls=" + " ".join(urls))

    assert code == 0, log
    records = stored_records(s3, bucket)
    assert sorted(r["url"] for r in records) == sorted(urls)  # each once
    assert [r["error"] for r in records] == [None] * len(urls)
    page = next(r for r in records if r["url"] == crawl_site.url("/renderer-crash"))
    assert (page["status"], page["title"]) == (200, "Survivor")
    assert page["screenshot"] is not None
    assert killer.killed == 1
    assert _stat_value(log, "selenium/crash_retry/count") == 1
    assert _stat_value(log, "selenium/browser_restarts") == 1


def test_a_page_that_kills_its_browser_every_time_is_stored_failed_once_after_n_plus_1_tries(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    retries = 2
    killer = BrowserKiller(times=1000)
    crawl_site.route("/crash-always", killer)
    urls = [crawl_site.url("/crash-always"), crawl_site.url("/a.html")]
    code, log = _run(crawl, killer, "urls=" + " ".join(urls), SELENIUM_CRASH_RETRIES=retries)

    assert code == 1, log  # a page failed
    records = stored_records(s3, bucket)
    assert sorted(r["url"] for r in records) == sorted(urls)  # no duplicate
    failed = next(r for r in records if r["url"] == crawl_site.url("/crash-always"))
    assert failed["error"]["type"] == "browser_crash"
    assert f"({retries + 1} attempts, each in a fresh browser)" in failed["error"]["message"]
    assert crawl_site.paths().count("/crash-always") == retries + 1
    assert next(r for r in records if r["url"] == crawl_site.url("/a.html"))["error"] is None
    assert _stat_value(log, "selenium/crash_retry/count") == retries
    assert _stat_value(log, "selenium/crash_retry/max_reached") == 1


def test_a_page_timeout_is_not_retried(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    """A hung page is the page's fault, not the browser's: it would hang again."""

    def hang(_handler: _Handler) -> tuple[int, dict[str, str], bytes]:
        time.sleep(8)
        return 200, {}, PAGE

    crawl_site.route("/hang", hang)
    result = crawl.run("urls=" + crawl_site.url("/hang"), **RENDER, SELENIUM_PAGE_LOAD_TIMEOUT=2)
    assert result.returncode == 1, result.log
    (record,) = stored_records(s3, bucket)
    assert record["error"]["type"] == "timeout"
    assert crawl_site.paths().count("/hang") == 1
    assert _stat_value(result.log, "selenium/crash_retry/count") == 0


def _script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_a_browser_that_fails_its_first_start_is_started_again_and_the_page_stored(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    first_run = tmp_path / "started-once"
    wrapper = _script(
        tmp_path / "flaky-chromium",
        f'if [ ! -e "{first_run}" ]; then touch "{first_run}"; exit 1; fi\n'
        f'exec {SELENIUM_BROWSER_PATH} "$@"\n',
    )
    result = crawl.run("urls=" + crawl_site.url("/"), **RENDER, SELENIUM_BROWSER_PATH=wrapper)

    assert result.returncode == 0, result.log
    (record,) = stored_records(s3, bucket)
    assert (record["error"], record["title"]) == (None, "Crawl home")
    assert first_run.exists()
    assert _stat_value(result.log, "selenium/browser_start_failures") == 1
    assert _stat_value(result.log, "selenium/browser_start_retries") == 1
    assert crawl_site.paths().count("/") == 1  # started again before the page was requested


def test_a_broken_browser_path_still_fails_fast_naming_the_setting(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    """The start retries count towards the cool-down: no more doomed starts than before, and
    the pages are not sent back through the scheduler for more."""
    pages = ["/", "/a.html", "/b.html"]
    result = crawl.run(
        "urls=" + " ".join(crawl_site.url(p) for p in pages),
        **RENDER,
        SELENIUM_BROWSER_PATH="/bin/false",
    )
    assert result.returncode == 1, result.log
    records = stored_records(s3, bucket)
    assert sorted(r["url"] for r in records) == sorted(crawl_site.url(p) for p in pages)
    assert {r["error"]["type"] for r in records} == {"browser_crash"}
    assert all("check SELENIUM_BROWSER_PATH=/bin/false" in r["error"]["message"] for r in records)
    assert _stat_value(result.log, "selenium/browser_start_failures") == MAX_START_FAILURES


def test_sigterm_while_a_retry_waits_its_turn_loses_nothing(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    """The retry waits in its site's slot (a long delay) when the crawl is told to stop: it is
    dropped, as every queued request is, and the page is stored failed with its crash, once."""
    killer = BrowserKiller(times=1)
    crawl_site.route("/crash-once", killer)
    process = crawl.start(
        "urls=" + crawl_site.url("/crash-once"),
        **RENDER,
        DOWNLOAD_DELAY=30,
        DOWNLOAD_DELAY_JITTER=0,
        RIVALSCOPE_STOP_GRACE=10,
    )
    killer.crawl_pid = process.pid
    log = _sigterm_once(
        process, lambda lines: any("trying it again in a fresh browser" in s for s in lines), 120
    )

    assert "Stopping (SIGTERM)" in log
    assert process.returncode == 1, log
    (record,) = stored_records(s3, bucket)
    assert record["url"] == crawl_site.url("/crash-once")
    assert record["error"]["type"] == "browser_crash"
    assert "not tried again: the crawl was stopping" in record["error"]["message"]
    assert crawl_site.paths().count("/crash-once") == 1  # the retry never reached the site


def test_sigterm_while_a_retry_waits_in_the_scheduler_records_it_failed_once(
    crawl: Crawl, crawl_site: SiteServer, s3: S3Client, bucket: str
) -> None:
    """One request at a time: the crash's retry (a lower priority) waits in the scheduler while
    the next page loads slowly; the stop comes then. The engine never reads the scheduler again,
    yet the page the site saw is stored failed with its crash, and the slow one complete."""
    killer = BrowserKiller(times=1)
    crawl_site.route("/crash-once", killer)

    def slow(_handler: _Handler) -> tuple[int, dict[str, str], bytes]:
        time.sleep(6)
        return 200, {"Content-Type": "text/html"}, PAGE

    crawl_site.route("/slow", slow)
    urls = [crawl_site.url("/crash-once"), crawl_site.url("/slow")]
    process = crawl.start(
        "urls=" + " ".join(urls),
        **RENDER,
        CONCURRENT_REQUESTS=1,
        DOWNLOAD_DELAY=0,
        RIVALSCOPE_STOP_GRACE=30,
    )
    killer.crawl_pid = process.pid
    # the retry is scheduled once the slow page is loading
    log = _sigterm_once(process, lambda _lines: "/slow" in crawl_site.paths(), 120)

    assert "Stopping (SIGTERM)" in log
    records = {r["url"]: r for r in stored_records(s3, bucket)}
    assert sorted(records) == sorted(urls), log  # each once
    crashed = records[crawl_site.url("/crash-once")]
    assert crashed["error"]["type"] == "browser_crash"
    assert "not tried again: the crawl was stopping" in crashed["error"]["message"]
    assert records[crawl_site.url("/slow")]["error"] is None
    assert crawl_site.paths().count("/crash-once") == 1  # the retry never reached the site
    assert _stat_value(log, "selenium/crash_retry/recorded_at_stop") == 1
