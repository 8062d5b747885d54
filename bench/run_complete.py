"""``python -m bench.run_complete --pages N [--tree PATH ...] [--budget S]``: the run-complete
step at scale (issue #13). A moto server in this process holds two runs of N synthetic pages
(chunks of 20, each page with a 1280 x 4,000 px JPEG screenshot; every fourth page's price
changed, text and screenshot, so it gets crops) and a result per page of the second run; the
second run's marker event is then handed to ``python -m analyzer_lambda`` of each tree in turn
(``--tree``: a source tree, this one by default; interleaved over ``--runs``), again while it
answers ``run_report_unfinished``, each call given ``--budget`` seconds (the template's Lambda
timeout, 300 s) as ``ANALYZER_LOCAL_TIMEOUT``.

Per tree and run it prints: invocations, the longest invocation's seconds, total CPU seconds
(user + system of every invocation), peak bytes under the invocations' own ``TMPDIR`` (sampled
every 50 ms), and the largest peak RSS. Before each run the reports and the manifests are
removed, so every run does the same work. Figures go to bench/RESULTS.md."""

from __future__ import annotations

import argparse
import base64
import contextlib
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ROOT = Path(__file__).resolve().parents[1]
RUNS = ("2026-11-01T00-00-00", "2026-11-08T00-00-00")
PER_CHUNK = 20
BUCKET = "bench-run-complete"
HEIGHT = 4_000


@dataclass
class Measured:
    tree: str
    invocations: int = 0
    longest: float = 0.0
    wall: float = 0.0
    cpu: float = 0.0
    peak_tmp: int = 0
    peak_rss: int = 0
    outcomes: list[str] = field(default_factory=list)


def _page(run: str, c: int, i: int, shots: dict[bool, str]) -> dict[str, Any]:
    changed = run == RUNS[1] and (c * PER_CHUNK + i) % 4 == 0
    price = "$59" if changed else "$49"
    return {
        "url": f"https://site{c % 7}.example/{c}/{i}", "final_url": None, "status": 200,
        "crawled_at": f"{run[:10]}T00:00:00Z", "title": f"page {c} {i}", "prompt": None,
        "body": f"<main><h1>Plans</h1><p>Starter {price} a month.</p>"
                f"<p>page {c} {i} {'text ' * 200}</p></main>",
        "screenshot": {"format": "jpeg", "width": 1280, "height": HEIGHT,
                       "data": shots[changed]},
        "error": None,
    }  # fmt: skip


def _store(s3: S3Client, pages: int) -> str:
    """Both runs, the second's results and marker; returns the marker's key."""
    from analyzer_lambda.prompts.parser import default_prompt
    from bench.screenshot_pairs import Edits, screenshot_pair
    from rivalscope_core.keys import ChunkRef, RunRef, analysis_key, marker_key
    from rivalscope_core.markers import ShardMarker
    from rivalscope_core.records import ResultRecord

    before, after = screenshot_pair(HEIGHT, Edits(price="$59"))
    shots = {False: base64.b64encode(before).decode(), True: base64.b64encode(after).decode()}
    prompt_id = default_prompt().prompt_id
    chunks = (pages + PER_CHUNK - 1) // PER_CHUNK
    keys = []
    for run in RUNS:
        for c in range(chunks):
            n = min(PER_CHUNK, pages - c * PER_CHUNK)
            records = [_page(run, c, i, shots) for i in range(n)]
            key = f"raw/competitors/{run}/items.{c * PER_CHUNK:07d}.shard1of1.jl.gz"
            body = gzip.compress("\n".join(json.dumps(r) for r in records).encode())
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            if run == RUNS[1]:
                keys.append(key)
            for line, record in enumerate(records, start=1):
                chunk = ChunkRef(BUCKET, key)
                price = "$59" if "$59" in record["body"] else "$49"
                result = ResultRecord(
                    url=record["url"], final_url=None, crawled_at=record["crawled_at"],
                    chunk=chunk.uri, line=line, prompt_id=prompt_id, model="extract-v2",
                    analyzer="extract", analysis={"summary": record["title"], "pricing": price},
                )  # fmt: skip
                s3.put_object(
                    Bucket=BUCKET,
                    Key=analysis_key(chunk, line, prompt_id, "extract-v2"),
                    Body=result.to_json().encode(),
                )
    marker = ShardMarker(
        run=RUNS[1], spider="competitors", shard_index=0, shard_count=1, chunks=keys,
        pages=pages, errors=0, started_at="2026-11-08T00:00:00+00:00",
        ended_at="2026-11-08T00:10:00+00:00", exit_code=0, cpu_seconds=1.0,
        peak_memory_bytes=1, finish_reason="finished",
    )  # fmt: skip
    key = marker_key(RunRef(BUCKET, "competitors", RUNS[1]), 0, 1)
    s3.put_object(Bucket=BUCKET, Key=key, Body=marker.to_json())
    return key


