"""Why a page could not be fetched or rendered. Each class carries the stable ``error_type``
that ends up in the page record's ``error.type`` (SPEC.md), so the spider never maps errors by
matching message text."""

from __future__ import annotations

from typing import ClassVar

from rivalscope_core.addresses import AddressBlockedError, AddressLookupError


class RenderError(Exception):
    """Base: the page could not be rendered; the crawl goes on and records the error."""

    error_type: ClassVar[str] = "render_error"


class PageTimeoutError(RenderError):
    error_type = "timeout"


class BrowserCrashedError(RenderError):
    """The browser (or its driver) died while rendering, stopped answering, or could not
    start; the pool replaces it, and the page is tried again in a fresh browser
    (``SELENIUM_CRASH_RETRIES``, crawler/crash_retry.py): the fault was the browser's,
    not the page's."""

    error_type = "browser_crash"


class BrowserUnavailableError(BrowserCrashedError):
    """Chromium failed to start several times in a row (a wrong ``SELENIUM_BROWSER_PATH``, a
    missing library): the pool refuses to start one for a while, and the page fails at once
    without a retry, since another try would fail the same way."""


class NavigationError(RenderError):
    """Chromium reported a network error for the main document (``net::ERR_...``)."""

    error_type = "navigation"


class DnsLookupError(NavigationError, AddressLookupError):
    error_type = "dns"


class ConnectionRefusedRenderError(NavigationError):
    error_type = "connection_refused"


class RedirectLoopError(NavigationError):
    """The page kept redirecting (HTTP redirects, or a script or meta refresh that kept
    navigating) without ever settling on a page."""

    error_type = "redirect_loop"


class BlockedAddressError(RenderError, AddressBlockedError):
    """The request, a redirect or a followed link would reach a non-public address that
    ``ALLOW_PRIVATE_ADDRESSES`` does not exempt."""

    error_type = "blocked_address"


class ShuttingDownError(RenderError):
    """The crawl is stopping (SIGTERM/SIGINT): the page was not rendered."""

    error_type = "shutdown"


# The refusals the guard proxy answers itself; its ``X-Rivalscope-Netguard`` header carries the
# class's ``error_type``, which the render flow and the plain-download records map back.
GUARD_REFUSALS: dict[str, type[RenderError]] = {
    cls.error_type: cls
    for cls in (BlockedAddressError, DnsLookupError, ConnectionRefusedRenderError)
}
