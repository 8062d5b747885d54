"""robots.txt obeyed for every request, including concurrent ones of one site.

Scrapy 2.19's ``RobotsTxtMiddleware`` parks every request that arrives while a site's robots.txt is
being fetched on one shared Deferred and awaits it through ``maybe_deferred_to_future``; the first
waiter's conversion consumes the result, so the other waiters get ``None`` and their requests go
out unchecked: four waiters on one Deferred got ``[parser, None, None, None]``, and in a crawl 1 of
8 concurrent start requests was checked and a disallowed page was fetched (the path came with
scrapy PR #6802 and is untested there). Start URLs of one site arrive together, so this hit every
crawl (``tests/integration/crawler/politeness/test_robots.py`` proves the fix). Here each waiter
chains its own Deferred onto the shared one and gets the parser.

A request that robots.txt forbids raises ``RobotsDisallowedError`` (an ``IgnoreRequest``), so
the spider can record a disallowed start URL by type rather than by message text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

if TYPE_CHECKING:
    from scrapy.http import Request
    from scrapy.robotstxt import RobotParser


class RobotsDisallowedError(IgnoreRequest):
    """robots.txt disallows this URL for our user agent."""


class ConcurrentSafeRobotsTxtMiddleware(RobotsTxtMiddleware):
    """``RobotsTxtMiddleware`` whose concurrent waiters each receive the parsed robots.txt."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            own: Deferred[RobotParser | None] = Deferred()

            def relay(result: Any) -> Any:
                own.callback(result)
                return result  # keep the shared result for the next waiter

            pending.addBoth(relay)
            return await maybe_deferred_to_future(own)
        return await super().robot_parser(request)

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest as exc:
            raise RobotsDisallowedError(f"robots.txt disallows {request.url}") from exc
