"""The run-complete step at the end of ``make run``, as a shard marker's S3 event starts it in
AWS (the local queue carries chunk events only): the handler is called in-process with the
event of the run's first marker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rivalscope_core.keys import marker_key, parse_s3_uri

if TYPE_CHECKING:
    from rivalscope_core.keys import RunRef


def complete_run(handler: Any, run: RunRef, shards: int) -> tuple[list[str], str | None]:
    """The run-complete step, as a marker's S3 event starts it in AWS (the local queue carries
    chunk events only): once every marker and result is there, the run's report and
    ``run.json`` under ``reports/``; it says what is missing otherwise. Returns the lines to
    show and the key prefix of the run's report folder (None when not complete)."""
    from analyzer_lambda.__main__ import LocalContext
    from analyzer_lambda.exceptions import RunNotCompleteError

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
    try:
        answer = handler(event, LocalContext(900))
    except RunNotCompleteError as exc:
        status = exc.status
        missing = ", ".join(status["missing_markers"]) or "none"
        pending = status["pages_without_result"]
        lines = [f"run not complete: missing shard marker(s) {missing}, {pending} page(s) pending"]
        return lines, None
    lines, folder = [], None
    for outcome in answer.get("runs", []):
        report = f"; run report {outcome['report']}" if outcome.get("report") else ""
        lines.append(f"run-complete step: {outcome['outcome']}{report}")
        if outcome.get("report"):
            folder = parse_s3_uri(outcome["report"]).key.removesuffix("report.html")
    return lines, folder