def _reset(s3: S3Client) -> None:
    """Remove the reports and the manifests: every measured run does the same work."""
    paginator = s3.get_paginator("list_objects_v2")
    doomed = [
        obj["Key"]
        for page in paginator.paginate(Bucket=BUCKET)
        for obj in page.get("Contents", [])
        if obj["Key"].startswith("reports/") or "/_manifest/" in obj["Key"]
    ]
    for start in range(0, len(doomed), 1000):
        batch = [{"Key": k} for k in doomed[start : start + 1000]]
        s3.delete_objects(Bucket=BUCKET, Delete={"Objects": batch})  # type: ignore[typeddict-item]


def _size(path: Path) -> int:
    total = 0
    for parent, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # a file removed while we looked
                total += (Path(parent) / name).stat().st_size
    return total


def _run(tree: Path, endpoint: str, marker: str, budget: float) -> Measured:
    target = {"bucket": {"name": BUCKET}, "object": {"key": marker}}
    event = {
        "Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": target}]
    }
    measured = Measured(str(tree))
    started = time.monotonic()
    for _ in range(500):
        tmp = Path(tempfile.mkdtemp(prefix="bench-run-complete-"))
        env = {
            **os.environ, "PYTHONPATH": str(tree), "TMPDIR": str(tmp), "ANALYZER": "extract",
            "AWS_ENDPOINT_URL": endpoint, "ANALYZER_LOCAL_TIMEOUT": str(budget),
            "NOTIFY_URLS": "",
        }  # fmt: skip
        env.pop("ANALYSIS_PROMPT", None)
        env.pop("GEMINI_API_KEY", None)
        peak, stop = [0], threading.Event()

        def sample(tmp: Path = tmp, peak: list[int] = peak, stop: threading.Event = stop) -> None:
            while not stop.wait(0.05):
                peak[0] = max(peak[0], _size(tmp))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        clock = time.monotonic()
        proc = subprocess.Popen(  # our own interpreter, the tree's module
            [sys.executable, "-m", "analyzer_lambda", json.dumps(event)],
            cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        out = proc.stdout.read() if proc.stdout is not None else b""
        _, _status, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0
        seconds = time.monotonic() - clock
        stop.set()
        sampler.join()
        shutil.rmtree(tmp, ignore_errors=True)
        measured.invocations += 1
        measured.longest = max(measured.longest, seconds)
        measured.cpu += usage.ru_utime + usage.ru_stime
        measured.peak_tmp = max(measured.peak_tmp, peak[0])
        measured.peak_rss = max(measured.peak_rss, usage.ru_maxrss * 1024)
        answer = json.loads(out or b"{}")
        if "run_report_unfinished" in answer:
            measured.outcomes.append("unfinished")
            continue
        measured.outcomes += [r.get("outcome", "?") for r in answer.get("runs", [])] or ["?"]
        break
    measured.wall = time.monotonic() - started
    return measured


def main() -> None:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log

    parser = argparse.ArgumentParser(prog="python -m bench.run_complete")
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--tree", type=Path, action="append", help="a source tree (repeat)")
    parser.add_argument("--runs", type=int, default=1, help="runs per tree, interleaved")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds per invocation")
    args = parser.parse_args()
    trees = args.tree or [ROOT]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    marker = _store(s3, args.pages)
    results: dict[str, list[Measured]] = {str(t): [] for t in trees}
    for n in range(args.runs):
        for tree in trees if n % 2 == 0 else list(reversed(trees)):
            _reset(s3)
            m = _run(tree.resolve(), endpoint, marker, args.budget)
            results[str(tree)].append(m)
            print(f"{tree}: {m.invocations} invocation(s), {m.outcomes[-1]}; longest"
                  f" {m.longest:.1f} s,"
                  f" wall {m.wall:.1f} s, CPU {m.cpu:.1f} s, peak /tmp {m.peak_tmp / 1e6:.1f} MB,"
                  f" peak RSS {m.peak_rss / 1e6:.0f} MB", flush=True)  # fmt: skip
    load = os.getloadavg()
    print(f"{args.pages} pages, budget {args.budget:.0f} s, load average "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")  # fmt: skip
    for tree, ms in results.items():
        print(f"{tree}: median longest {statistics.median(m.longest for m in ms):.1f} s, "
              f"CPU {statistics.median(m.cpu for m in ms):.1f} s, "
              f"peak /tmp {statistics.median(m.peak_tmp for m in ms) / 1e6:.1f} MB, "
              f"peak RSS {statistics.median(m.peak_rss for m in ms) / 1e6:.0f} MB, "
              f"invocations {statistics.median(m.invocations for m in ms):.0f}")  # fmt: skip
    server.stop()


if __name__ == "__main__":
    main()
