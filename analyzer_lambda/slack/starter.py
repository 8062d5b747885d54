"""What the Slack command needs from whoever starts runs: a ``RunStarter``.

The command module does not know how a run starts (the crawl state machine in AWS, the local
stack under ``make serve``): the front door's wiring passes a starter in. The starter checks
what the HTTP API checks (URL count, the private-address guard, the prompt) and raises
``RunRequestError`` with a message for the user when it refuses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence


class RunRequestError(ValueError):
    """The request was refused before anything started; the message says why (shown to the
    user as it is)."""


@dataclass(frozen=True)
class StartedRun:
    """A run that has started: its id (``raw/{spider}/{run}/``) and where its status is."""

    run: str
    spider: str = "competitors"
    status_url: str | None = None


class RunStarter(Protocol):
    def start_run(self, urls: Sequence[str], prompt: str | None) -> StartedRun:
        """Start a run of ``urls`` with ``prompt`` (an ad-hoc prompt text; None: the default
        prompt). Raises ``RunRequestError`` for a request it refuses; any other exception is a
        fault of the service."""
        ...
