"""``python -m bench.report_memory bounded|unbounded [CHUNKS]``: the peak memory of a report's
comparison (``report.changes.compute_changes``, which the run-complete step runs inside a 1 GB
Lambda) over two runs of CHUNKS chunks of 20 pages, each with a 1280 x 6,000 px JPEG screenshot,
on a moto server in this process. ``unbounded`` is the baseline: every chunk of both runs kept
in memory, as before ``MAX_CACHED_CHUNKS``. Run each mode in its own process (peak RSS is the
process's); figures go to bench/RESULTS.md."""

from __future__ import annotations

import base64
import gzip
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

RUNS = ("2026-11-01T00-00-00", "2026-11-08T00-00-00")
PER_CHUNK = 20
BUCKET = "bench-report-memory"


def _peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    mode, chunks = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 15
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    s3 = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    from bench.screenshot_pairs import Edits, screenshot_pair

    shot = base64.b64encode(screenshot_pair(6_000, Edits())[0]).decode()
    for run in RUNS:
        for c in range(chunks):
            lines = [
                json.dumps({"url": f"https://a.example/{c}/{i}", "final_url": None, "status": 200,
                            "crawled_at": f"{run[:10]}T00:00:00Z", "title": "t", "prompt": None,
                            "body": f"<main><p>page {c} {i} {'text ' * 200}</p></main>",
                            "screenshot": {"format": "jpeg", "width": 1280, "height": 6_000,
                                           "data": shot}, "error": None})
                for i in range(PER_CHUNK)
            ]  # fmt: skip
            key = f"raw/competitors/{run}/items.{c * PER_CHUNK:07d}.jl.gz"
            s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress("\n".join(lines).encode()))
    from analyzer_lambda.changes import reuser
    from analyzer_lambda.report.changes import compute_changes
    from rivalscope_core.keys import ChunkRef

    if mode == "unbounded":
        reuser.MAX_CACHED_CHUNKS = 10**6
        reuser.ChunkReuse.forget = lambda self, chunk: None  # type: ignore[method-assign]
    before = _peak_mb()
    started = time.perf_counter()
    current = [
        ChunkRef(BUCKET, f"raw/competitors/{RUNS[1]}/items.{c * PER_CHUNK:07d}.jl.gz")
        for c in range(chunks)
    ]
    changes = compute_changes(s3, current, [], Path(tempfile.mkdtemp()))
    print(f"{mode}: {len(changes.records)} pages in {time.perf_counter() - started:.1f} s;"
          f" peak RSS {_peak_mb()} MB ({before} MB before the comparison)")  # fmt: skip
    server.stop()


if __name__ == "__main__":
    main()
