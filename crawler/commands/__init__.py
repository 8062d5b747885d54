"""Scrapy command overrides of the project (``COMMANDS_MODULE``)."""
