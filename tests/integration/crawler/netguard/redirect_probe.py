"""A minimal spider for ``scrapy runspider``: fetches ``-a urls=`` with Scrapy's redirects
followed (the competitors spider keeps every status, so it never redirects in Scrapy) and
writes one item per URL: what came back, or the error type its errback received."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import scrapy

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy.http import Response
    from twisted.python.failure import Failure


class RedirectProbe(scrapy.Spider):
    name = "redirect_probe"

    async def start(self) -> AsyncIterator[Any]:
        for url in str(getattr(self, "urls", "")).split(","):
            yield scrapy.Request(url, errback=self.failed, cb_kwargs={"asked": url})

    def parse(self, response: Response, asked: str) -> Iterator[dict[str, Any]]:
        yield {
            "asked": asked,
            "url": response.url,
            "status": response.status,
            "error": None,
            "proxy": response.meta.get("proxy"),
        }

    def failed(self, failure: Failure) -> Iterator[dict[str, Any]]:
        request = failure.request  # type: ignore[attr-defined] # set by Scrapy on errbacks
        exc = failure.value
        yield {
            "asked": request.cb_kwargs["asked"],
            "url": request.url,
            "status": None,
            "error": getattr(exc, "error_type", type(exc).__name__),
            "message": str(exc),
        }
