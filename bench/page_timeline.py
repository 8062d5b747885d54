"""Where a browser's wall time per page goes, and how long it sits idle between pages (#16).

Two parts. ``PageTimeline`` is a Scrapy extension, on only when ``BENCH_TIMELINE_FILE`` is set
(``python -m bench.crawl --only rivalscope -s BENCH_TIMELINE_FILE=/tmp/t.json``; the crawl's
process id is added to the name, one file a round): it wraps, in the crawl's own process, every
WebDriver command (named by its script or CDP method), the render job, the pool's check-out,
hand-over and threads, the capture turn, the download handler and the pipeline's encoding, and
samples the reactor's lateness every 5 ms. Each command also reads the CPU of its browser's
processes (chromedriver and Chromium, from /proc) before and after. ``main`` (``python -m
bench.page_timeline FILE...``) turns the files into the medians per step of a page and per gap
between two pages of one browser, as a markdown table for bench/RESULTS.md.

The wrappers cost a few tens of µs per command (a /proc read per process): the timeline's run
is for where the time goes, not for pages/min, which ``bench.crawl`` without it measures.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from scrapy.crawler import Crawler

_TICK = os.sysconf("SC_CLK_TCK")
_LAG_INTERVAL = 0.005
_SCRIPT_COMMANDS = (
    "executeScript",
    "executeAsyncScript",
    "w3cExecuteScript",
    "w3cExecuteScriptAsync",
)


def _cpu_of(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


class Recorder:
    """Events as dicts; appended from the reactor and the worker threads (list.append is
    atomic under the GIL)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.pids: dict[int, list[int]] = {}  # id(driver) -> its processes
        self.scripts: dict[str, str] = {}
        self.current_job: dict[int, int] = {}  # thread id -> job number
        self.jobs = 0

    def add(self, kind: str, **fields: Any) -> None:
        fields["kind"] = kind
        self.events.append(fields)


def _script_names() -> dict[str, str]:
    from crawler.browser import consent, screenshot, scripts

    names = {
        scripts.SCROLL_THROUGH: "scroll",
        scripts.SETTLE: "settle",
        scripts.SNAPSHOT: "snapshot",
        scripts.IGNORED_BOXES: "ignored_boxes",
        consent._HIDE: "consent_hide",
        screenshot._PICTURE_SHARE: "picture_share",
    }
    for name in ("PAGE_STATE", "AFTER_SETTLE"):  # later merged scripts, if any
        text = getattr(scripts, name, None)
        if isinstance(text, str):
            names[text] = name.lower()
    return names


def _step(recorder: Recorder, command: str, params: dict[str, Any]) -> str:
    if command in _SCRIPT_COMMANDS:
        script = str(params.get("script", ""))
        return recorder.scripts.get(script) or f"{command}:{script[:30].strip()}"
    if command == "executeCdpCommand":
        return f"cdp:{params.get('cmd')}"
    if command == "getLog":
        return "get_log"
    return command


