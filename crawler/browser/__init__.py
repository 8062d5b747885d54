"""Headless Chromium through Selenium: config, Chromium's flags, a pool of reused browsers, the
render flow, screenshots and consent hiding. The Scrapy side is ``crawler.handlers.selenium``."""
