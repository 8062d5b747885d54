"""The run-complete step at the end of ``make run``, as a shard marker's S3 event starts it in
AWS (the local queue carries chunk events only): the handler is called in-process with the
event of the run's first marker, again and again while the run's report is written part by part
(each call as long as ``ANALYZER_LOCAL_TIMEOUT``, a Lambda invocation's time), as the event's
redelivery does in AWS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rivalscope_core.keys import marker_key, parse_s3_uri

if TYPE_CHECKING:
    from collections.abc import Callable

    from rivalscope_core.keys import RunRef

MAX_INVOCATIONS = 1000  # a report of 20 000 chunks at one part per call: never reached


def complete_run(
    handler: Any,
    run: RunRef,
    shards: int,
    seconds: float = 900.0,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[str], str | None]:
    """The run-complete step, as a marker's S3 event starts it in AWS (the local queue carries
    chunk events only): once every marker and result is there, the run's report and
    ``run.json`` under ``reports/``; it says what is missing otherwise. ``seconds``: each
    invocation's time; ``progress`` is told each paused invocation's progress. Returns the
    lines to show and the key prefix of the run's report folder (None when not complete)."""
    from analyzer_lambda.__main__ import LocalContext
    from analyzer_lambda.exceptions import RunNotCompleteError, RunReportUnfinishedError

    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": run.bucket},
                    "object": {"key": marker_key(run, 0, shards)},
                },
            }
        ]
    }
    for _ in range(MAX_INVOCATIONS):
        try:
            answer = handler(event, LocalContext(seconds))
        except RunNotCompleteError as exc:
            status = exc.status
            missing = ", ".join(status["missing_markers"]) or "none"
            pending = status["pages_without_result"]
            lines = [
                f"run not complete: missing shard marker(s) {missing}, {pending} page(s) pending"
            ]
            return lines, None
        except RunReportUnfinishedError as exc:
            if progress is not None:
                done, parts = exc.status.get("parts_done"), exc.status.get("parts")
                progress(f"run report: {done} of {parts} part(s) written, going on")
            continue
        break
    else:
        return [f"run-complete step: report unfinished after {MAX_INVOCATIONS} calls"], None
    lines, folder = [], None
    for outcome in answer.get("runs", []):
        report = f"; run report {outcome['report']}" if outcome.get("report") else ""
        lines.append(f"run-complete step: {outcome['outcome']}{report}")
        if outcome.get("report"):
            folder = parse_s3_uri(outcome["report"]).key.removesuffix("report.html")
    return lines, folder
