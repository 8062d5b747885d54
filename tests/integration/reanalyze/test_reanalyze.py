"""``python -m analyzer_lambda.reanalyze`` as users run it: a subprocess against a moto server,
the fake Gemini server and a site server that counts requests (re-analysis must fetch nothing)."""

from __future__ import annotations

import base64
import functools
import gzip
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
from PIL import Image

from analyzer_lambda.reanalyze.__main__ import main

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_s3 import S3Client

    from tests.servers.gemini import GeminiServer
    from tests.servers.moto import MotoServer
    from tests.servers.site import SiteServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
RUN = "raw/competitors/2026-11-23T22-19-03/"
SECOND_PROMPT = """---
name: pricing-watch
include_screenshot: true
---
List every plan and price on this page.
"""


@functools.cache
def _screenshot() -> dict[str, Any]:
    buffer = io.BytesIO()
    Image.new("RGB", (1280, 3000), "white").save(buffer, "WEBP", quality=50)
    data = base64.b64encode(buffer.getvalue()).decode()
    return {"format": "webp", "width": 1280, "height": 3000, "data": data}


def _page(url: str, text: str, *, error: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "url": url, "final_url": url, "status": None if error else 200,
        "crawled_at": "2026-11-23T22:19:05.000000Z",
        "body": "" if error else f"<html><body><main><h1>{text}</h1><p>Pro $49/month</p>"
        "</main></body></html>",
        "title": text, "screenshot": None if error else _screenshot(), "prompt": None,
        "error": error,
    }  # fmt: skip


def _chunk(pages: list[dict[str, Any]]) -> bytes:
    lines = "".join(json.dumps(page, ensure_ascii=False) + "\n" for page in pages)
    return gzip.compress(lines.encode())


@pytest.fixture
def run(s3: S3Client, bucket: str, site: SiteServer) -> str:
    """A stored run of 5 pages of the site server in two chunks, one page a render failure."""
    first = [_page(site.url(f"/p{i}.html"), f"Page {i}") for i in range(3)]
    second = [
        _page(site.url("/p3.html"), "料金プラン"),
        _page(site.url("/gone.html"), "", error={"type": "timeout", "message": "30 s"}),
    ]
    s3.put_object(Bucket=bucket, Key=f"{RUN}items.0000000.jl.gz", Body=_chunk(first))
    s3.put_object(Bucket=bucket, Key=f"{RUN}items.0000003.jl.gz", Body=_chunk(second))
    return f"s3://{bucket}/{RUN}"


@pytest.fixture
def prompt_file(tmp_path: Path) -> Path:
    path = tmp_path / "pricing-watch.md"
    path.write_text(SECOND_PROMPT, encoding="utf-8")
    return path


@dataclass
class Done:
    returncode: int
    stderr: str


@pytest.fixture
def reanalyze(
    moto_server: MotoServer,
    gemini: GeminiServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., Done]:
    """The command's ``main`` in this process (no interpreter start per call), with the
    environment a user would set: the endpoint, a key and the Gemini base URL (``gemini``)."""
    monkeypatch.setenv("GEMINI_MAX_ATTEMPTS", "1")

    def call(*args: str, **env: str) -> Done:
        with monkeypatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            code = main(list(args))
        return Done(code, capsys.readouterr().err)

    return call


