"""``make serve``'s launcher: a run accepted by the front door is crawled and analysed on the
local stack in the background, as the state machine does it in AWS.

The same pieces as ``make run``: the crawl subprocess (``crawl.py``) reads its URL list from the
bucket (``-a watchlist=s3://...``, as a Fargate shard does), the stack's queue worker analyses
each chunk, and at the end the run-complete step (``run_complete.py``) writes the report and
``run.json``. Runs wait for one another (``MAX_PARALLEL_CRAWLS``): each crawl has its own
browsers. What a run's thread knows (running, failed and why) is kept in memory; a run left
unfinished by an earlier ``make serve`` is reported failed, with the command that analyses
what it stored."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from analyzer_lambda.frontdoor.status import LaunchState
from rivalscope_core.exit_codes import EXIT_USAGE
from rivalscope_core.keys import RunRef
from rivalscope_local.crawl import CrawlProcess, crawl_command
from rivalscope_local.run_complete import complete_run

if TYPE_CHECKING:
    from pathlib import Path

    from analyzer_lambda.frontdoor.launch import Launch
    from rivalscope_local.stack import LocalStack
    from rivalscope_local.worker import Handler, QueueWorker

logger = logging.getLogger(__name__)

MAX_PARALLEL_CRAWLS = 1  # each crawl starts its own browsers; two small machines' worth
SPIDER = "competitors"


class LocalLauncher:
    def __init__(
        self,
        stack: LocalStack,
        worker: QueueWorker,
        handler: Handler,
        *,
        allow_private: str,
        logs: Path,
        analysis_timeout: float = 1800.0,
    ) -> None:
        self._stack, self._worker, self._handler = stack, worker, handler
        self._allow = allow_private
        self._logs = logs
        self._timeout = analysis_timeout
        self._states: dict[str, LaunchState] = {}
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(MAX_PARALLEL_CRAWLS)
        self._crawls: dict[str, CrawlProcess] = {}
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    def start(self, launch: Launch) -> dict[str, Any]:
        self._set(launch.run, LaunchState("running"))
        thread = threading.Thread(target=self._run, args=(launch,), name=f"run-{launch.run}")
        self._threads.append(thread)
        thread.start()
        return {"launcher": "local"}

    def state(self, run: str, record: dict[str, Any]) -> LaunchState:
        with self._lock:
            known = self._states.get(run)
        if known is not None:
            return known
        if record.get("launch_error"):
            return LaunchState("failed", str(record["launch_error"]))
        return LaunchState(
            "failed",
            "an earlier make serve stopped before this run finished; `make reanalyze "
            f"RUN=s3://{self._stack.bucket}/raw/{SPIDER}/{run}/` analyses what it stored",
        )

    def stop(self) -> None:
        """Stop every crawl (gracefully: what was fetched is stored) and wait for the runs."""
        self._stopping.set()
        with self._lock:
            crawls = list(self._crawls.values())
        for crawl in crawls:
            crawl.stop(grace=20.0)
        for thread in self._threads:
            thread.join(30)

    def _set(self, run: str, state: LaunchState) -> None:
        with self._lock:
            self._states[run] = state

    def _run(self, launch: Launch) -> None:
        try:
            with self._slots:
                if self._stopping.is_set():
                    self._set(launch.run, LaunchState("failed", "make serve stopped first"))
                    return
                self._set(launch.run, self._crawl_and_complete(launch))
        except Exception as exc:  # a thread's failure must reach the run's status
            logger.exception("run %s failed", launch.run)
            self._set(launch.run, LaunchState("failed", f"{type(exc).__name__}: {exc}"))

    def _crawl_and_complete(self, launch: Launch) -> LaunchState:
        command = [
            *crawl_command(
                list(launch.urls),
                prompt=launch.prompt,
                max_pages=launch.max_pages,
                allow_private=self._allow,
                run=launch.run,
            ),
            "-a",
            f"watchlist=s3://{launch.bucket}/{launch.list_key}",
        ]
        log = self._logs / f"serve-crawl-{launch.run}.log"
        # created on this thread, which lives as long as the crawl: the crawl's parent-death
        # signal is tied to the thread that forked it (crawl.py)
        crawl = CrawlProcess(command, self._stack.env, log)
        with self._lock:
            self._crawls[launch.run] = crawl
        try:
            code = crawl.wait()
        finally:
            with self._lock:
                self._crawls.pop(launch.run, None)
        if code == EXIT_USAGE:
            shown = "; ".join(crawl.progress.lines[-3:]) or f"see {log}"
            return LaunchState("failed", f"the crawl refused its arguments: {shown}")
        if self._stopping.is_set():
            return LaunchState("failed", "make serve stopped during the crawl")
        if not self._worker.wait_drained(self._timeout):
            return LaunchState("failed", f"the analysis did not finish in {self._timeout:.0f} s")
        # as a marker's event does in AWS: the report, run.json and (with NOTIFY_URLS) the
        # run's notification, its report link presigned on the local endpoint
        lines, _ = complete_run(self._handler, RunRef(launch.bucket, SPIDER, launch.run), 1)
        self._stack.sync()
        if any(line.startswith("run not complete") for line in lines):
            return LaunchState("failed", "; ".join(lines))
        return LaunchState("succeeded")
