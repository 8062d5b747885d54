"""What one ``GET /runs/{run}`` costs (``python -m bench.frontdoor [--pages 200] [--append]``):
why ``FrontStore`` keeps the results it has read (they are written once and never change).

A moto server on loopback (the local endpoint of ``make serve``) holds a finished run of
``--pages`` result records, its shard marker, ``run.json`` and report files. The front door
answers ``GET /runs/{run}`` 7 times in a fresh process: the first answer reads every result
(the cache is empty: the baseline), the next ones list the keys and read only new results.
Medians of the warm answers against the cold one, wall seconds, plus ``GET /runs`` (20 runs,
no results read)."""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from datetime import UTC, datetime

from analyzer_lambda.frontdoor.app import FrontDoor
from analyzer_lambda.frontdoor.auth import hash_key
from analyzer_lambda.frontdoor.config import ApiConfig
from analyzer_lambda.frontdoor.http import Request
from analyzer_lambda.frontdoor.status import LaunchState
from analyzer_lambda.frontdoor.store import FrontStore, record_key
from analyzer_lambda.frontdoor.throttle import Throttle
from bench.results import publish
from rivalscope_core.addresses import AddressPolicy
from rivalscope_core.keys import ChunkRef, RunRef, analysis_key, marker_key, report_prefix
from rivalscope_core.markers import ShardMarker
from rivalscope_core.records import ResultRecord
from rivalscope_local.endpoint import LocalEndpoint

KEY = "rs_bench"
PROMPT_ID = "bench-0000abcd"


class _Running:
    def start(self, launch: object) -> dict[str, str]:
        return {}

    def state(self, run: str, record: dict[str, object]) -> LaunchState:
        return LaunchState("running")


def _store_run(store: FrontStore, run: str, pages: int) -> None:
    s3, bucket = store.s3, store.bucket
    ref = RunRef(bucket, "competitors", run)
    chunk = ChunkRef(bucket, f"{ref.raw_prefix}items.0000000.jl.gz")
    store.claim_run({"prompt": {"name": "bench", "prompt_id": PROMPT_ID}}, _at(run))
    marker = ShardMarker(
        run=run, spider="competitors", shard_index=0, shard_count=1, chunks=[chunk.key],
        pages=pages, errors=0, started_at="", ended_at="", exit_code=0, cpu_seconds=1.0,
        peak_memory_bytes=1,
    )  # fmt: skip
    s3.put_object(Bucket=bucket, Key=marker_key(ref, 0, 1), Body=marker.to_json())
    for line in range(1, pages + 1):
        result = ResultRecord(
            url=f"https://site{line}.example/pricing", final_url=None, crawled_at="",
            chunk=chunk.uri, line=line, prompt_id=PROMPT_ID, model="m", analyzer="extract",
            analysis={"summary": "x" * 400, "prices": [{"amount": line}] * 5},
        )  # fmt: skip
        key = analysis_key(chunk, line, PROMPT_ID, "m")
        s3.put_object(Bucket=bucket, Key=key, Body=result.to_json().encode())
    prefix = report_prefix(ref, PROMPT_ID)
    for name in ("run.json", "report.html"):
        s3.put_object(Bucket=bucket, Key=prefix + name, Body=b'{"status": "done"}')


def _at(run: str) -> datetime:
    return datetime.strptime(run, "%Y-%m-%dT%H-%M-%S").replace(tzinfo=UTC)


def _timed(front: FrontDoor, path: str) -> float:
    headers = {"authorization": f"Bearer {KEY}", "host": "bench"}
    started = time.perf_counter()
    answer = front.handle(Request("GET", path, headers=headers))
    assert answer.status == 200, answer.body
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    with LocalEndpoint() as endpoint:
        s3 = endpoint.s3()
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)
        store = FrontStore(s3, bucket)
        runs = [f"2026-12-01T10-00-{second:02d}" for second in range(20)]
        _store_run(store, runs[0], args.pages)
        for run in runs[1:]:
            store.claim_run({"prompt": {"name": "bench", "prompt_id": PROMPT_ID}}, _at(run))
        assert s3.head_object(Bucket=bucket, Key=record_key(runs[0]))
        front = FrontDoor(
            config=ApiConfig(pages_bucket=bucket, key_hashes=(hash_key(KEY),)),
            store=store, launcher=_Running(), policy=AddressPolicy(),
            digests=lambda: (hash_key(KEY),), starts=Throttle(60, 10),
            reads=Throttle(6000, 1000),
        )  # fmt: skip
        times = [_timed(front, f"/runs/{runs[0]}") for _ in range(7)]
        listing = statistics.median(_timed(front, "/runs") for _ in range(5))
    cold, warm = times[0], statistics.median(times[1:])
    load = os.getloadavg()[0]
    report = "\n".join(
        [
            "## Front door: GET /runs/{run}",
            "",
            (
                f"Command: `python -m bench.frontdoor --pages {args.pages}`; moto on loopback, "
                f"2 cores, load average {load:.0f}."
            ),
            "",
            "| request | wall s | ratio to the cold answer |",
            "|---|---|---|",
            (
                f"| `GET /runs/{{run}}`, {args.pages} pages, first (reads every result) | "
                f"{cold:.2f} | 1.00 |"
            ),
            (
                f"| the same, median of the next 6 (results cached) | {warm:.2f} | "
                f"{warm / cold:.2f} |"
            ),
            f"| `GET /runs`, 20 runs (median of 5; no results read) | {listing:.2f} | — |",
        ]
    )
    publish(report, append=args.append)


if __name__ == "__main__":
    main()
