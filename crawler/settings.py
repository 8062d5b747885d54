"""Every setting of the crawler, declared once with its default (Scrapy's habit).

This is the only crawler module that takes configuration from ``os.environ``: ``PAGES_BUCKET``
becomes the default ``S3PIPELINE_URL``, ``CHANGE_RULES`` the setting of that name, and the proxy
variables curl and pip read become ``RIVALSCOPE_PROXY_ENVIRONMENT``. (``browser/session.py``
only hands the process's environment on to chromedriver, with Selenium Manager's offline
switches as a safety net.)
``AWS_ENDPOINT_URL(_S3)`` is left to botocore, which reads it itself.
Components read these values in ``from_crawler`` into frozen, validated config objects.
"""

from __future__ import annotations

import os

BOT_NAME = "rivalscope"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# --- Politeness (SPEC.md: polite by default) -------------------------------------------------
RIVALSCOPE_CONTACT_URL = "https://github.com/rivalscope/rivalscope"
USER_AGENT = f"rivalscope/0.1 (+{RIVALSCOPE_CONTACT_URL})"
ROBOTSTXT_OBEY = True
DOWNLOAD_DELAY = 1.0
# ±50% around DOWNLOAD_DELAY (RANDOMIZE_DOWNLOAD_DELAY is deprecated in Scrapy 2.19 and warns).
DOWNLOAD_DELAY_JITTER = 0.5
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60
RETRY_TIMES = 2
# robots.txt Crawl-delay is applied per site when longer than DOWNLOAD_DELAY (scrapy#892).
ROBOTSTXT_CRAWL_DELAY_MAX = 60.0

# --- Rendering through Selenium, behind the downloader slot ----------------------------------
DOWNLOAD_HANDLERS = {
    "http": "crawler.handlers.selenium.SeleniumDownloadHandler",
    "https": "crawler.handlers.selenium.SeleniumDownloadHandler",
}
# Debian's chrome-headless-shell: the same Blink as /usr/bin/chromium (which works too) without a
# desktop browser's window and UI compositor. On the crawl benchmark (`python -m bench.crawl
# --only rivalscope`, 60 pages, bench/RESULTS.md) it rendered 111-117 pages/min against 88-97, at
# 647-680 MB peak PSS against 933-952 MB.
SELENIUM_BROWSER_PATH = "/usr/lib/chromium/chromium-headless-shell"
SELENIUM_DRIVER_PATH = "/usr/bin/chromedriver"
SELENIUM_POOL_SIZE = 2
SELENIUM_PAGE_LOAD_TIMEOUT = 30.0
SELENIUM_SETTLE_TIMEOUT = 3.0
SELENIUM_WINDOW_WIDTH = 1280
SELENIUM_WINDOW_HEIGHT = 900
# jpeg straight from Chrome: the most pages/min, legible text; webp is 21-29% smaller but
# renders 1.5-2.5x fewer pages/min (72.5 vs 48.8 pages/min on a 7,980 px text page, 80.5 vs
# 32.1 on an image page: `python -m tests.integration.crawler.browser.screenshot_bench
# --repeat 3`, bench/RESULTS.md "Screenshot format"). "auto" stores text pages as palette PNGs in
# 0.3-0.6x the bytes of Chrome's default PNG (JPEG: 1.3x) and photo pages as JPEG, re-encoded off
# the browsers' threads by a nice-19 SCHED_IDLE process; pages/min holds (1.01x), but on a busy
# machine half the text pages fall back to JPEG, and it costs ~0.1 CPU s a page and ~100 MB of
# peak: opt-in (bench/RESULTS.md "Render cost (issue #16)", "Re-encoding off the crawler's
# process").
SELENIUM_SCREENSHOT_FORMAT = "jpeg"
SELENIUM_SCREENSHOT_QUALITY = 80
SELENIUM_MAX_SCREENSHOT_HEIGHT = 30000
# A full-page capture at least this many px tall waits for another browser's (issue #16: each
# adds its transient, ~15 MB per 1,000 px, to the peak); shorter ones never wait. 0: no turns.
# Opt-in: 4000 cut the crawl benchmark's peak PSS 0.84x for 0.82x pages/min, 6000 kept the
# pages/min (1.03x) but not the memory (0.99x) (bench/RESULTS.md "Turns for tall captures").
SELENIUM_TALL_CAPTURE_HEIGHT = 0
# Full-page captures run at once only while their heights add up to at most this many px (a
# capture alone always runs): two medium pages capture together, two tall ones take turns.
# 10000 cut the crawl benchmark's peak PSS 0.87x (median of 6 rounds 584 vs 671 MB, lower in
# every round) at 1.00x pages/min (bench/RESULTS.md "A height budget for captures"). A
# SELENIUM_TALL_CAPTURE_HEIGHT above 0 replaces it. 0: off.
SELENIUM_CAPTURE_HEIGHT_BUDGET = 10000
SELENIUM_RECYCLE_AFTER = 200
SELENIUM_HIDE_CONSENT = True
# Scroll through a page before the snapshot so lazy content loads: True (every page), False, or
# "auto": only pages where something could load on scroll (scroll listeners, observed elements
# below the first screen, pending loading=lazy images, content-visibility:auto, lazy-loader
# markup; crawler/browser/lazy.py). Measured in bench/RESULTS.md "Render cost (issue #16)",
# "The scroll-through": 0.97-0.98x the CPU a page, 180/180 complete shots, every lazy image.
SELENIUM_SCROLL_LAZY: bool | str = "auto"
# Seconds each scroll position is held beyond one frame. 0 serves native lazy loading,
# IntersectionObservers and plain scroll listeners; loaders that throttle or debounce their
# scroll handler (every 100-250 ms, say) need about that long, at that cost per screen of page.
SELENIUM_SCROLL_PAUSE = 0.0
SELENIUM_RENDER_BY_DEFAULT = True
# Times a page whose browser crashed, stopped answering or could not start is tried again in a
# fresh browser, through the scheduler and its site's slot (crawler/crash_retry.py); a page
# timeout is not retried. 0: record it failed at once.
SELENIUM_CRASH_RETRIES = 2

