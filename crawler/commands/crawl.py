"""``scrapy crawl`` with the exit codes of SPEC.md.

Scrapy's own ``crawl`` exits 1 only when the crawler fails to start. This override

- checks the spider's arguments first (``validate_arguments``, when the spider has it) and
  every component's settings (``check_settings``): bad input exits 2 with a message naming
  what to fix, before any browser starts;
- after the crawl, exits 0 when every page was stored without error, 1 when some page failed
  (an error record), a chunk had to be spilled locally, or the crawl was interrupted, and 1
  too when no page at all was stored.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError  # Scrapy's: its command line turns it into exit 2

from crawler.browser.config import SeleniumConfig
from crawler.netguard.config import NetguardConfig
from crawler.pipelines import STAT_PREFIX, UploadConfig
from crawler.politeness.crawl_delay import CrawlDelayConfig
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
        validate = getattr(spidercls, "validate_arguments", None)
        assert self.settings is not None
        if validate is not None:
            try:
                validate(dict(opts.spargs), self.settings)
            except ValueError as exc:
                raise UsageError(str(exc), print_help=False) from exc
        try:
            check_settings(self.settings)
        except ValueError as exc:
            raise UsageError(str(exc), print_help=False) from exc

        crawler = self._create_crawler(spidercls)
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = EXIT_FAILED
            return
        self.exitcode, summary = crawl_exit_code(crawler.stats.get_stats())
        print(f"rivalscope: {summary}; exit code {self.exitcode}", file=sys.stderr)
