"""Which site a URL belongs to: ``rivalscope_core.sites`` (the shard planner of the scheduled
crawl, in the analyser image, splits lists by the same function)."""

from __future__ import annotations

from rivalscope_core.sites import site_of

__all__ = ["site_of"]
