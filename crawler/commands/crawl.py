"""``scrapy crawl`` with the exit codes of SPEC.md.

Scrapy's own ``crawl`` exits 1 only when the crawler fails to start. This override

- checks the spider's arguments first (``validate_arguments``, when the spider has it) and
  every component's settings (``check_settings``): bad input exits 2 with a message naming
  what to fix, before any browser starts (a shard of a run still writes its marker, with exit
  code 2, so that its run-complete step reports it instead of waiting for it);
- writes the task's shard marker when the crawl has ended (``crawler/marker.py``), its CPU and
  memory measured over the whole process tree while it ran (``crawler/resources.py``);
- after the crawl, exits 0 when every page was stored without error, 1 when some page failed
  (an error record), a chunk had to be spilled locally, or the crawl was interrupted, and 1
  too when no page at all was stored;
- freezes the garbage collector's view of the process (``gc.freeze``) once the modules are
  imported and again when it is over. What is imported at start-up lives as long as the
  process, so the collector's full passes during the crawl need not walk them; and the
  interpreter's final collection at exit walked every object of the process for nothing:
  1.1–1.3 CPU s, 1.3–3.3 s wall on a loaded 2-core machine, paid once per shard process
  (bench/RESULTS.md, issue #13). Nothing is lost by it: files, sockets and browsers are
  closed by then, logging is flushed by its own exit hook, and the OS frees the memory.
"""

from __future__ import annotations

import gc
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError  # Scrapy's: its command line turns it into exit 2

from crawler.browser.config import SeleniumConfig
from crawler.crash_retry import STATS_BASE as CRASH_RETRY_STATS
from crawler.crash_retry import CrashRetryConfig
from crawler.marker import MarkerConfig, build_marker, build_usage_marker, write_marker
from crawler.netguard.config import NetguardConfig
from crawler.pipelines import STAT_PREFIX, UploadConfig
from crawler.politeness.crawl_delay import CrawlDelayConfig
from crawler.resources import ProcessTreeSampler
from crawler.spiders.competitors import START_URLS_STAT
from crawler.stop import StopConfig
from rivalscope_core.exit_codes import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

    from scrapy.settings import BaseSettings


def check_settings(settings: BaseSettings) -> None:
    """Build every component's validated config once, up front, so a bad setting is a usage
    error (exit 2) naming the setting rather than a traceback from inside the crawl."""
    for config in (
        SeleniumConfig,
        NetguardConfig,
        UploadConfig,
        CrawlDelayConfig,
        StopConfig,
        MarkerConfig,
        CrashRetryConfig,
    ):
        config.from_settings(settings)


def crawl_exit_code(stats: Mapping[str, Any]) -> tuple[int, str]:
    """The exit code of a finished crawl from its stats, and a one-line summary."""
    stored = int(stats.get(f"{STAT_PREFIX}/items_stored", 0))
    spilled = int(stats.get(f"{STAT_PREFIX}/items_spilled", 0))
    scraped = int(stats.get("item_scraped_count", 0))
    failed = int(stats.get("rivalscope/pages/failed", 0))
    reason = str(stats.get("finish_reason", "unknown"))
    summary = (
        f"{stored} page record(s) stored ({failed} with an error), "
        f"{spilled} spilled locally, finish reason {reason!r}"
    )
    retried = int(stats.get(f"{CRASH_RETRY_STATS}/count", 0))
    if retried:
        summary += f"; {retried} retry(ies) of a page in a fresh browser after a crash"
    if stored == 0 and stats.get(START_URLS_STAT) == 0 and reason == "finished":
        # a shard whose share of the list is empty has nothing to do: that is no failure
        return EXIT_OK, "no URL of the list falls in this shard; nothing to crawl"
    if stored == 0:
        return EXIT_FAILED, f"no page stored: {summary}"
    if failed or spilled or stored < scraped or reason != "finished":
        return EXIT_FAILED, summary
    return EXIT_OK, summary


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            super().run(args, opts)  # raises Scrapy's usage error
            return
        assert self.crawler_process is not None
        try:
            spidercls = self.crawler_process.spider_loader.load(args[0])
        except KeyError as exc:
            raise UsageError(f"unknown spider {args[0]!r}", print_help=False) from exc
        assert self.settings is not None
        started_at = _now()
        try:
            validate = getattr(spidercls, "validate_arguments", None)
            if validate is not None:
                validate(dict(opts.spargs), self.settings)
            check_settings(self.settings)
        except ValueError as exc:
            self._mark_usage_error(spidercls.name, opts.spargs, str(exc), started_at)
            raise UsageError(str(exc), print_help=False) from exc

        marker_config = MarkerConfig.from_settings(self.settings)
        crawler = self._create_crawler(spidercls)
        sampler = ProcessTreeSampler(marker_config.sample_interval).start()
        self.crawler_process.crawl(crawler, **opts.spargs)
        gc.freeze()  # start-up's objects live as long as the process (module docstring)
        self.crawler_process.start()
        usage = sampler.stop()  # the browsers have quit: the tree's totals are complete
        if self.crawler_process.bootstrap_failed:
            self.exitcode = EXIT_FAILED
            return
        self.exitcode, summary = crawl_exit_code(crawler.stats.get_stats())
        built = None
        if marker_config.enabled:
            built = build_marker(
                crawler,
                exit_code=self.exitcode,
                started_at=started_at,
                ended_at=_now(),
                usage=usage,
            )
        if built is not None and not write_marker(*built):
            self.exitcode = EXIT_FAILED  # without its marker the run cannot complete
            summary += "; the shard marker could not be written"
        print(f"rivalscope: {summary}; exit code {self.exitcode}", file=sys.stderr)
        gc.freeze()  # the process ends now: no final collection over all of it

    def _mark_usage_error(
        self, spider: str, spargs: Mapping[str, Any], message: str, started_at: str
    ) -> None:
        """A shard of a run refused before its crawl still ends with its marker (exit 2)."""
        assert self.settings is not None
        if not self.settings.getbool("RIVALSCOPE_RUN_MARKER"):
            return
        built = build_usage_marker(self.settings, spider, spargs, message=message,
                                   started_at=started_at, ended_at=_now())  # fmt: skip
        if built is not None:
            write_marker(*built)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