def _results(s3: S3Client, bucket: str, prefix: str = "analysis/") -> list[dict[str, Any]]:
    keys = [
        obj["Key"]
        for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        if obj["Key"].endswith(".json")
    ]
    return [json.loads(s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in keys]


def test_dry_run_prints_pages_tokens_and_cost_and_calls_nothing(
    reanalyze: Callable[..., Done], gemini: GeminiServer, run: str, prompt_file: Path,
    s3: S3Client, bucket: str, site: SiteServer, tmp_path: Path,
) -> None:  # fmt: skip
    gemini.reset()
    done = reanalyze(run, "--prompt", str(prompt_file), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "pages: 5 in 2 chunk(s)" in done.stderr
    assert "5 to analyse" in done.stderr
    assert "model gemini-2.5-flash" in done.stderr
    tokens = int(done.stderr.split("estimated tokens: ")[1].split(" input")[0].replace(",", ""))
    assert tokens > 4 * 516  # four rendered pages, each with a screenshot of two tiles
    assert "estimated cost: $0.00" in done.stderr

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"gemini-2.5-flash": {
        "input_per_million": 1000, "output_per_million": 0, "as_of": "2030-01-01"}}))  # fmt: skip
    dearer = reanalyze(run, "--prompt", str(prompt_file), "--dry-run",
                       RIVALSCOPE_PRICES_FILE=str(prices))  # fmt: skip
    # both prices from the one table: standard, and the Batch API's (half, unless the file
    # gives batch rates of its own)
    assert (
        f"estimated cost: ${tokens * 1000 / 1e6:.4f} standard, ${tokens * 500 / 1e6:.4f} with "
        "the Batch API (--via batch); prices as of 2030-01-01"
    ) in dearer.stderr
    prices.write_text(json.dumps({"gemini": {"gemini-2.5-flash": {
        "input_per_million": 1000, "output_per_million": 0, "batch_input_per_million": 100,
        "batch_output_per_million": 0, "as_of": "2030-02-01"}}}))  # fmt: skip
    batch = reanalyze(run, "--prompt", str(prompt_file), "--dry-run",
                      RIVALSCOPE_PRICES_FILE=str(prices))  # fmt: skip
    assert f"${tokens * 100 / 1e6:.4f} with the Batch API" in batch.stderr
    prices.write_text(
        json.dumps(
            {"gemini": {"gemini-2.5-flash": {"input_per_million": -1, "output_per_million": 0}}}
        )
    )
    bad = reanalyze(run, "--prompt", str(prompt_file), "--dry-run",
                    RIVALSCOPE_PRICES_FILE=str(prices))  # fmt: skip
    assert bad.returncode == 2
    assert "gemini.gemini-2.5-flash.input_per_million" in bad.stderr

    assert gemini.calls == 0
    assert site.paths() == []
    assert _results(s3, bucket) == []


def test_one_model_call_per_page_no_site_request_and_a_rerun_calls_nothing(
    reanalyze: Callable[..., Done], gemini: GeminiServer, run: str, prompt_file: Path,
    s3: S3Client, bucket: str, site: SiteServer,
) -> None:  # fmt: skip
    gemini.reset()
    first = reanalyze(run, "--prompt", str(prompt_file), "--yes")
    # the page the crawler could not render is recorded as failed: exit 1, and it is named
    assert first.returncode == 1, first.stderr
    assert "gone.html: timeout" in first.stderr
    assert gemini.calls == 4
    results = _results(s3, bucket)
    assert len(results) == 5
    assert {r["prompt_id"] for r in results} == {results[0]["prompt_id"]}
    assert results[0]["prompt_id"].startswith("pricing-watch-")
    assert sum(r["analysis"] is not None for r in results) == 4

    second = reanalyze(run, "--prompt", str(prompt_file), "--yes")
    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stderr
    assert gemini.calls == 4
    assert site.paths() == []


def test_a_costly_run_without_a_terminal_needs_yes(
    reanalyze: Callable[..., Done], gemini: GeminiServer, run: str, prompt_file: Path
) -> None:
    gemini.reset()
    done = reanalyze(run, "--prompt", str(prompt_file),
                     RIVALSCOPE_CONFIRM_ABOVE_USD="0")  # fmt: skip
    assert done.returncode == 2
    assert "pass --yes" in done.stderr
    assert gemini.calls == 0


