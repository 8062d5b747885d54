"""The crawler's settings as a crawl sees them: every default from ``crawler/settings.py`` (the
only place that declares them), then a test's overrides, as ``-s NAME=VALUE`` would give them."""

from __future__ import annotations

from typing import Any

from scrapy.settings import Settings

from crawler import settings as _module


def project_settings(**overrides: Any) -> Settings:
    settings = Settings()
    settings.setmodule(_module, priority="project")
    settings.update(overrides, priority="cmdline")
    return settings


def project_settings_dict(**overrides: Any) -> dict[str, Any]:
    """The same as a plain dict, for ``get_crawler(spidercls, settings_dict)``."""
    declared = {name: getattr(_module, name) for name in dir(_module) if name.isupper()}
    return {**declared, **overrides}
