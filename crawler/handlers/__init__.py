"""Scrapy download handlers: rendering through Selenium behind the downloader slots."""
