"""Model calls and cost of a second identical run (``python -m bench.changes_reuse [--append]
[--pages N]``; goal: 0 calls), and what reuse costs the analyser instead.

A moto server and the fake Gemini server (``bench.analyzer``'s environment); the same ``--pages``
pages of the crawl workload (``bench/workload.py``, with 1280 px JPEG screenshots drawn by
``bench/screenshot_pairs``) stored as one chunk in each of three runs: the second identical, the
third with one price changed. Each run goes through the analyser's own ``analyze_chunk`` with
reuse on; the first run again with ``ANALYZER_REUSE=false`` as the baseline.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUNS = ("2026-11-01T06-00-00", "2026-11-08T06-00-00", "2026-11-15T06-00-00")
_PRICE = re.compile(r"\$(\d+)/mo")


def _records(pages: int, *, change_price: bool) -> list[str]:
    from bench.screenshot_pairs import screenshot_pair
    from bench.workload import build_workload

    workload = build_workload(pages)
    shot, _ = screenshot_pair(4_000)
    screenshot = {"format": "jpeg", "width": 1280, "height": 4_000,
                  "data": base64.b64encode(shot).decode()}  # fmt: skip
    lines = []
    changed = not change_price
    for site in workload.sites:
        for page in site.pages:
            html = page.html.decode("utf-8")
            if not changed and _PRICE.search(html):  # the first page with a price
                html, changed = _PRICE.sub(lambda m: f"${int(m[1]) + 10}/mo", html, count=1), True
            record = {"url": f"https://{site.host}{page.path}", "status": 200, "body": html,
                      "crawled_at": "2026-11-01T06:00:00Z", "screenshot": screenshot}  # fmt: skip
            lines.append(json.dumps(record))
    assert changed, "no page with a price to change"
    return lines


def _analyse(env: Any, run: str, lines: list[str], spider: str = "competitors") -> dict[str, Any]:
    from analyzer_lambda.config import Config
    from analyzer_lambda.deps import build_deps
    from analyzer_lambda.work import Deadline, analyze_chunk
    from rivalscope_core.keys import ChunkRef

    key = f"raw/{spider}/{run}/items.0000000.jl.gz"
    env.s3.put_object(Bucket=env.bucket, Key=key, Body=gzip.compress("\n".join(lines).encode()))
    deps = build_deps(Config.from_env(os.environ))
    calls = env.gemini.calls
    started, cpu = time.perf_counter(), time.process_time()
    outcome = analyze_chunk(ChunkRef(env.bucket, key), deps, Deadline.after(3600))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert outcome.complete, outcome
    return {"calls": env.gemini.calls - calls, "wall": wall, "cpu": cpu,
            "input_tokens": outcome.usage.input_tokens}  # fmt: skip


def _row(label: str, r: dict[str, Any]) -> str:
    return f"| {label} | {r['calls']} | {r['input_tokens']:,} | {r['wall']:.1f} | {r['cpu']:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--pages", type=int, default=60)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.analyzer import _Env

    same, changed = (
        _records(args.pages, change_price=False),
        _records(args.pages, change_price=True),
    )
    with _Env() as env:
        env.gemini.reset()
        os.environ["ANALYZER_CONCURRENCY"] = "4"
        os.environ["ANALYZER_REUSE"] = "false"
        baseline = _analyse(env, RUNS[0], same, spider="baseline")  # its own archive
        os.environ["ANALYZER_REUSE"] = "true"
        rows = [
            (run, _analyse(env, run, lines))
            for run, lines in zip(RUNS, [same, same, changed], strict=True)
        ]
    load = os.getloadavg()[0]
    labels = {
        RUNS[0]: "first run",
        RUNS[1]: "second, identical",
        RUNS[2]: "third, one price changed",
    }
    lines = [
        "## Changes: model calls of a second identical run",
        "",
        (
            f"Command: `python -m bench.changes_reuse` ({time.strftime('%Y-%m-%d %H:%M')} UTC, "
            f"load average {load:.1f}); {args.pages} workload pages with 1280 x 4,000 JPEG "
            "screenshots, the fake Gemini server and moto; goal: 0 calls for the identical run."
        ),
        "",
        "| run | model calls | input tokens | wall s | CPU s (this process) |",
        "|---|---|---|---|---|",
        _row("first run, ANALYZER_REUSE=false (its own archive)", baseline),
    ]
    lines += [_row(labels[run], r) for run, r in rows]
    out = "\n".join([*lines, ""])
    print(out)
    if args.append:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as results:
            results.write("\n" + out)


if __name__ == "__main__":
    main()
