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

``--against TREE`` measures a change to the per-process cost on its own: every trial is run from
this tree and from ``TREE`` (``git worktree add --detach /tmp/before main``), interleaved ABBA
round by round, and both trees' ratios are quoted from the same run set.

Each trial also reports what a process costs on top of its pages, from a light sampler of every
crawl process tree (CPU times only, every 0.25 s): **start-up CPU**, the tree's CPU seconds
from launch to its first request (Python imports, the Scrapy engine, the S3 clients, the guard
proxy, chromedriver and the browser); **tail**, the seconds from a process's last stored page to
its exit (close, upload, marker, browser quit); and the CPU seconds **by process kind**.

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
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench.pss import cpu_by_kind, process_kind
from bench.results import publish
from bench.rivalscope_crawl import RivalscopeRun
from bench.workload import WorkloadServers, build_workload, describe
from rivalscope_core.keys import new_run_id

ROOT = Path(__file__).resolve().parents[1]
_ENV = {"PYTHONPATH": str(ROOT), "SE_OFFLINE": "true", "SE_AVOID_STATS": "true"}
GOAL = 0.90
KINDS = "CPU s by process kind (median of the trials):"


@dataclass
class Trial:
    """One crawl of the whole workload by one or more processes."""

    label: str
    processes: int
    pages: int = 0
    wall: float = 0.0
    exit_codes: list[int] = field(default_factory=list)
    startup_cpu: list[float] = field(default_factory=list)  # per process, launch to 1st request
    tail: list[float] = field(default_factory=list)  # per process, last page stored to exit
    cpu_by_kind: dict[str, float] = field(default_factory=dict)

    @property
    def pages_per_minute(self) -> float:
        return self.pages / self.wall * 60 if self.wall else 0.0


