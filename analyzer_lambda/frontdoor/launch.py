"""What starts a run once the front door accepted it, and what it knows of the run later.

``StepFunctionsLauncher`` (AWS): an execution of the crawl state machine
(infra/template.yaml, ``CrawlStateMachine``) with the run's URL list key, its run id and the
crawl arguments (prompt, max_pages), named after the run so that a retried start cannot start
a second execution of it. The Lambda never crawls. ``rivalscope_local.runs.LocalLauncher``
(``make serve``) crawls and analyses on the local stack in the background instead."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from analyzer_lambda.frontdoor.status import LaunchState

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


@dataclass(frozen=True)
class Launch:
    """One accepted request, as the launcher needs it."""

    run: str
    bucket: str
    list_key: str
    prompt: str  # a NAME under prompts/
    max_pages: int
    urls: tuple[str, ...] = ()  # given beside a watch list (``-a urls=``)
    watchlist: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def crawl_arguments(self) -> list[str]:
        """The crawl's arguments besides the list, the run and the shard."""
        arguments = ["-a", f"prompt={self.prompt}", "-a", f"max_pages={self.max_pages}"]
        if self.urls:
            arguments += ["-a", "urls=" + ",".join(self.urls)]
        return arguments


class LaunchError(Exception):
    """The run could not be started; the message says why (shown in the run's status)."""


class Launcher(Protocol):
    def start(self, launch: Launch) -> dict[str, Any]:
        """Start the run; returns what to keep in the request record (an execution ARN...).
        Raises ``LaunchError``."""
        ...

    def state(self, run: str, record: dict[str, Any]) -> LaunchState: ...


def execution_name(run: str) -> str:
    return f"api-{run}"


class StepFunctionsLauncher:
    def __init__(self, sfn: SFNClient, state_machine_arn: str) -> None:
        self._sfn = sfn
        self._arn = state_machine_arn

    def start(self, launch: Launch) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        payload = {
            "list_key": launch.list_key,
            "run": launch.run,
            "extra_arguments": launch.crawl_arguments(),
        }
        try:
            answer = self._sfn.start_execution(
                stateMachineArn=self._arn,
                name=execution_name(launch.run),
                input=json.dumps(payload),
            )
        except (ClientError, BotoCoreError) as exc:
            raise LaunchError(f"the crawl state machine did not start: {exc}") from exc
        return {"execution_arn": answer["executionArn"]}

    def state(self, run: str, record: dict[str, Any]) -> LaunchState:
        from botocore.exceptions import BotoCoreError, ClientError

        if record.get("launch_error"):
            return LaunchState("failed", str(record["launch_error"]))
        arn = record.get("execution_arn")
        if not arn:
            return LaunchState()
        try:
            described = self._sfn.describe_execution(executionArn=str(arn))
        except (ClientError, BotoCoreError):
            return LaunchState()  # S3 still tells crawling/analysing/done
        status = described["status"]
        if status in ("FAILED", "TIMED_OUT", "ABORTED"):
            cause = described.get("cause") or described.get("error") or status
            return LaunchState("failed", f"the run's execution ended {status}: {cause}")
        return LaunchState("succeeded" if status == "SUCCEEDED" else "running")
