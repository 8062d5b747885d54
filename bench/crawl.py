"""The crawl benchmark (issue 2): rivalscope against scrapy-playwright and the original design.

``python -m bench.crawl [--pages N] [--only rivalscope,baseline,playwright] [--record]`` serves
a generated six-site workload on loopback (threads of this process), then crawls it with each
approach in its own process while sampling the PSS of that process tree alone. It reports
pages/min (first request to last page stored), the median per-page render time, peak PSS, CPU
seconds per page, stored bytes per page and how many screenshots hold the complete page, and
the ratios between approaches measured in the same run. ``--record`` appends the table to
``bench/RESULTS.md``.

``--against TREE`` measures one change on its own: it adds the approach ``before``, the same
rivalscope crawl run from another source tree (``git worktree add /tmp/before main``), interleaved
with this tree's in the same ABC/CBA rounds, with ``--against-set`` settings for it alone.

Throughput settings are the same for all: no download delay, one request at a time per site,
AutoThrottle off (a polite delay would make every approach wait alike).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.outcomes import Outcome, combine, ratios, table
from bench.pss import PssSampler
from bench.results import publish
from bench.rivalscope_crawl import RivalscopeRun
from bench.workload import Page, WorkloadServers, build_workload, describe

ROOT = Path(__file__).resolve().parents[1]
APPROACHES = ("rivalscope", "playwright", "baseline", "before")
_MODULES = {"playwright": "bench.playwright_crawl", "baseline": "bench.baseline"}


def _run_process(
    name: str, command: list[str], env: dict[str, str], log: Path, timeout: float, cwd: Path
) -> tuple[PssSampler, float, int]:
    started = time.time()
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=out)
        sampler = PssSampler(process.pid).start()
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
            print(f"{name}: timed out after {timeout:.0f} s", file=sys.stderr)
        finally:
            sampler.stop()
    return sampler, time.time() - started, code


def _summarise(
    name: str,
    timing: dict[str, Any],
    expected: dict[str, Page],
    sampler: PssSampler,
    stored: dict[str, tuple[int, int | None, str | None]] | None,
) -> Outcome:
    """``stored`` (url -> bytes, screenshot height, error), when read back from storage,
    overrides what the crawler's own timing file says about each page."""
    outcome = Outcome(name)
    pages = sorted(timing["pages"], key=lambda p: p["done_at"])
    for page in pages:
        url = page["url"]
        size, height, error = (
            stored.get(url, (0, None, "not stored"))
            if stored
            else (
                page.get("bytes") or 0,
                page.get("shot_height"),
                page.get("error"),
            )
        )
        if error:
            outcome.failed += 1
            continue
        outcome.pages += 1
        outcome.stored_bytes += size
        if page.get("render_ms") is not None:
            outcome.render_ms.append(float(page["render_ms"]))
        if url in expected and height is not None and height >= expected[url].expected_height:
            outcome.complete += 1
    if timing.get("first_request") and timing.get("finished"):
        outcome.wall = timing["finished"] - timing["first_request"]
    outcome.peak_pss = sampler.peak
    outcome.pss_breakdown = sampler.peak_breakdown()
    outcome.cpu_by_kind = sampler.cpu_breakdown()
    start = timing.get("first_request") or 0.0
    for end_index in range(99, len(pages), 100):
        end = pages[end_index]["done_at"]
        outcome.pss_by_hundred.append(sampler.peak_between(start, end))
        outcome.breakdown_by_hundred.append(sampler.breakdown_between(start, end))
        start = end
    outcome.cpu_seconds = sampler.cpu_seconds
    return outcome


