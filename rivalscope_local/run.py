"""``make run``: the whole pipeline on one machine, in the AWS topology.

``python -m rivalscope_local.run [--watchlist FILE] [--urls "u1 u2"] [--prompt FILE] [--shards N]
[--data-dir data] [--out out]``

1. start the embedded S3/SQS endpoint and restore ``data/`` into it (no event raised);
2. wire bucket → queue (raw chunks only) and start the worker that hands SQS batches to the
   Lambda handler in-process, honouring partial-batch failures;
3. crawl the watch list and/or the URLs — by default ``demo/watchlist.yaml``, the bundled demo
   sites on loopback — with ``scrapy crawl competitors`` in a subprocess (``--shards N``: N of
   them side by side, one run, split by site), printing progress; each ends by writing its
   shard marker;
4. wait until the queue is drained, then run the run-complete step (as a marker's event does in
   AWS: the run's report and ``run.json`` under ``reports/``), write the report into
   ``out/<run time>/`` and, when ``NOTIFY_URLS`` is set, send the run's notification with the
   report's ``file://`` link (``rivalscope_local/notify.py``);
5. on exit, Ctrl-C included: stop the crawl, sync to ``data/``, stop everything started.

Exit codes: 0 success; 1 the job ran but some pages failed (crawl or analysis), or nothing was
stored; 2 bad usage or configuration; 130 interrupted."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from analyzer_lambda.deps import current_deps
from analyzer_lambda.exceptions import ConfigurationError
from analyzer_lambda.handler import lambda_handler
from analyzer_lambda.prompts.parser import PromptError, parse_prompt
from rivalscope_core.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from rivalscope_core.keys import ANALYSIS_PREFIX, CHUNK_SUFFIX, RAW_PREFIX, RunRef, new_run_id
from rivalscope_core.urls import BadUrlError, parse_url_list
from rivalscope_core.watchlist import WatchListError
from rivalscope_local.crawl import ROOT, CrawlProcess, crawl_command
from rivalscope_local.demo import DEMO_WATCHLIST, DemoSites
from rivalscope_local.demo_change import DemoChangeError, load_changes
from rivalscope_local.notify import hold_settings, notify
from rivalscope_local.run_complete import complete_run
from rivalscope_local.stack import DEFAULT_BUCKET, LocalStack, choose_analyzer
from rivalscope_local.summary import reuse_summary
from rivalscope_local.watchlist import load_watchlist, localize, uses_demo

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_s3 import S3Client

    from rivalscope_local.worker import QueueWorker

SPIDER = "competitors"
MAX_LOCAL_SHARDS = 8  # each shard has its own browsers: more would not fit one machine
DEFAULT_PROMPT = ROOT / "analyzer_lambda" / "prompts" / "default_prompt.md"
DEMO_ADDRESSES = "demo-sites.json"  # under --data-dir: the demo sites' addresses, kept stable


def say(message: str) -> None:
    print(f"rivalscope: {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--watchlist", type=Path, default=None,
                        help="YAML watch list (default: demo/watchlist.yaml)")  # fmt: skip
    parser.add_argument("--urls", default="", help="sites to crawl (default: the demo sites)")
    parser.add_argument("--prompt", type=Path, default=None, help="prompt file (Markdown)")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--bucket", default=DEFAULT_BUCKET)
    parser.add_argument("--max-pages", type=int, default=None,
                        help="pages per site (default 1; a watch list sets its own)")  # fmt: skip
    parser.add_argument("--allow-private", default="",
                        help="ALLOW_PRIVATE_ADDRESSES for own loopback/LAN sites")  # fmt: skip
    parser.add_argument("--chunk-size", type=int, default=5, help="pages per raw chunk")
    parser.add_argument("--shards", type=int, default=1,
                        help="crawl processes of one run, side by side")  # fmt: skip
    parser.add_argument("--demo-change", default="",
                        help="1: serve the demo sites with demo/changes.yaml's edits "
                             "(or NAME,NAME: some of them)")  # fmt: skip
    parser.add_argument("--analysis-timeout", type=float, default=1800.0,
                        help="seconds to wait for the analyser after the crawl")  # fmt: skip
    args = parser.parse_args(argv)
    if not 1 <= args.shards <= MAX_LOCAL_SHARDS:
        parser.error(f"--shards must be between 1 and {MAX_LOCAL_SHARDS}")
    return args


def _interrupt(signum: int, frame: Any) -> NoReturn:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    prompt_path = (args.prompt or DEFAULT_PROMPT).resolve()
    try:
        # checked now, so a bad prompt file stops the run before anything starts
        parse_prompt(prompt_path.read_text("utf-8"), source=str(prompt_path),
                     fallback_name=prompt_path.stem)  # fmt: skip
        urls = parse_url_list(args.urls) if args.urls.strip() else []
        watch_path = args.watchlist or (None if urls else DEMO_WATCHLIST)
        watchlist = load_watchlist(watch_path) if watch_path is not None else None
        demo_changes = load_changes(args.demo_change)
        # sent at the end, with the local report's link (rivalscope_local/notify.py)
        notify_config, notify_urls = hold_settings(os.environ)
    except (OSError, PromptError, BadUrlError, WatchListError, DemoChangeError,
            ConfigurationError) as exc:  # fmt: skip
        print(f"rivalscope: {exc}", file=sys.stderr)
        return EXIT_USAGE
    signal.signal(signal.SIGTERM, _interrupt)
    if notice := choose_analyzer(os.environ):
        say(notice)
    started = time.monotonic()
    stamp = time.strftime("%Y%m%dT%H%M%S")
    demo: DemoSites | None = None
    stack = LocalStack(args.data_dir, args.bucket)
    crawls: list[CrawlProcess] = []
    progress: _Progress | None = None
    interrupted = False
    try:
        stack.start()
        say(f"local S3/SQS endpoint at {stack.endpoint.url}; data in {args.data_dir}/ "
            f"({stack.restored} objects restored)")  # fmt: skip
        _handler_logs_to(args.data_dir / "logs" / f"analyzer-{stamp}.log")
        current_deps()  # a configuration error stops the run now, not after the crawl
        worker = stack.start_analyzer(lambda_handler)
        allow = args.allow_private
        watch_file = None
        if watchlist is not None:
            if uses_demo(watchlist):
                demo = DemoSites(remember=args.data_dir / DEMO_ADDRESSES,
                                 changes=demo_changes).start()  # fmt: skip
                watchlist = localize(watchlist, demo)
                allow = ",".join(a for a in (allow, demo.allow_private) if a)
                for change in demo_changes:
                    say(f"demo change {change.name}: {change.what}")
            names = ", ".join(c.name for c in watchlist.competitors)
            say(f"watch list {watch_path}: {names or 'URLs without competitor'}")
            urls += [url for url in watchlist.unnamed_urls if url not in urls]
            if watchlist.competitors:  # the crawl's copy, with the demo sites' addresses
                watch_file = args.data_dir / "logs" / f"watchlist-{stamp}.yaml"
                watch_file.parent.mkdir(parents=True, exist_ok=True)
                watch_file.write_text(watchlist.to_yaml(), encoding="utf-8")
        if demo is None and demo_changes:
            say("DEMO_CHANGE edits the bundled demo sites only; this run crawls none of them")
        max_pages = args.max_pages or 1
        s3 = stack.endpoint.s3()
        run_id = new_run_id()  # passed to every shard, as the state machine does in AWS
        count = args.shards
        for index in range(count):
            label = f"crawl {index}/{count}" if count > 1 else "crawl"
            crawls.append(
                CrawlProcess(
                    crawl_command(
                        urls,
                        prompt=str(prompt_path),
                        max_pages=max_pages,
                        allow_private=allow,
                        chunk_size=args.chunk_size,
                        run=run_id,
                        shard=(index, count),
                        watchlist=watch_file.resolve() if watch_file is not None else None,
                    ),
                    stack.env,
                    args.data_dir
                    / "logs"
                    / f"crawl-{stamp}{f'-shard{index}' if count > 1 else ''}.log",
                    on_line=_printer(label),
                )
            )
        progress = _Progress(s3, args.bucket, run_id, worker, crawls, started)
        while any(crawl.poll() is None for crawl in crawls):
            progress.tick()
            time.sleep(0.5)
        crawl_code = max(crawl.wait() for crawl in crawls)
        crawls = []
        run = progress.find_run()
        if crawl_code == EXIT_USAGE:
            say("the crawl rejected its arguments or settings (see above)")
            return EXIT_USAGE
        if run is None:
            say(f"the crawl stored no page (exit {crawl_code}); log in {args.data_dir}/logs/")
            return EXIT_FAILED
        say(f"crawl finished (exit {crawl_code}); run {run.uri}")
        if not worker.wait_drained(args.analysis_timeout, on_tick=progress.tick):
            say(f"the analyser did not finish within {args.analysis_timeout:.0f} s")
        progress.tick(force=True)
        say(reuse_summary(s3, run))
        lines, folder = complete_run(lambda_handler, run, count, progress=say)
        for line in lines:
            say(line)
        stack.sync()
        report_code, report_dir = _report(run, args.out, stack.env)
        notify_code = EXIT_OK
        if folder is not None and report_code in (EXIT_OK, EXIT_FAILED):
            lines, notify_code = notify(s3, run, folder, report_dir, notify_config, notify_urls)
            for line in lines:
                say(line)
        elif notify_urls:
            say("no notification: the run is not complete (see above)")
        stack.sync()
        failed = worker.stats.failed + worker.dead_letters()
        if failed:
            say(f"{worker.dead_letters()} chunk event(s) failed for good (dead-letter queue); "
                f"`make reanalyze RUN={run.uri}` retries their pages")  # fmt: skip
        _print_digest(report_dir)
        if report_code == EXIT_OK:
            say(f"report: {(report_dir / 'report.html').resolve()}")
        say(f"done in {time.monotonic() - started:.0f} s; next: make reanalyze RUN={run.uri} "
            "PROMPT=your-prompt.md")  # fmt: skip
        if demo is not None and not demo_changes:
            say("to see a change report: make run DEMO_CHANGE=1 (the demo sites, edited)")
        dead = EXIT_FAILED if worker.dead_letters() else EXIT_OK
        return max(crawl_code, report_code, notify_code, dead)
    except (ConfigurationError, WatchListError) as exc:
        say(f"configuration: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        interrupted = True
        say("interrupted: stopping the crawl and the analyser, saving data/ …")
        try:
            found = progress.find_run() if progress is not None else None
        except (BotoCoreError, ClientError):  # the endpoint may be going down too
            found = None
        if found is not None:  # queued events die with the endpoint: the archive keeps the pages
            say(f"pages stored but not analysed: make reanalyze RUN={found.uri} "
                f"PROMPT={prompt_path}")  # fmt: skip
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the sync
        for crawl in crawls:
            crawl.stop(grace=20.0)  # the crawl's own grace is 10 s
        if demo is not None:
            demo.stop()
        stack.stop(worker_timeout=10.0 if interrupted else 60.0)
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _handler_logs_to(path: Path) -> None:
    """The handler's JSON logs go to ``path``; the console keeps its warnings and errors."""
    path.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setLevel(logging.INFO)
    for name in ("rivalscope-analyzer", "analyzer_lambda"):
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
                to_file.setFormatter(handler.formatter)
                handler.setLevel(logging.WARNING)
        logger.addHandler(to_file)


