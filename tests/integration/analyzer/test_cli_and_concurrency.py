"""``python -m analyzer_lambda`` as a user runs it (a real subprocess: stdout, stderr, exit
code), and one event delivered three times at once, as three Lambda sandboxes would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from analyzer_lambda import events
from analyzer_lambda.__main__ import LocalContext, main
from analyzer_lambda.config import Config
from analyzer_lambda.deps import build_deps
from analyzer_lambda.exceptions import ChunksIncompleteError
from analyzer_lambda.handler import lambda_handler
from analyzer_lambda.work import ChunkOutcome, Deadline, analyze_chunk
from tests.conftest import load_event
from tests.integration.analyzer.conftest import page, put_chunk, results, retarget

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from tests.servers.gemini import GeminiServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analyzer_lambda", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=120,
        check=False,
    )


def test_cli_prints_only_the_batch_item_failures_on_stdout(
    s3: S3Client, bucket: str, gemini: GeminiServer, tmp_path: Path
) -> None:
    key = put_chunk(s3, bucket, [page(), page("article.html")])
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(retarget(load_event("sqs_s3_put.json"), bucket, key)))

    done = run_cli(f"@{event_file}")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"batchItemFailures": []}
    assert '"level":"INFO"' in done.stderr  # Powertools' JSON logs, on stderr
    assert '"PagesAnalysed":[2.0]' in done.stderr  # EMF metrics, on stderr too
    assert len(results(s3, bucket)) == 2


def test_cli_exit_code_is_1_when_a_page_failed(
    s3: S3Client, bucket: str, gemini: GeminiServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("GEMINI_MAX_ATTEMPTS", "2")
    gemini.reset(default="500")
    key = put_chunk(s3, bucket, [page()])
    event = retarget(load_event("s3_put.json"), bucket, key)

    code = main([json.dumps(event)])

    assert code == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["failed"] == 1
    assert summary["chunks"][0]["complete"] is True


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ANALYZER": "gemini", "GEMINI_API_KEY": ""}, "GEMINI_API_KEY"),
        ({"ANALYZER": "", "GEMINI_API_KEY": ""}, "ANALYZER=extract"),
        ({"ANALYZER": "nonesuch"}, "available: extract, gemini"),
        ({"ANALYZER_CONCURRENCY": "zero"}, "ANALYZER_CONCURRENCY"),
    ],
)
def test_cli_configuration_errors_exit_2_with_a_clear_message(
    s3: S3Client, bucket: str, gemini: GeminiServer, env: dict[str, str], message: str,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    key = put_chunk(s3, bucket, [page()])
    event = retarget(load_event("s3_put.json"), bucket, key)

    code = main([json.dumps(event)])

    captured = capsys.readouterr()
    assert code == 2
    assert message in captured.err
    assert captured.out == ""
    assert gemini.calls == 0


def test_cli_bad_event_exits_2(gemini: GeminiServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["{not json"]) == 2
    assert main(['{"some": "event"}']) == 2
    assert "unsupported event" in capsys.readouterr().err


def test_event_delivered_three_times_concurrently_by_three_processes(
    s3: S3Client, bucket: str, gemini: GeminiServer, tmp_path: Path
) -> None:
    gemini.reset(default="slow:0.3")  # calls overlap for sure
    pages = [page(url=f"https://e.test/{n}") for n in range(1, 5)]
    key = put_chunk(s3, bucket, pages)
    event = retarget(load_event("s3_put.json"), bucket, key)
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(event))

    def in_process() -> int:
        try:
            lambda_handler(event, LocalContext(60))
        except ChunksIncompleteError:
            return 1
        return 0

    # Two separate processes (the CLI) and this one: three sandboxes (starting a process that
    # imports google-genai costs ~5 s of CPU here, hence not three of them).
    with ThreadPoolExecutor(3) as pool:
        runs = [pool.submit(run_cli, f"@{event_file}") for _ in range(2)]
        mine = pool.submit(in_process)
        codes = {run.result().returncode for run in runs} | {mine.result()}

    assert gemini.calls == len(pages)
    assert len(results(s3, bucket)) == len(pages)
    # A delivery that found pages claimed by another one exits 1 (in Lambda: raises, so it is
    # delivered again later); that later delivery finds every result and makes no call.
    assert codes <= {0, 1}, [run.result().stderr for run in runs]
    again = lambda_handler(event, LocalContext(60))
    assert (again["skipped"], again["complete"]) == (len(pages), True)
    assert gemini.calls == len(pages)


@pytest.mark.parametrize(
    "event_name", ["s3_put.json", "sqs_s3_put.json", "eventbridge_object_created.json"]
)
def test_each_event_shape_analysed_three_times_at_once_calls_the_model_once_per_page(
    s3: S3Client, bucket: str, gemini: GeminiServer, event_name: str
) -> None:
    """The shared path under the handler — event → chunks → ``analyze_chunk`` — run by three
    threads at once, each with its own dependencies as separate sandboxes would have."""
    gemini.reset(default="slow:0.2")
    pages = [page(url=f"https://e.test/{n}") for n in range(1, 5)]
    key = put_chunk(s3, bucket, pages)
    event = retarget(load_event(event_name), bucket, key)
    if event_name.startswith("sqs"):
        chunks = events.chunks_from_sqs_body(event["Records"][0]["body"])
    elif event_name.startswith("eventbridge"):
        chunks = events.chunks_from_eventbridge(event)
    else:
        chunks = events.chunks_from_s3_notification(event)
    assert [c.key for c in chunks] == [key]
    config = Config.from_env(os.environ)

    def deliver(_: int) -> ChunkOutcome:
        return analyze_chunk(chunks[0], build_deps(config), Deadline.after(60))

    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(deliver, range(3)))

    assert gemini.calls == len(pages)
    assert sum(o.done for o in outcomes) == len(pages)
    assert len(results(s3, bucket)) == len(pages)