def run_approach(
    name: str,
    servers: WorkloadServers,
    work: Path,
    timeout: float,
    rivalscope_settings: tuple[str, ...] = (),
    against: Path | None = None,
) -> Outcome:
    """``against``: the source tree the ``before`` approach runs from."""
    urls = servers.urls()
    urls_file = work / "urls.txt"
    urls_file.write_text("\n".join(url for url, _ in urls) + "\n")
    timing_file = work / f"{name}-timing.json"
    tree = (against or ROOT) if name == "before" else ROOT
    env = {**os.environ, "PYTHONPATH": str(tree), "SE_OFFLINE": "true", "SE_AVOID_STATS": "true"}
    rivalscope = (
        RivalscopeRun(servers.netlocs, work / name, rivalscope_settings, tree)
        if name in ("rivalscope", "before")
        else None
    )
    if rivalscope is not None:
        missing = rivalscope.missing()
        if missing:
            return Outcome(name, note=f"not run: {missing}")
        env.update(rivalscope.start())
        command = rivalscope.command(urls_file, timing_file)
    else:
        command = [sys.executable, "-m", _MODULES[name], str(urls_file), str(work / name)]
        command.append(str(timing_file))
    servers.clear_logs()
    load_before = os.getloadavg()[0]
    print(f"{name}: {shlex.join(command[:6])} … ({len(urls)} pages)", file=sys.stderr)
    try:
        sampler, process_wall, code = _run_process(
            name, command, env, work / f"{name}.log", timeout, tree
        )
        sampler.dump(work / f"{name}-samples.jsonl")
        stored = rivalscope.read_back() if rivalscope is not None else None
    finally:
        if rivalscope is not None:
            rivalscope.stop()
    if not timing_file.exists():
        return Outcome(name, note=f"exit {code}, no timing file; see {work / name}.log")
    timing = json.loads(timing_file.read_text())
    outcome = _summarise(name, timing, dict(urls), sampler, stored)
    outcome.process_wall = process_wall
    outcome.lazy_fetched, outcome.lazy_expected = servers.lazy_images()
    outcome.load = (load_before, os.getloadavg()[0])
    if code:
        outcome.note = f"exit code {code}"
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.crawl", description=__doc__)
    parser.add_argument("--pages", type=int, default=60, help="pages in the workload (60)")
    parser.add_argument(
        "--only",
        default=",".join(APPROACHES),
        help="comma-separated subset of " + "|".join(APPROACHES),
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every approach this often, in ABC then CBA order, so load drift on a shared "
        "machine evens out; figures are pooled over the rounds (1)",
    )
    parser.add_argument(
        "-s",
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Scrapy setting for the rivalscope crawl, e.g. -s SELENIUM_SCROLL_LAZY=False",
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="TREE",
        help="also run rivalscope from this source tree as the approach 'before', interleaved "
        "with this tree's: one change measured against its baseline in the same run",
    )
    parser.add_argument(
        "--against-set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Scrapy setting for the 'before' crawl only",
    )
    parser.add_argument(
        "--scroll-listener",
        action="store_true",
        help="every page registers a no-op scroll listener, as many real sites do: no page lets "
        "SELENIUM_SCROLL_LAZY=auto skip the scroll-through",
    )
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--keep", type=Path, help="keep screenshots, logs and timings here")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    if (args.against is not None or args.against_set) and "before" not in chosen:
        chosen.append("before")
    if "before" in chosen and args.against is None and not args.against_set:
        parser.error("'before' needs --against TREE or --against-set NAME=VALUE")
    unknown = sorted(set(chosen) - set(APPROACHES))
    if unknown or not chosen:
        parser.error(f"--only takes {', '.join(APPROACHES)}; got {', '.join(unknown) or 'none'}")
    if any("=" not in setting for setting in args.set + args.against_set):
        parser.error("-s/--set takes NAME=VALUE")
    if args.rounds < 1 or args.pages < 1:
        parser.error("--rounds and --pages must be at least 1")
    workload = build_workload(args.pages, scroll_listener=args.scroll_listener)
    print(describe(workload), file=sys.stderr)
    servers = WorkloadServers(workload).start()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    work.mkdir(parents=True, exist_ok=True)
    timeout = max(900.0, args.pages * 15.0)
    runs: list[Outcome] = []
    try:
        for number in range(1, args.rounds + 1):
            order = chosen if number % 2 else chosen[::-1]
            for name in order:
                run_dir = work / f"round{number}" if args.rounds > 1 else work
                run_dir.mkdir(exist_ok=True)
                settings = tuple(args.against_set if name == "before" else args.set)
                run = run_approach(name, servers, run_dir, timeout, settings, args.against)
                run.round = number if args.rounds > 1 else 0
                runs.append(run)
    finally:
        servers.stop()
    outcomes = runs
    if args.rounds > 1:
        outcomes = [combine([r for r in runs if r.name == name]) for name in chosen]
    command = "python -m bench.crawl " + shlex.join(argv if argv is not None else sys.argv[1:])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = "\n".join(
        [
            f"### {stamp}: `{command.strip()}`",
            "",
            (
                f"Workload: {describe(workload)}. {os.cpu_count()} cores; "
                f"`uptime` at the end: {os.getloadavg()[0]:.1f} (1 min). Artefacts: {work}"
            ),
            "",
            table(runs + (outcomes if args.rounds > 1 else [])),
            "",
            *ratios(outcomes),
            *(f"- {o.label}: {o.note}" for o in runs if o.note),
        ]
    )
    publish(report, append=args.record)
    return 0 if all(o.pages for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
