"""The shard benchmark (issue 13): does splitting a run into shard processes cost anything?

``python -m bench.shards [--pages N] [--shards 1,2,3] [--rounds R] [--record]`` serves the crawl
benchmark's generated workload on loopback and, for each N, crawls it twice in one run set:

- **one process** with ``SELENIUM_POOL_SIZE=N`` (N browsers in one crawl);
- **N shard processes** of one run (``-a run=RUN -a shard=I/N``, split by site exactly as the
  state machine splits it), started together, one browser each: the same browsers in total.

Pages/min is the pages stored over the time from the first request of any process to the last
page stored by any process (``bench.timing.BenchTimer``'s timing files), so a shard that starts
late or finishes last counts against the split. The goal is sharded ≥ 90 % of one process.
Rounds run in AB then BA order so that load drift on a shared machine evens out; medians are
quoted. Then, once per N, ``rivalscope_local.run --shards N`` runs the whole pipeline on the
same URLs (crawl, analysis, the run-complete step, the report and its digest) and the time from
launch to its run-complete line is recorded: "first shard start to digest".

Throughput settings as in ``bench.crawl``: no download delay, one request at a time per site,
AutoThrottle off."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.results import publish
from bench.rivalscope_crawl import RivalscopeRun
from bench.workload import WorkloadServers, build_workload, describe
from rivalscope_core.keys import new_run_id

ROOT = Path(__file__).resolve().parents[1]
_ENV = {"PYTHONPATH": str(ROOT), "SE_OFFLINE": "true", "SE_AVOID_STATS": "true"}
GOAL = 0.90


@dataclass
class Trial:
    """One crawl of the whole workload by one or more processes."""

    label: str
    processes: int
    pages: int = 0
    wall: float = 0.0
    exit_codes: list[int] = field(default_factory=list)

    @property
    def pages_per_minute(self) -> float:
        return self.pages / self.wall * 60 if self.wall else 0.0


def _crawl(
    servers: WorkloadServers, work: Path, shards: int, browsers_each: int, run: str | None
) -> Trial:
    """Start ``shards`` crawl processes at once (one when ``run`` is None) and wait for all."""
    work.mkdir(parents=True, exist_ok=True)
    urls_file = work / "urls.txt"
    urls_file.write_text("\n".join(url for url, _ in servers.urls()) + "\n")
    storage = RivalscopeRun(servers.netlocs, work)
    env = {**os.environ, **_ENV, **storage.start()}
    processes: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for index in range(shards):
            timing = work / f"timing-{index}.json"
            command = RivalscopeRun(
                servers.netlocs, work / f"shard{index}", (f"SELENIUM_POOL_SIZE={browsers_each}",)
            ).command(urls_file, timing)
            if run is not None:
                command += ["-a", f"run={run}", "-a", f"shard={index}/{shards}"]
            log = (work / f"crawl-{index}.log").open("w")
            processes.append(
                (subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log), timing)
            )
            log.close()
        codes = [process.wait(timeout=1800) for process, _ in processes]
    finally:
        for process, _ in processes:
            if process.poll() is None:
                process.kill()
        storage.stop()
    label = (
        f"{shards} shard processes × {browsers_each}" if run else f"1 process × {browsers_each}"
    )
    trial = Trial(label, shards, exit_codes=codes)
    firsts, lasts = [], []
    for _, timing_file in processes:
        if not timing_file.exists():
            continue
        timing = json.loads(timing_file.read_text())
        done = [p for p in timing["pages"] if not p.get("error")]
        trial.pages += len(done)
        if timing.get("first_request"):
            firsts.append(timing["first_request"])
        lasts += [p["done_at"] for p in done]
    if firsts and lasts:
        trial.wall = max(lasts) - min(firsts)
    return trial


def _to_digest(servers: WorkloadServers, work: Path, shards: int) -> str:
    """Seconds from launching ``rivalscope_local.run --shards N`` to its run-complete line."""
    work.mkdir(parents=True, exist_ok=True)
    urls = " ".join(url for url, _ in servers.urls())
    command = [sys.executable, "-m", "rivalscope_local.run", "--urls", urls]
    command += ["--shards", str(shards), "--allow-private", ",".join(servers.netlocs)]
    command += ["--data-dir", str(work / "data"), "--out", str(work / "out")]
    env = {**os.environ, **_ENV, "ANALYZER": "extract"}
    env.pop("GEMINI_API_KEY", None)
    started = time.monotonic()
    reached: float | None = None
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        with (work / "run.log").open("w") as log:
            for line in process.stdout:
                log.write(line)
                if reached is None and "run-complete step" in line:
                    reached = time.monotonic() - started
        code = process.wait()
    if reached is None:
        return f"no run-complete line (exit {code}; see {work / 'run.log'})"
    return f"{reached:.1f} s (exit {code})"


def _row(count: int, trials: list[Trial], ratio: float) -> str:
    rate = statistics.median(t.pages_per_minute for t in trials)
    return (
        f"| {count} | {trials[0].label} | {rate:.1f} | {len(trials)} | "
        f"{trials[0].pages} | {ratio:.2f} |"
    )


def _measure(
    servers: WorkloadServers, work: Path, count: int, rounds: int
) -> tuple[list[str], float]:
    """Table rows for one N and the sharded ÷ single ratio (1.0 for N = 1)."""
    trials: dict[bool, list[Trial]] = {False: [], True: []}
    for number in range(rounds):
        for sharded in (False, True) if number % 2 == 0 else (True, False):
            if count == 1 and sharded:
                continue  # one shard of one is the single process
            where = work / f"n{count}-{'sharded' if sharded else 'single'}-{number}"
            if sharded:
                trial = _crawl(servers, where, count, 1, new_run_id())
            else:
                trial = _crawl(servers, where, 1, count, None)
            trials[sharded].append(trial)
            print(
                f"N={count} {trial.label}: {trial.pages} pages, {trial.pages_per_minute:.1f}/min",
                file=sys.stderr,
            )
    single = statistics.median(t.pages_per_minute for t in trials[False])
    rows = [_row(count, trials[False], 1.0)]
    ratio = 1.0
    if trials[True]:
        split = statistics.median(t.pages_per_minute for t in trials[True])
        ratio = split / single if single else 0.0
        rows.append(_row(count, trials[True], ratio))
    return rows, ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shards", description=__doc__)
    parser.add_argument("--pages", type=int, default=60, help="pages in the workload (60)")
    parser.add_argument("--shards", default="1,2,3", help="the N to measure (1,2,3)")
    parser.add_argument("--rounds", type=int, default=3, help="trials per N and mode (3)")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.shards.split(",") if n.strip()]
    if not counts or min(counts) < 1 or args.rounds < 1 or args.pages < 1:
        parser.error("--shards takes positive integers; --rounds and --pages at least 1")
    workload = build_workload(args.pages)
    servers = WorkloadServers(workload).start()
    work = Path(tempfile.mkdtemp(prefix="bench-shards-"))
    rows = ["| N | mode | pages/min (median) | trials | pages | sharded ÷ one process |"]
    rows.append("|---|---|---|---|---|---|")
    digests = []
    ok = True
    try:
        for count in counts:
            measured, ratio = _measure(servers, work, count, args.rounds)
            rows += measured
            ok = ok and ratio >= GOAL
            took = _to_digest(servers, work / f"n{count}-pipeline", count)
            digests.append(f"- N={count}: launch to the run-complete step (digest): {took}")
    finally:
        servers.stop()
    command = "python -m bench.shards " + " ".join(argv if argv is not None else sys.argv[1:])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    setting = (
        f"Workload: {describe(workload)}. {os.cpu_count()} cores; load at the end "
        f"{os.getloadavg()[0]:.1f} (1 min). Goal: sharded ≥ {GOAL:.0%} of one process "
        f"with the same browsers. Artefacts: {work}"
    )
    report = "\n".join([f"### {stamp}: `{command.strip()}`", "", setting, "", *rows, "", *digests])
    publish(report, append=args.record)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
