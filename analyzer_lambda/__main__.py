"""``python -m analyzer_lambda EVENT_JSON_OR_@FILE``: invoke the Lambda handler locally, with the
same code path as the container, and print its return value as JSON on stdout (for SQS events,
the ``batchItemFailures``). Logs and metrics go to stderr.

Exit codes (SPEC.md): 0 every page has a result and none failed; 1 the job ran but some page
failed or is left for a retry (all of it is in the printed JSON); 2 bad usage or
configuration."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from analyzer_lambda.exceptions import (
    ChunksIncompleteError,
    ConfigurationError,
    RunNotCompleteError,
    RunReportUnfinishedError,
    UnsupportedEventError,
)
from rivalscope_core.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE


class LocalContext:
    """The parts of the Lambda context the handler and Powertools read."""

    def __init__(self, timeout_seconds: float) -> None:
        self._ends_at = time.monotonic() + timeout_seconds
        self.function_name = "rivalscope-analyzer-local"
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = (
            "arn:aws:lambda:local:000000000000:function:rivalscope-analyzer-local"
        )
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = "local"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends_at - time.monotonic()) * 1000))


def load_event(arg: str) -> dict[str, Any]:
    text = Path(arg[1:]).read_text(encoding="utf-8") if arg.startswith("@") else arg
    event = json.loads(text)
    if not isinstance(event, dict):
        raise TypeError("the event must be a JSON object")
    return event


def exit_code(result: dict[str, Any]) -> int:
    if result.get("batchItemFailures"):
        return EXIT_FAILED
    if result.get("failed") or result.get("pending") or result.get("complete") is False:
        return EXIT_FAILED
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analyzer_lambda",
        description="Invoke the analyser's Lambda handler locally with an event.",
    )
    parser.add_argument("event", help="the event as JSON, or @FILE to read it from a file")
    args = parser.parse_args(argv)
    try:
        event = load_event(args.event)
    except (OSError, ValueError, TypeError) as exc:
        print(f"error: cannot read the event: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        from analyzer_lambda import handler
        from analyzer_lambda.config import Config

        context = LocalContext(Config.from_env(os.environ).local_timeout)
        # Powertools prints EMF metrics with print(): keep stdout for the return value.
        with contextlib.redirect_stdout(sys.stderr):
            result = handler.lambda_handler(event, context)
    except (ConfigurationError, UnsupportedEventError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ChunksIncompleteError as exc:
        result = exc.summary
    except RunNotCompleteError as exc:
        # a run-complete step that must look again later: not done, so exit 1
        print(json.dumps({"run_not_complete": exc.status}, indent=2), file=sys.stdout)
        return EXIT_FAILED
    except RunReportUnfinishedError as exc:
        # the run's report stopped short of the time limit with parts left: run it again
        print(json.dumps({"run_report_unfinished": exc.status}, indent=2), file=sys.stdout)
        return EXIT_FAILED
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return exit_code(result)


if __name__ == "__main__":
    sys.exit(main())
