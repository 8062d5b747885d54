"""The Slack command inside the front door's servers (``analyzer_lambda.frontdoor``, issue #15,
engineer "api"): ``make_handler(front_door)`` is what the front door's ``mount_slack`` mounts on
``POST /slack/commands`` under ``make serve``, and ``FrontDoorStarter`` starts a command's run
with ``FrontDoor.start_run``, exactly as ``POST /runs`` does (the same validation, private-
address guard, ad-hoc prompt storage and launcher; no prompt: the bundled one), with Slack as
the caller: Slack authenticated it with the signing secret, so no API key applies.

In AWS the command has a function of its own (``analyzer_lambda.slack.handler``,
``SlackCommandUrl``): Bolt's lazy listener needs the Lambda adapter, and a thread started inside
the API's function would be frozen with it after the answer. So ``make_handler`` mounts nothing
inside Lambda.

The front door is reached through the small protocol below, not imported: this module stays
importable (and testable) on its own."""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from analyzer_lambda.config import Config
from analyzer_lambda.exceptions import ConfigurationError
from analyzer_lambda.slack.starter import RunRequestError, StartedRun

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

logger = logging.getLogger(__name__)

FRONT_DOOR_MODULE = "analyzer_lambda.frontdoor.lambda_url"


@dataclass(frozen=True)
class SlackCaller:
    """Who started the run, as the front door records and throttles callers."""

    id: str = "slack"
    kind: str = "slack"


class _Store(Protocol):
    @property
    def bucket(self) -> str: ...


class _Limits(Protocol):
    @property
    def max_urls(self) -> int: ...


class FrontDoorLike(Protocol):
    @property
    def store(self) -> _Store: ...

    @property
    def config(self) -> _Limits: ...

    def start_run(
        self, urls: Sequence[str], prompt: str | None, caller: Any
    ) -> Mapping[str, Any]: ...


class FrontDoorStarter:
    def __init__(self, front: FrontDoorLike) -> None:
        self._front = front

    def start_run(self, urls: Sequence[str], prompt: str | None) -> StartedRun:
        try:
            accepted = self._front.start_run(urls, prompt, SlackCaller())
        except Exception as exc:
            # the front door's ApiError: a 4xx's message is for the user, a 5xx is a fault
            status = getattr(exc, "status", None)
            if isinstance(status, int) and 400 <= status < 500:
                raise RunRequestError(str(getattr(exc, "message", exc))) from exc
            raise
        return StartedRun(str(accepted["run"]))


def make_handler(
    front: FrontDoorLike,
) -> Callable[[bytes, Mapping[str, str]], tuple[int, Mapping[str, str], bytes]] | None:
    """The endpoint for ``make serve``; None (the route then says Slack is not set up) inside
    Lambda or without a signing secret."""
    from analyzer_lambda.deps import shared_s3_client
    from analyzer_lambda.slack.endpoint import SlackEndpoint
    from analyzer_lambda.slack.wiring import build_command_app, signing_secret

    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return None
    config = Config.from_env(os.environ)
    try:
        signing_secret(config.slack)  # no secret, no command: nothing else is looked at
        app = build_command_app(
            config.replace(pages_bucket=front.store.bucket),
            FrontDoorStarter(front),
            shared_s3_client(),
            max_urls=front.config.max_urls,
        )
    except ConfigurationError as exc:
        logger.info("the Slack command is off: %s", exc)
        return None
    return SlackEndpoint(app).handle


def lambda_starter() -> FrontDoorStarter:
    """The Slack function's starter in AWS: the front door as its own function builds it from
    the environment (``CRAWL_STATE_MACHINE_ARN``, ``PAGES_BUCKET``)."""
    try:
        module = importlib.import_module(FRONT_DOOR_MODULE)
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f"the front door ({FRONT_DOOR_MODULE}) is missing: {exc}"
        ) from exc
    front: FrontDoorLike = module.front_door()
    return FrontDoorStarter(front)