def test_bad_usage_exits_2_with_a_message(
    reanalyze: Callable[..., Done], gemini: GeminiServer, run: str, prompt_file: Path
) -> None:
    not_a_run = reanalyze("s3://b/elsewhere/", "--prompt", str(prompt_file))
    assert not_a_run.returncode == 2
    assert "neither a run" in not_a_run.stderr
    no_function = reanalyze(run, "--prompt", str(prompt_file),
                            "--via", "lambda", ANALYZER_FUNCTION="")  # fmt: skip
    assert no_function.returncode == 2
    assert "--function" in no_function.stderr
    no_prompt = reanalyze(run, "--prompt", "missing.md")
    assert no_prompt.returncode in (1, 2)
    assert "missing.md" in no_prompt.stderr


def test_ctrl_c_stops_cleanly_and_a_rerun_resumes_without_repeating_a_call(
    reanalyze: Callable[..., Done], gemini: GeminiServer, run: str, prompt_file: Path,
    s3: S3Client, bucket: str, moto_server: MotoServer,
) -> None:  # fmt: skip
    """A real SIGINT to the command as users start it (``python -m``)."""
    gemini.reset(default="slow:1.5")
    environ = {**os.environ, "AWS_ENDPOINT_URL": moto_server.endpoint,
               "GEMINI_API_KEY": "k", "GOOGLE_GEMINI_BASE_URL": gemini.base_url}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "analyzer_lambda.reanalyze", run, "--prompt", str(prompt_file),
         "--yes", "--concurrency", "1"],
        env=environ, cwd=ROOT, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while gemini.calls < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "rerun" in stderr
    interrupted_calls = gemini.calls
    assert 1 <= interrupted_calls < 4

    gemini.reset()
    resumed = reanalyze(run, "--prompt", str(prompt_file), "--yes")
    assert resumed.returncode == 1  # the unrenderable page, as before
    results = _results(s3, bucket)
    assert len(results) == 5
    assert interrupted_calls + gemini.calls == 4  # no page asked twice