class TreeCpu:
    """CPU seconds of each crawl process tree over time, sampled from a thread (CPU times
    only: reading PSS would cost the crawl itself CPU on a shared 2-core machine)."""

    INTERVAL = 0.25

    def __init__(self, pids: list[int]) -> None:
        self._pids = pids
        self.timeline: dict[int, list[tuple[float, float]]] = {pid: [] for pid in pids}
        self._last: dict[tuple[int, float], float] = {}  # (pid, start) -> CPU s as last seen
        self._kinds: dict[tuple[int, float], str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-cpu", daemon=True)

    def start(self) -> TreeCpu:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        roots = {}
        for pid in self._pids:
            try:
                roots[pid] = psutil.Process(pid)
            except psutil.NoSuchProcess:
                continue
        # every process ever seen under each root: one that exits keeps its last CPU figure
        members: dict[int, set[tuple[int, float]]] = {pid: set() for pid in roots}
        while not self._stop.is_set():
            now = time.time()
            for pid, root in roots.items():
                try:
                    tree = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    continue
                for process in tree:
                    try:
                        key = (process.pid, process.create_time())
                        times = process.cpu_times()
                        self._last[key] = times.user + times.system
                        if key not in self._kinds:
                            self._kinds[key] = process_kind(process)
                    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                        continue
                    members[pid].add(key)
                self.timeline[pid].append((now, sum(self._last[k] for k in members[pid])))
            self._stop.wait(self.INTERVAL)

    def at(self, pid: int, when: float) -> float:
        """The tree's CPU seconds at the last sample at or before ``when``."""
        before = [cpu for at, cpu in self.timeline.get(pid, []) if at <= when]
        return before[-1] if before else 0.0

    def by_kind(self) -> dict[str, float]:
        return cpu_by_kind(self._last, self._kinds)


def _crawl(
    servers: WorkloadServers,
    work: Path,
    shards: int,
    browsers_each: int,
    run: str | None,
    tree: Path = ROOT,
) -> Trial:
    """Start ``shards`` crawl processes at once (one when ``run`` is None) from the source
    tree ``tree`` and wait for all."""
    work.mkdir(parents=True, exist_ok=True)
    urls_file = work / "urls.txt"
    urls_file.write_text("\n".join(url for url, _ in servers.urls()) + "\n")
    storage = RivalscopeRun(servers.netlocs, work)
    env = {**os.environ, **_ENV, "PYTHONPATH": str(tree), **storage.start()}
    processes: list[tuple[subprocess.Popen[bytes], Path]] = []
    exited: dict[int, float] = {}
    sampler: TreeCpu | None = None
    try:
        for index in range(shards):
            timing = work / f"timing-{index}.json"
            command = RivalscopeRun(
                servers.netlocs,
                work / f"shard{index}",
                (f"SELENIUM_POOL_SIZE={browsers_each}",),
                tree,
            ).command(urls_file, timing)
            if run is not None:
                command += ["-a", f"run={run}", "-a", f"shard={index}/{shards}"]
            log = (work / f"crawl-{index}.log").open("w")
            processes.append(
                (subprocess.Popen(command, cwd=tree, env=env, stdout=log, stderr=log), timing)
            )
            log.close()
        sampler = TreeCpu([process.pid for process, _ in processes]).start()
        deadline = time.monotonic() + 1800
        while len(exited) < len(processes) and time.monotonic() < deadline:
            for process, _ in processes:
                if process.pid not in exited and process.poll() is not None:
                    exited[process.pid] = time.time()
            time.sleep(0.05)
        codes = [process.wait(timeout=60) for process, _ in processes]
    finally:
        if sampler is not None:
            sampler.stop()
        for process, _ in processes:
            if process.poll() is None:
                process.kill()
        storage.stop()
    label = (
        f"{shards} shard processes × {browsers_each}" if run else f"1 process × {browsers_each}"
    )
    if tree != ROOT:
        label = f"before: {label}"
    trial = Trial(label, shards, exit_codes=codes, cpu_by_kind=sampler.by_kind())
    firsts, lasts = [], []
    for process, timing_file in processes:
        if not timing_file.exists():
            continue
        timing = json.loads(timing_file.read_text())
        done = [p for p in timing["pages"] if not p.get("error")]
        trial.pages += len(done)
        if timing.get("first_request"):
            firsts.append(timing["first_request"])
            trial.startup_cpu.append(sampler.at(process.pid, timing["first_request"]))
        lasts += [p["done_at"] for p in done]
        if done and process.pid in exited:
            trial.tail.append(exited[process.pid] - max(p["done_at"] for p in done))
    if firsts and lasts:
        trial.wall = max(lasts) - min(firsts)
    return trial


def _to_digest(servers: WorkloadServers, work: Path, shards: int, tree: Path = ROOT) -> str:
    """Seconds from launching ``rivalscope_local.run --shards N`` to its run-complete line."""
    work.mkdir(parents=True, exist_ok=True)
    urls = " ".join(url for url, _ in servers.urls())
    command = [sys.executable, "-m", "rivalscope_local.run", "--urls", urls]
    command += ["--shards", str(shards), "--allow-private", ",".join(servers.netlocs)]
    command += ["--data-dir", str(work / "data"), "--out", str(work / "out")]
    env = {**os.environ, **_ENV, "PYTHONPATH": str(tree), "ANALYZER": "extract"}
    env.pop("GEMINI_API_KEY", None)
    started = time.monotonic()
    reached: float | None = None
    with subprocess.Popen(
        command, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
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


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _row(count: int, trials: list[Trial], ratio: float) -> str:
    rate = statistics.median(t.pages_per_minute for t in trials)
    startup = _median([cpu for t in trials for cpu in t.startup_cpu])
    tail = _median([max(t.tail) for t in trials if t.tail])
    cpu = _median([sum(t.cpu_by_kind.values()) for t in trials])
    return (
        f"| {count} | {trials[0].label} | {rate:.1f} | {len(trials)} | "
        f"{trials[0].pages} | {ratio:.2f} | {startup:.2f} | {tail:.1f} | {cpu:.0f} |"
    )


def _kinds(trials: list[Trial]) -> str:
    """Median CPU seconds by process kind over the trials, largest first."""
    kinds = {kind for t in trials for kind in t.cpu_by_kind}
    medians = {kind: _median([t.cpu_by_kind.get(kind, 0.0) for t in trials]) for kind in kinds}
    ordered = sorted(medians.items(), key=lambda item: -item[1])
    return ", ".join(f"{kind} {seconds:.1f}" for kind, seconds in ordered if seconds >= 0.05)


def _measure(
    servers: WorkloadServers, work: Path, count: int, rounds: int, against: Path | None
) -> tuple[list[str], list[str], dict[str, float]]:
    """Table rows for one N, CPU-by-kind lines, and each tree's sharded ÷ single ratio
    (1.0 for N = 1)."""
    trees = [("after", ROOT)] + ([("before", against)] if against is not None else [])
    modes = [(name, tree, sharded) for name, tree in trees for sharded in (False, True)]
    if count == 1:
        modes = [mode for mode in modes if not mode[2]]  # one shard of one is the single process
    trials: dict[tuple[str, bool], list[Trial]] = {
        (name, sharded): [] for name, _, sharded in modes
    }
    for number in range(rounds):
        for name, tree, sharded in modes if number % 2 == 0 else modes[::-1]:
            mode = "sharded" if sharded else "single"
            where = work / f"n{count}-{name}-{mode}-{number}"
            if sharded:
                trial = _crawl(servers, where, count, 1, new_run_id(), tree)
            else:
                trial = _crawl(servers, where, 1, count, None, tree)
            trials[(name, sharded)].append(trial)
            print(
                f"N={count} {trial.label}: {trial.pages} pages, {trial.pages_per_minute:.1f}/min, "
                f"start-up CPU {trial.startup_cpu}, tail {[round(t, 1) for t in trial.tail]}, "
                f"load {os.getloadavg()[0]:.1f}",
                file=sys.stderr,
            )
    rows, kinds = [], []
    ratios: dict[str, float] = {}
    for name, _ in trees:
        single = statistics.median(t.pages_per_minute for t in trials[(name, False)])
        rows.append(_row(count, trials[(name, False)], 1.0))
        kinds.append(
            f"- N={count} {trials[(name, False)][0].label}: {_kinds(trials[(name, False)])}"
        )
        ratios[name] = 1.0
        split_trials = trials.get((name, True))
        if split_trials:
            split = statistics.median(t.pages_per_minute for t in split_trials)
            ratios[name] = split / single if single else 0.0
            rows.append(_row(count, split_trials, ratios[name]))
            kinds.append(f"- N={count} {split_trials[0].label}: {_kinds(split_trials)}")
    return rows, kinds, ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shards", description=__doc__)
    parser.add_argument("--pages", type=int, default=60, help="pages in the workload (60)")
    parser.add_argument("--shards", default="1,2,3", help="the N to measure (1,2,3)")
    parser.add_argument("--rounds", type=int, default=3, help="trials per N and mode (3)")
    parser.add_argument(
        "--against",
        type=Path,
        metavar="TREE",
        help="also run every trial from this source tree (the 'before'), interleaved",
    )
    parser.add_argument(
        "--no-digest", action="store_true", help="skip the launch-to-digest pipeline runs"
    )
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.shards.split(",") if n.strip()]
    if not counts or min(counts) < 1 or args.rounds < 1 or args.pages < 1:
        parser.error("--shards takes positive integers; --rounds and --pages at least 1")
    if args.against is not None and not (args.against / "crawler").is_dir():
        parser.error(f"--against {args.against}: no crawler/ there")
    workload = build_workload(args.pages)
    servers = WorkloadServers(workload).start()
    work = Path(tempfile.mkdtemp(prefix="bench-shards-"))
    header = "| N | mode | pages/min (median) | trials | pages | sharded ÷ one process "
    rows = [header + "| start-up CPU s per process | tail s | CPU s |"]
    rows.append("|---|---|---|---|---|---|---|---|---|")
    digests: list[str] = []
    kinds: list[str] = []
    loads = [os.getloadavg()[0]]
    ok = True
    try:
        for count in counts:
            measured, by_kind, ratios = _measure(servers, work, count, args.rounds, args.against)
            rows += measured
            kinds += by_kind
            ok = ok and ratios["after"] >= GOAL
            loads.append(os.getloadavg()[0])
            if args.no_digest:
                continue
            trees = [("", ROOT)] + ([("before: ", args.against)] if args.against else [])
            for name, tree in trees:
                took = _to_digest(
                    servers, work / f"n{count}-{name[:-2] or 'after'}-run", count, tree
                )
                digests.append(
                    f"- {name}N={count}: launch to the run-complete step (digest): {took}"
                )
    finally:
        servers.stop()
    command = "python -m bench.shards " + " ".join(argv if argv is not None else sys.argv[1:])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    setting = (
        f"Workload: {describe(workload)}. {os.cpu_count()} cores; load (1 min) at the start and "
        f"after each N: {', '.join(f'{load:.1f}' for load in loads)}. Goal: sharded ≥ {GOAL:.0%} "
        f"of one process with the same browsers. Start-up CPU: a process tree's CPU seconds from "
        f"launch to its first request (median over processes); tail: last page stored to exit "
        f"(the slowest process, median over trials); CPU s: all trees of a trial (median). "
        f"Artefacts: {work}"
    )
    report = "\n".join(
        [f"### {stamp}: `{command.strip()}`", "", setting, "", *rows, "", KINDS, "", *kinds, "",
         *digests]
    )  # fmt: skip
    publish(report, append=args.record)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
