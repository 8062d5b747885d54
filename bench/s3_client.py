"""What building an S3 client costs (``python -m bench.s3_client [--append]``): why
``rivalscope_core.s3`` callers build one client per process and keep it.

Each round is a fresh interpreter that imports boto3 (not timed), then times
``make_s3_client()`` twice: the first build loads botocore's service model and endpoint rules,
the second reuses what the first loaded. Medians of 5 rounds, wall and CPU seconds; no network
(building a client opens no socket). ``--append`` adds the table to bench/RESULTS.md."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.results import publish

ROOT = Path(__file__).resolve().parents[1]
_ROUND = """
import time
import boto3
from rivalscope_core.s3 import make_s3_client
for _ in range(2):
    t, c = time.perf_counter(), time.process_time()
    make_s3_client()
    print(time.perf_counter() - t, time.process_time() - c)
"""


def _rounds(count: int) -> list[list[float]]:
    """``[first wall, first CPU, next wall, next CPU]`` per round."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_DEFAULT_REGION": "us-east-1"}
    rounds = []
    for _ in range(count):
        out = subprocess.run([sys.executable, "-c", _ROUND], capture_output=True, text=True,
                             check=True, cwd=ROOT, env=env).stdout  # fmt: skip
        rounds.append([float(value) for value in out.split()])
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    rounds = _rounds(5)
    first_wall, first_cpu, next_wall, next_cpu = (
        statistics.median(r[i] for r in rounds) for i in range(4)
    )
    load = os.getloadavg()[0]
    report = "\n".join(
        [
            "## S3 client",
            "",
            f"Command: `python -m bench.s3_client`; 2 cores, load average {load:.0f}.",
            "",
            "| `make_s3_client()` | wall s | CPU s (median of 5 fresh interpreters) |",
            "|---|---|---|",
            f"| first in the process | {first_wall:.2f} | {first_cpu:.2f} |",
            f"| the next one | {next_wall:.2f} | {next_cpu:.2f} |",
        ]
    )
    publish(report, append=args.append)


if __name__ == "__main__":
    main()