# --- Private-address guard (SPEC.md ALLOW_PRIVATE_ADDRESSES) ---------------------------------
# host, host:port or CIDR entries exempted from the guard; empty means none.
ALLOW_PRIVATE_ADDRESSES: list[str] = []
# The proxy public sites must be reached through, as http://[user:password@]host:port. None:
# https_proxy or http_proxy from the environment (no_proxy honoured); "": none, connect directly.
RIVALSCOPE_OUTBOUND_PROXY: str | None = None
# The environment's proxy variables, read here once: https_proxy/http_proxy (either case, in
# curl's order of preference) when RIVALSCOPE_OUTBOUND_PROXY is None, and no_proxy always.
RIVALSCOPE_PROXY_ENVIRONMENT = {
    name: os.environ[name]
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY")
    if os.environ.get(name)
}
DOWNLOADER_MIDDLEWARES = {
    # before RobotsTxtMiddleware (100): a refused host is not even asked for robots.txt
    "crawler.netguard.middleware.NetguardMiddleware": 50,
    # Scrapy's robots.txt middleware lets concurrent requests of one site skip robots.txt
    # (crawler/politeness/robots.py says how); ours gives every waiter the parser.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.politeness.robots.ConcurrentSafeRobotsTxtMiddleware": 100,
    # Beside Scrapy's RetryMiddleware (550): a browser_crash goes back through the scheduler.
    "crawler.crash_retry.CrashRetryMiddleware": 560,
    # After robots.txt (which may hold a request back): refuses everything once stopping.
    "crawler.stop.GracefulStop": 960,
}
# Connected after AutoThrottle (0), so a slot's Crawl-delay survives its adjustments.
EXTENSIONS = {"crawler.politeness.crawl_delay.CrawlDelay": 100}

# --- Storage ----------------------------------------------------------------------------------
ITEM_PIPELINES = {"crawler.pipelines.ReliableS3Pipeline": 100}
# The chunks' JSON lines (".jl"), and Scrapy's own feeds of them: Scrapy's exporter with orjson's
# encoding, the same records in ~2% of the CPU (crawler/exporters.py).
FEED_EXPORTERS = {
    "jl": "crawler.exporters.OrjsonLinesItemExporter",
    "jsonlines": "crawler.exporters.OrjsonLinesItemExporter",
}
S3PIPELINE_URL = (
    f"s3://{os.environ.get('PAGES_BUCKET', 'rivalscope-pages')}"
    "/raw/{name}/{time}/items.{chunk:07d}.jl.gz"
)
S3PIPELINE_MAX_CHUNK_SIZE = 20
S3PIPELINE_MAX_WAIT_UPLOAD_TIME = 30.0
S3PIPELINE_UPLOAD_RETRIES = 5
# Seconds before the first retry of a failed upload; doubled at each further retry.
S3PIPELINE_RETRY_BACKOFF = 1.0
S3PIPELINE_SPILL_DIR = "spill"

# --- Change tracking (SPEC.md "Changes") ------------------------------------------------------
# The CHANGE_RULES file the analyser reads too (a path, s3:// URI or NAME for
# s3://BUCKET/config/NAME.yaml): the crawl records the screen boxes of each page's
# ignore_selectors elements (its site's, and its watch-list competitor's) as `ignored_boxes`.
CHANGE_RULES: str | None = os.environ.get("CHANGE_RULES") or None

# --- Graceful stop ----------------------------------------------------------------------------
# After SIGTERM/SIGINT, in-flight pages may finish for at most this long (Fargate allows 120 s).
RIVALSCOPE_STOP_GRACE = 60.0
# ...then the last chunks get this long to upload before they are spilled locally.
RIVALSCOPE_STOP_UPLOAD_BUDGET = 30.0

# --- Run marker (SPEC.md "Runs") -------------------------------------------------------------
# Seconds between two samples of the process tree's CPU (crawler/resources.py); its memory is read
# at every fifth sample (``resources.MEMORY_EVERY``: each read costs the kernel 3-4 ms per Chromium
# process, bench/RESULTS.md "The crawler's own python").
RIVALSCOPE_RESOURCE_SAMPLE_INTERVAL = 1.0
# Write raw/{spider}/{run}/_done/{I}of{N}.json when the crawl ends.
RIVALSCOPE_RUN_MARKER = True

# No listening consoles inside a crawler container.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