class _LambdaApi(BaseHTTPRequestHandler):
    """The Lambda Invoke API, as far as asynchronous invokes go."""

    calls: ClassVar[list[tuple[str, str, dict[str, Any]]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        payload = json.loads(self.rfile.read(length))
        function = self.path.split("/functions/")[1].split("/")[0]
        self.calls.append((function, self.headers.get("X-Amz-Invocation-Type", ""), payload))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_via_lambda_sends_one_asynchronous_reanalyze_event_per_chunk(
    reanalyze: Callable[..., Done], gemini: GeminiServer, run: str, prompt_file: Path,
    s3: S3Client, bucket: str, site: SiteServer,
) -> None:  # fmt: skip
    gemini.reset()
    _LambdaApi.calls = []
    api = ThreadingHTTPServer(("127.0.0.1", 0), _LambdaApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    try:
        done = reanalyze(
            run, "--prompt", str(prompt_file), "--via", "lambda", "--yes",
            ANALYZER_FUNCTION="rivalscope-analyzer",
            AWS_ENDPOINT_URL_LAMBDA=f"http://127.0.0.1:{api.server_address[1]}",
        )  # fmt: skip
    finally:
        api.shutdown()
        api.server_close()
    assert done.returncode == 0, done.stderr
    prompt_uri = f"s3://{bucket}/prompts/pricing-watch.md"
    assert sorted(_LambdaApi.calls, key=lambda c: c[2]["reanalyze"]["chunks"]) == [
        (
            "rivalscope-analyzer",
            "Event",
            {
                "reanalyze": {
                    "chunks": [f"{run}items.{n}.jl.gz"],
                    "prompt": prompt_uri,
                    "model": "gemini-2.5-flash",
                }
            },
        )
        for n in ("0000000", "0000003")
    ]
    stored = s3.get_object(Bucket=bucket, Key="prompts/pricing-watch.md")["Body"].read()
    assert stored.decode() == SECOND_PROMPT
    assert gemini.calls == 0
    assert site.paths() == []

    # what the function does with those events: the deployed handler, here in-process against
    # the same endpoint, analyses every page under the prompt id of the local file
    from analyzer_lambda.handler import lambda_handler
    from analyzer_lambda.prompts.parser import parse_prompt
    from rivalscope_local.lambda_event import LocalLambdaContext

    for _, _, payload in _LambdaApi.calls:
        assert lambda_handler(payload, LocalLambdaContext())["complete"]
    assert gemini.calls == 4
    local_id = parse_prompt(SECOND_PROMPT, fallback_name="pricing-watch").prompt_id
    assert {r["prompt_id"] for r in _results(s3, bucket)} == {local_id}
    again = reanalyze(run, "--prompt", str(prompt_file), "--via", "lambda", "--yes",
                      ANALYZER_FUNCTION="rivalscope-analyzer")  # fmt: skip
    assert again.returncode == 0
    assert "nothing to do" in again.stderr


def test_without_prompt_each_page_gets_its_competitors_prompt_and_prompt_overrides_all(
    reanalyze: Callable[..., Done], gemini: GeminiServer, s3: S3Client, bucket: str,
    prompt_file: Path, site: SiteServer,
) -> None:  # fmt: skip
    """A watch-list run: 花見クラウド's pages carry its prompt (a NAME under prompts/), the
    others none (ANALYSIS_PROMPT). Re-analysis keeps to that; ``--prompt`` beats it for all."""
    s3.put_object(Bucket=bucket, Key="prompts/pricing-ja.md",
                  Body=b"---\nname: pricing-ja\n---\nJA-PROMPT: list the prices.\n")  # fmt: skip
    s3.put_object(Bucket=bucket, Key="prompts/overview.md",
                  Body=b"---\nname: overview\n---\nRUN-PROMPT: describe the page.\n")  # fmt: skip
    pages = [
        {
            **_page(site.url("/ja.html"), "料金"),
            "competitor": "花見クラウド",
            "prompt": "pricing-ja",
        },
        {**_page(site.url("/acme.html"), "Acme"), "competitor": "Acme Analytics"},
        {
            **_page(site.url("/ja2.html"), "会社"),
            "competitor": "花見クラウド",
            "prompt": "pricing-ja",
        },
    ]
    s3.put_object(Bucket=bucket, Key=f"{RUN}items.0000000.jl.gz", Body=_chunk(pages))
    run = f"s3://{bucket}/{RUN}"
    gemini.reset()

    dry = reanalyze(run, "--dry-run", ANALYSIS_PROMPT="overview")
    assert dry.returncode == 0, dry.stderr
    assert "each page's own prompt (overview-" in dry.stderr
    assert ", pricing-ja-" in dry.stderr
    assert "3 to analyse" in dry.stderr
    assert gemini.calls == 0

    own = reanalyze(run, "--yes", ANALYSIS_PROMPT="overview")
    assert own.returncode == 0, own.stderr

    def sent() -> dict[str, str]:
        found = {}
        for request in gemini.requests:
            [url] = [
                p["url"] for p in pages if f"requested URL: {p['url']}" in "".join(request.texts)
            ]
            found[url] = (
                "ja"
                if "JA-PROMPT" in request.system_text
                else ("run" if "RUN-PROMPT" in request.system_text else "other")
            )
        return found

    assert sent() == {site.url("/ja.html"): "ja", site.url("/acme.html"): "run",
                      site.url("/ja2.html"): "ja"}  # fmt: skip
    results = _results(s3, bucket)
    assert sorted((r["competitor"], r["prompt_id"].rsplit("-", 1)[0]) for r in results) == [
        ("Acme Analytics", "overview"),
        ("花見クラウド", "pricing-ja"),
        ("花見クラウド", "pricing-ja"),
    ]
    again = reanalyze(run, "--yes", ANALYSIS_PROMPT="overview")
    assert "nothing to do" in again.stderr

    gemini.reset()
    override = reanalyze(run, "--prompt", str(prompt_file), "--yes")
    assert override.returncode == 0, override.stderr
    assert sent() == dict.fromkeys((p["url"] for p in pages), "other")
    assert len(gemini.requests) == 3
    assert all("List every plan" in r.system_text for r in gemini.requests)
    assert site.paths() == []