def _print_digest(report_dir: Path) -> None:
    """The run's digest on screen, as the notification will carry it (issue #13)."""
    digest = report_dir / "digest.md"
    if digest.is_file():
        say(f"digest ({digest.resolve()}):")
        print("\n" + digest.read_text("utf-8").rstrip() + "\n", flush=True)


def _printer(label: str) -> Callable[[str], None]:
    def show(line: str) -> None:
        print(f"  {label} | {line}", flush=True)

    return show


def _runs(s3: S3Client, bucket: str) -> set[str]:
    prefix = f"{RAW_PREFIX}{SPIDER}/"
    found: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, Delimiter="/"
    ):
        found.update(
            p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", [])
        )
    return found


def _count(s3: S3Client, bucket: str, prefix: str, suffix: str) -> int:
    total = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        total += sum(1 for obj in page.get("Contents", []) if obj["Key"].endswith(suffix))
    return total


class _Progress:
    """One console line whenever the crawl or the analysis moved, at most every 2 s."""

    def __init__(self, s3: S3Client, bucket: str, run_id: str,
                 worker: QueueWorker, crawls: list[CrawlProcess],
                 started: float) -> None:  # fmt: skip
        self._s3, self._bucket, self._run_id = s3, bucket, run_id
        self._worker, self._crawls, self._started = worker, crawls, started
        self._run: RunRef | None = None
        self._last = ""
        self._last_at = 0.0

    def find_run(self) -> RunRef | None:
        if self._run is None and self._run_id in _runs(self._s3, self._bucket):
            self._run = RunRef(self._bucket, SPIDER, self._run_id)
        return self._run

    def tick(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if now - self._last_at < 2.0 and not force:
            return
        self._last_at = now
        run = self.find_run()
        chunks = _count(self._s3, self._bucket, run.raw_prefix, CHUNK_SUFFIX) if run else 0
        # every prompt's results: a watch list may give some competitors a prompt of their own
        prefix = f"{ANALYSIS_PREFIX}{run.spider}/{run.time}/" if run else ""
        analysed = _count(self._s3, self._bucket, prefix, ".json") if run else 0
        crawled = [crawl.progress for crawl in self._crawls]
        if any(p.stored is None for p in crawled):
            pages, items = sum(p.pages for p in crawled), sum(p.items for p in crawled)
            crawl = f"crawl: {pages} pages fetched, {items} stored"
        else:
            crawl = f"crawl: done, {sum(p.stored or 0 for p in crawled)} pages stored"
        line = f"{crawl} in {chunks} chunk(s) | analysis: {analysed} page(s) analysed"
        if line != self._last or force:
            print(f"[{now - self._started:5.0f}s] {line}", flush=True)
            self._last = line


def _report(run: RunRef, out: Path, env: dict[str, str]) -> tuple[int, Path]:
    """The report of every page with the prompt it was analysed with: the run's, or its
    competitor's from the watch list (no ``--prompt``)."""
    report_dir = out / run.time
    say(f"writing the report into {report_dir}/")
    command = [sys.executable, "-m", "analyzer_lambda.report", run.uri,
               "--out", str(report_dir)]  # fmt: skip
    code = subprocess.run(command, env=env, cwd=Path.cwd(), check=False).returncode
    return code, report_dir


if __name__ == "__main__":
    sys.exit(main())
