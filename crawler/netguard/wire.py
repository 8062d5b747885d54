"""What the guard proxy and its clients agree on over the wire, in a module without I/O, so that
pure code (the record mapper, the render flow's log reader) can name it without importing the
threaded proxy server."""

from __future__ import annotations

# The header the guard proxy puts on the refusals it answers itself; its value is the refusal's
# ``error_type`` (``crawler.exceptions.GUARD_REFUSALS``).
BLOCKED_HEADER = "X-Rivalscope-Netguard"
