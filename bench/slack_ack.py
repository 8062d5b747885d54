"""How long the Slack command takes to answer (``python -m bench.slack_ack [--append]``), against
Slack's 3-second deadline, and what the replay guard's conditional S3 write adds to it.

``SlackEndpoint.handle`` (what ``make serve`` mounts; the Lambda adapter wraps the same Bolt
app) is given N freshly signed commands, one after the other, against the local S3 endpoint of
``make run`` (moto's server on loopback); the lazy half runs in Bolt's threads meanwhile, as it
would. Two apps side by side, interleaved: rivalscope's, and the same Bolt app without the
replay guard (the baseline: signature check, parsing, the answer). Medians and 95th
percentiles of the wall time to the answer."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import statistics
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

from bench.results import publish

SECRET = "bench-signing-secret"  # noqa: S105 - signs the bench's own requests


class _Starter:
    def start_run(self, urls: Any, prompt: str | None) -> Any:
        from analyzer_lambda.slack.starter import StartedRun

        return StartedRun("2026-12-02T00-00-00")


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def _signed(response_url: str, n: int) -> tuple[bytes, dict[str, str]]:
    body = urlencode(
        {
            "command": "/rivalscope",
            "text": f"https://a{n}.example pricing?",
            "channel_id": "C1",
            "user_id": "U1",
            "team_id": "T1",
            "response_url": response_url,
        }
    )
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": f"v0={digest}",
    }
    return body.encode(), headers


def main() -> None:
    from slack_bolt import App

    from analyzer_lambda.config import Config, SlackConfig
    from analyzer_lambda.slack.endpoint import SlackEndpoint
    from analyzer_lambda.slack.wiring import build_command_app
    from rivalscope_local.endpoint import LocalEndpoint

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    response_url = f"http://127.0.0.1:{sink.server_address[1]}/response"
    with LocalEndpoint() as endpoint:
        s3 = endpoint.s3()
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)
        config = Config(pages_bucket=bucket, slack=SlackConfig(signing_secret=SECRET))
        guarded = SlackEndpoint(build_command_app(config, _Starter(), s3))
        bare_app = build_command_app(config, _Starter(), s3)
        bare_app._middleware_list = [  # the baseline: the same app minus the replay guard
            m for m in bare_app._middleware_list if "refuse_replays" not in m.name
        ]
        bare = SlackEndpoint(bare_app)
        assert isinstance(bare_app, App)
        times: dict[str, list[float]] = {"guarded": [], "bare": []}
        for n in range(args.requests):
            for name, target in (("guarded", guarded), ("bare", bare)):
                body, headers = _signed(response_url, n)
                started = time.perf_counter()
                status, _, _ = target.handle(body, headers)
                times[name].append(time.perf_counter() - started)
                assert status == 200, status
        time.sleep(1)  # let the lazy threads finish before the endpoint stops
    sink.shutdown()

    def row(label: str, values: list[float]) -> str:
        ordered = sorted(values)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        return f"| {label} | {statistics.median(values) * 1000:.1f} | {p95 * 1000:.1f} |"

    ratio = statistics.median(times["guarded"]) / statistics.median(times["bare"])
    load = os.getloadavg()[0]
    report = "\n".join(
        [
            "## Slack command: time to the answer",
            "",
            (
                f"Command: `python -m bench.slack_ack --requests {args.requests}`; 2 shared "
                f"cores, load average {load:.0f}; S3 is moto's server on loopback."
            ),
            "",
            "| app | median ms | p95 ms |",
            "|---|---|---|",
            row("rivalscope (signature, replay claim in S3, answer)", times["guarded"]),
            row("baseline: the same Bolt app without the replay guard", times["bare"]),
            "",
            f"Ratio of medians: {ratio:.2f}× the baseline; Slack's deadline is 3,000 ms.",
        ]
    )
    publish(report, append=args.append)


if __name__ == "__main__":
    main()