def install(recorder: Recorder) -> None:
    """Wraps the crawl's code in place (this process only)."""
    from selenium.webdriver.remote.webdriver import WebDriver
    from twisted.internet import defer

    from crawler.browser import capture_turns, pool, session
    from crawler.handlers import selenium as handler
    from crawler.pipelines import ReliableS3Pipeline

    recorder.scripts = _script_names()
    execute = WebDriver.execute

    def timed_execute(self: Any, command: str, params: Any = None) -> Any:
        pids = recorder.pids.get(id(self), [])
        cpu0, t0 = _cpu_of(pids), time.monotonic()
        try:
            return execute(self, command, params)
        finally:
            t1 = time.monotonic()
            recorder.add(
                "cmd",
                step=_step(recorder, command, params or {}),
                driver=id(self),
                job=recorder.current_job.get(threading.get_ident()),
                t0=t0,
                t1=t1,
                cpu=_cpu_of(pids) - cpu0,
            )

    setattr(WebDriver, "execute", timed_execute)  # noqa: B010 - patched in place

    render_page = getattr(handler, "render_page")  # noqa: B009 - the name the handler calls

    def timed_render(browser: session.BrowserSession, url: str, *args: Any, **kw: Any) -> Any:
        driver = id(browser.driver)
        if driver not in recorder.pids:
            recorder.pids[driver] = browser.pids()
        recorder.jobs += 1
        number = recorder.jobs
        recorder.current_job[threading.get_ident()] = number
        pids = recorder.pids[driver]
        cpu0, py0, t0 = _cpu_of(pids), time.thread_time(), time.monotonic()
        try:
            return render_page(browser, url, *args, **kw)
        finally:
            recorder.current_job.pop(threading.get_ident(), None)
            recorder.add(
                "job",
                job=number,
                url=url,
                driver=driver,
                t0=t0,
                t1=time.monotonic(),
                cpu=_cpu_of(pids) - cpu0,
                py=time.thread_time() - py0,
            )

    setattr(handler, "render_page", timed_render)  # noqa: B010

    real_defer = getattr(pool, "deferToThread")  # noqa: B009 - the name the pool calls

    def timed_defer(f: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        called = time.monotonic()
        marks: dict[str, float] = {}
        name = getattr(f, "__name__", "?")

        def run(*a: Any, **k: Any) -> Any:
            marks["t_start"] = time.monotonic()
            try:
                return f(*a, **k)
            finally:
                marks["t_end"] = time.monotonic()

        deferred = real_defer(run, *args, **kw)

        def delivered(result: Any) -> Any:
            recorder.add("thread", name=name, called=called, delivered=time.monotonic(), **marks)
            return result

        deferred.addBoth(delivered)
        return deferred

    setattr(pool, "deferToThread", timed_defer)  # noqa: B010

    def timed_async(cls: type, name: str) -> None:
        method = getattr(cls, name)

        @functools.wraps(method)
        async def wrapper(self: Any, *args: Any, **kw: Any) -> Any:
            t0 = time.monotonic()
            try:
                return await method(self, *args, **kw)
            finally:
                recorder.add(name.strip("_"), t0=t0, t1=time.monotonic())

        setattr(cls, name, wrapper)

    timed_async(pool.BrowserPool, "run")
    timed_async(pool.BrowserPool, "_check_out")
    timed_async(pool.BrowserPool, "_leave_unless_awaited")
    timed_async(handler.SeleniumDownloadHandler, "download_request")
    acquire = defer.DeferredSemaphore.acquire

    def timed_acquire(self: Any) -> Any:
        t0 = time.monotonic()
        deferred = acquire(self)

        def got(result: Any) -> Any:
            recorder.add("acquire", t0=t0, t1=time.monotonic())
            return result

        deferred.addCallback(got)
        return deferred

    defer.DeferredSemaphore.acquire = timed_acquire  # type: ignore[method-assign]

    for cls in (capture_turns.CaptureHeightBudget, capture_turns.TallCaptureTurns):
        turn = cls.turn

        def timed_turn(self: Any, height: int, _turn: Any = turn) -> Any:
            @contextlib.contextmanager
            def timed() -> Iterator[bool]:
                t0 = time.monotonic()
                with _turn(self, height) as given:
                    recorder.add(
                        "turn",
                        t0=t0,
                        t1=time.monotonic(),
                        job=recorder.current_job.get(threading.get_ident()),
                    )
                    yield given

            return timed()

        cls.turn = timed_turn  # type: ignore[method-assign]

    encode = ReliableS3Pipeline._encode_item

    def timed_encode(self: Any, item: Any) -> Any:
        t0, py0 = time.monotonic(), time.thread_time()
        try:
            return encode(self, item)
        finally:
            recorder.add("encode", t0=t0, t1=time.monotonic(), py=time.thread_time() - py0)

    ReliableS3Pipeline._encode_item = timed_encode  # type: ignore[method-assign]


class PageTimeline:
    """The extension: installs the wrappers at start, samples the reactor, writes at close."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._recorder = Recorder()
        install(self._recorder)
        self._last = time.monotonic()
        self._loop: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageTimeline:
        path = crawler.settings.get("BENCH_TIMELINE_FILE")
        if not path:
            raise NotConfigured("BENCH_TIMELINE_FILE is not set")
        timeline = cls(Path(f"{path}.{os.getpid()}"))
        crawler.signals.connect(timeline._opened, signal=signals.spider_opened)
        crawler.signals.connect(timeline._scraped, signal=signals.item_scraped)
        crawler.signals.connect(timeline._closed, signal=signals.spider_closed)
        return timeline

    def _opened(self) -> None:
        from twisted.internet.task import LoopingCall

        self._last = time.monotonic()
        self._loop = LoopingCall(self._tick)
        self._loop.start(_LAG_INTERVAL, now=False)

    def _tick(self) -> None:
        now = time.monotonic()
        late = now - self._last - _LAG_INTERVAL
        if late > 0.002:
            self._recorder.add("lag", t0=self._last + _LAG_INTERVAL, t1=now)
        self._last = now

    def _scraped(self, item: Any) -> None:
        self._recorder.add("scraped", t0=time.monotonic())

    def _closed(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._path.write_text(json.dumps(self._recorder.events))


# --- analysis ---------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def analyse(events: list[dict[str, Any]]) -> dict[str, Any]:
    jobs = sorted((e for e in events if e["kind"] == "job"), key=lambda e: e["t0"])
    commands = defaultdict(list)
    for event in events:
        if event["kind"] == "cmd" and event.get("job") is not None:
            commands[event["job"]].append(event)
    per_step_wall: dict[str, list[float]] = defaultdict(list)
    per_step_cpu: dict[str, list[float]] = defaultdict(list)
    per_step_count: dict[str, list[int]] = defaultdict(list)
    steps: set[str] = {c["step"] for cs in commands.values() for c in cs}
    turns = {e["job"]: e["t1"] - e["t0"] for e in events if e["kind"] == "turn"}
    for job in jobs:
        mine = commands[job["job"]]
        for step in steps:
            chosen = [c for c in mine if c["step"] == step]
            per_step_wall[step].append(sum(c["t1"] - c["t0"] for c in chosen) * 1000)
            per_step_cpu[step].append(sum(c["cpu"] for c in chosen) * 1000)
            per_step_count[step].append(len(chosen))
        in_commands = sum(c["t1"] - c["t0"] for c in mine)
        wall = job["t1"] - job["t0"]
        per_step_wall["python between commands"].append((wall - in_commands) * 1000)
        per_step_cpu["python between commands"].append(0.0)
        per_step_count["python between commands"].append(0)
        per_step_wall["(capture turn wait)"].append(turns.get(job["job"], 0.0) * 1000)
    # Gaps: per browser, from one job's end to its next job's start, split by what ran between.
    threads = [e for e in events if e["kind"] == "thread"]
    gaps: dict[str, list[float]] = defaultdict(list)
    by_driver: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for job in jobs:
        by_driver[job["driver"]].append(job)
    lags = [e for e in events if e["kind"] == "lag"]

    def reactor_late(t0: float, t1: float) -> float:
        return float(sum(max(0.0, min(t1, e["t1"]) - max(t0, e["t0"])) for e in lags))

    for runs in by_driver.values():
        for before, after in itertools.pairwise(runs):
            gap = after["t0"] - before["t0"] - (before["t1"] - before["t0"])
            gaps["total gap (job end → next job start)"].append(gap * 1000)
            done = _thread_of(threads, before["t1"], "timed_render")
            start = _thread_of(threads, after["t0"], "timed_render", start=True)
            if done is not None:
                gaps["thread → reactor (result delivered)"].append(
                    (done["delivered"] - before["t1"]) * 1000
                )
            if start is not None:
                gaps["deferToThread → job starts"].append((after["t0"] - start["called"]) * 1000)
            if done is not None and start is not None:
                gaps["reactor: delivered → next job's deferToThread"].append(
                    (start["called"] - done["delivered"]) * 1000
                )
            gaps["reactor late (lag samples in the gap)"].append(
                reactor_late(before["t1"], after["t0"]) * 1000
            )
    alive = [e for e in threads if e["name"] == "_is_alive"]
    leaves = [e for e in threads if e["name"] == "leave_page"]
    encodes = [e for e in events if e["kind"] == "encode"]
    span = (jobs[-1]["t1"] - jobs[0]["t0"]) if jobs else 0.0
    return {
        "pages": len(jobs),
        "span_s": span,
        "job_wall_ms": _median([(j["t1"] - j["t0"]) * 1000 for j in jobs]),
        "job_cpu_ms": _median([j["cpu"] * 1000 for j in jobs]),
        "job_py_ms": _median([j["py"] * 1000 for j in jobs]),
        "steps": {
            step: (
                _median(per_step_wall[step]),
                _median(per_step_cpu[step]),
                _median([float(n) for n in per_step_count[step]]),
                sum(per_step_wall[step]) / max(1, len(jobs)),
            )
            for step in per_step_wall
        },
        "gaps": {name: (_median(v), sum(v) / max(1, len(v)), len(v)) for name, v in gaps.items()},
        "is_alive_ms": _median(
            [(e["t_end"] - e["t_start"]) * 1000 for e in alive if "t_end" in e]
        ),
        "leave_pages": len(leaves),
        "encode_ms": _median([(e["t1"] - e["t0"]) * 1000 for e in encodes]),
        "encode_py_ms": _median([e["py"] * 1000 for e in encodes]),
        "reactor_late_ms_total": sum(e["t1"] - e["t0"] for e in lags) * 1000,
        "reactor_lags_over_20ms": sum(1 for e in lags if e["t1"] - e["t0"] > 0.02),
        "busy_share": (
            sum(j["t1"] - j["t0"] for j in jobs) / (span * max(1, len(by_driver))) if span else 0
        ),
    }


def _thread_of(
    threads: list[dict[str, Any]], at: float, name: str, *, start: bool = False
) -> dict[str, Any] | None:
    key = "t_start" if start else "t_end"
    for event in threads:
        named = event["name"] in (name, "job")
        if named and key in event and abs(event[key] - at) < 0.005:
            return event
    return None


def render(result: dict[str, Any], source: str) -> str:
    lines = [
        (
            f"Timeline of {result['pages']} pages ({source}); a browser is inside a page "
            f"{result['busy_share'] * 100:.0f} % of the crawl's span ({result['span_s']:.1f} s)."
        ),
        "",
        (
            f"Page (job) median: wall {result['job_wall_ms']:.0f} ms, browser CPU "
            f"{result['job_cpu_ms']:.0f} ms, crawler thread CPU {result['job_py_ms']:.0f} ms."
        ),
        "",
        (
            "| step in a page | median wall ms | median browser CPU ms | commands/page"
            " | mean wall ms |"
        ),
        "|---|---|---|---|---|",
    ]
    ordered = sorted(result["steps"].items(), key=lambda kv: -kv[1][3])
    for step, (wall, cpu, count, mean) in ordered:
        lines.append(f"| {step} | {wall:.1f} | {cpu:.1f} | {count:g} | {mean:.1f} |")
    lines += ["", "| between two pages of one browser | median ms | mean ms | n |"]
    lines += ["|---|---|---|---|"]
    for name, (median, mean, count) in result["gaps"].items():
        lines.append(f"| {name} | {median:.1f} | {mean:.1f} | {count} |")
    lines += [
        "",
        (
            f"check-out's liveness check (thread) median {result['is_alive_ms']:.1f} ms; "
            f"blank-tab leaves {result['leave_pages']}; pipeline encode per page median "
            f"{result['encode_ms']:.1f} ms wall, {result['encode_py_ms']:.1f} ms CPU (thread); "
            f"reactor late in total {result['reactor_late_ms_total']:.0f} ms, "
            f"{result['reactor_lags_over_20ms']} lags > 20 ms."
        ),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="timeline files of a crawl")
    args = parser.parse_args(argv)
    for path in args.files:
        print(render(analyse(json.loads(path.read_text())), path.name))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
