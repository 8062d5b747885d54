"""The test site: ``tests/data/site/`` served by the project's one static-site server
(``rivalscope_local.static_site``, which the demo and the benchmark use too), on 127.0.0.1 port
0, never cached by the browser (``Cache-Control: no-store``), so every fetch reaches the log."""

from __future__ import annotations

from pathlib import Path

from rivalscope_local.static_site import LoggedRequest, Route, SiteRequestHandler, answer
from rivalscope_local.static_site import SiteServer as _StaticSiteServer

__all__ = ["SITE_ROOT", "LoggedRequest", "Route", "SiteServer", "_Handler", "answer"]

SITE_ROOT = Path(__file__).resolve().parents[1] / "data" / "site"

# The handler a route receives (its path and headers are the request's).
_Handler = SiteRequestHandler


class SiteServer(_StaticSiteServer):
    def __init__(self, root: Path = SITE_ROOT, host: str = "127.0.0.1") -> None:
        super().__init__(root, host, cache_control="no-store")
