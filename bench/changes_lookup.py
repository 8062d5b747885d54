"""How long finding the previous captures takes against the archive's size
(``python -m bench.changes_lookup [--append] [--pages N] [--runs N]``).

A moto server (the S3 endpoint of the tests and of ``make run``) gets 10, then 100, then 1,000
runs of one spider, each one chunk of ``--pages`` pages with its manifest, as the analyser
leaves them. Then ``ManifestStore.history`` looks up every page of a new run: the previous
capture (depth 1) and the rotation memory (depth 5). Median wall time of ``--runs`` lookups and
the S3 requests of one, counted with botocore's event hook. Goal: flat.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPIDER = "competitors"
SIZES = (10, 100, 1000)


def _run_name(n: int) -> str:
    """Run ``n`` of an hourly schedule, named as scrapy-s3pipeline names runs."""
    return time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime(1_700_000_000 + n * 3600))


def _fill(s3: Any, bucket: str, runs: range, pages: int) -> None:
    from analyzer_lambda.changes.history import capture_of, rules_hash
    from analyzer_lambda.changes.manifests import ManifestStore
    from analyzer_lambda.changes.rules import ChangeRules
    from rivalscope_core.keys import ChunkRef

    rules = ChangeRules()
    store = ManifestStore(s3, bucket, SPIDER)
    for n in runs:
        run = _run_name(n)
        chunk = ChunkRef(bucket, f"raw/{SPIDER}/{run}/items.0000000.jl.gz")
        records, captures = [], []
        for page in range(pages):
            url = f"https://site{page % 7}.example/page/{page}"
            text = f"Plan {page}\nStarter ${20 + n % 9}/mo\nA line of text about page {page}"
            records.append(json.dumps({"url": url, "crawled_at": run, "body": text}))
            captures.append(capture_of(run, chunk.key, page + 1, url, run, text, rules))
        s3.put_object(
            Bucket=bucket, Key=chunk.key, Body=gzip.compress("\n".join(records).encode())
        )
        store.write(chunk, rules_hash(rules.signature), captures)  # as the analyser does


def _lookup(s3: Any, bucket: str, total: int, pages: int, depth: int, runs: int) -> dict[str, Any]:
    from analyzer_lambda.changes.manifests import ManifestStore

    store = ManifestStore(s3, bucket, SPIDER)
    urls = [f"https://site{page % 7}.example/page/{page}" for page in range(pages)]
    current = _run_name(total)

    def rebuild(chunk: Any) -> list[Any]:
        raise AssertionError(f"every manifest exists: {chunk.key} needed no rebuild")

    calls: list[str] = []

    def note(event_name: str, **_: Any) -> None:
        calls.append(event_name.rsplit(".", 1)[-1])

    times = []
    for attempt in range(runs):
        if attempt == 0:
            s3.meta.events.register("before-call.s3", note)
        started = time.perf_counter()
        history = store.history(current, urls, rebuild, "bench", depth=depth)
        times.append(time.perf_counter() - started)
        if attempt == 0:
            s3.meta.events.unregister("before-call.s3", note)
        assert all(len(found) == min(depth, total) for found in history.values())
    by_op = {op: calls.count(op) for op in sorted(set(calls))}
    return {"runs": total, "depth": depth, "ms": statistics.median(times) * 1000, "ops": by_op}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.servers.moto import MotoServer

    moto = MotoServer().start()
    try:
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=moto.endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 - moto accepts any credentials
        )
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)
        rows, filled = [], 0
        for total in SIZES:
            _fill(s3, bucket, range(filled, total), args.pages)
            filled = total
            rows += [_lookup(s3, bucket, total, args.pages, d, args.runs) for d in (1, 5)]
    finally:
        moto.stop()
    load = os.getloadavg()[0]
    lines = [
        "## Changes: finding the previous capture against the archive's size",
        "",
        (
            f"Command: `python -m bench.changes_lookup` ({time.strftime('%Y-%m-%d %H:%M')} UTC, "
            f"load average {load:.1f}); one spider, runs of one chunk of {args.pages} pages with "
            "their manifests on the moto server; every page of a new run looked up."
        ),
        "",
        "| runs in the archive | captures per page | median ms | S3 requests of one lookup |",
        "|---|---|---|---|",
    ]
    for row in rows:
        ops = ", ".join(f"{op} {count}" for op, count in row["ops"].items())
        lines.append(f"| {row['runs']:,} | {row['depth']} | {row['ms']:.0f} | {ops} |")
    out = "\n".join([*lines, ""])
    print(out)
    if args.append:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as results:
            results.write("\n" + out)


if __name__ == "__main__":
    main()
