"""Re-analysis of archived pages, interactive against the Gemini Batch API
(``python -m bench.batch [--pages 1000] [--runs 3] [--append]``).

What is measured is this side's overhead only: the fake Gemini server answers at once (the
model's own latency is Google's, and a batch job's turnaround is up to 24 h by Google's terms),
so the figures are the time and CPU ``reanalyze`` spends reading chunks, building requests,
claiming pages, talking HTTP and writing results. Everything is real otherwise: a moto server
for S3, the fake Gemini REST server over loopback HTTP reached through google-genai, and the
command's own ``main``. Each run gets fresh buckets holding the same pages (one per mode).

The cost lines multiply the plan's token estimate (what ``--dry-run`` prints) by the built-in
price table: standard rates for the interactive calls, ``Price.batch_cost`` for the batch."""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HTML = (ROOT / "tests" / "data" / "pages" / "pricing.html").read_text(encoding="utf-8")
PAGES_PER_CHUNK = 100
RUN = "raw/competitors/2026-11-23T00-00-00/"
PROMPT = "---\nname: bench-batch\n---\nList every plan and price on this page.\n"
MODEL = "gemini-2.5-flash"


def _screenshot(seed: int) -> dict[str, Any]:
    """A 1280 x 3,000 page with blocks of 'text': a realistic JPEG size, not a flat colour."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (1280, 3000), "white")
    draw = ImageDraw.Draw(image)
    for _ in range(400):
        x, y = rng.randrange(0, 1200), rng.randrange(0, 2980)
        draw.rectangle((x, y, x + rng.randrange(20, 300), y + 12), fill=(40, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    import base64

    data = base64.b64encode(buffer.getvalue()).decode()
    return {"format": "jpeg", "width": 1280, "height": 3000, "data": data}


def _chunks(pages: int) -> list[tuple[str, bytes]]:
    shots = [_screenshot(n) for n in range(8)]
    chunks = []
    for offset in range(0, pages, PAGES_PER_CHUNK):
        lines = []
        for n in range(offset, min(pages, offset + PAGES_PER_CHUNK)):
            url = f"https://site{n % 20}.example/p{n}"
            lines.append(json.dumps({
                "url": url, "final_url": url, "status": 200,
                "crawled_at": "2026-11-23T00:00:05Z", "body": HTML, "title": f"page {n}",
                "screenshot": shots[n % len(shots)], "prompt": None, "error": None,
            }))  # fmt: skip
        key = f"{RUN}items.{offset:07d}.jl.gz"
        chunks.append((key, gzip.compress(("\n".join(lines) + "\n").encode())))
    return chunks


class _Bench:
    def __init__(self, pages: int) -> None:
        from tests.servers.gemini import GeminiServer
        from tests.servers.moto import MotoServer

        self.moto = MotoServer().start()
        self.gemini = GeminiServer().start()
        os.environ.update(
            AWS_ENDPOINT_URL=self.moto.endpoint, AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - moto accepts any credentials
            AWS_DEFAULT_REGION="us-east-1", GOOGLE_GEMINI_BASE_URL=self.gemini.base_url,
            GEMINI_API_KEY="bench", GEMINI_MODEL=MODEL, ANALYZER_STOP_MARGIN="0",
            ANALYZER_REUSE="false",
        )  # fmt: skip
        from rivalscope_core.s3 import make_s3_client

        self.s3 = make_s3_client()
        self.chunks = _chunks(pages)
        self.prompt = Path(tempfile.mkdtemp()) / "bench-batch.md"
        self.prompt.write_text(PROMPT, encoding="utf-8")

    def close(self) -> None:
        self.gemini.stop()
        self.moto.stop()

    def bucket(self) -> str:
        name = f"bench-{uuid.uuid4().hex[:10]}"
        self.s3.create_bucket(Bucket=name)
        for key, body in self.chunks:
            self.s3.put_object(Bucket=name, Key=key, Body=body)
        return name

    def command(self, bucket: str, *args: str, key: str = "") -> tuple[float, float, str]:
        """Wall and CPU seconds of one ``reanalyze`` in this process (of the run, or of the
        chunk ``key``), and its stderr."""
        from analyzer_lambda.reanalyze.__main__ import main

        err = io.StringIO()
        argv = [f"s3://{bucket}/{key or RUN}", "--prompt", str(self.prompt), "--yes", *args]
        wall, cpu = time.perf_counter(), time.process_time()
        with contextlib.redirect_stderr(err):
            code = main(argv)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if code != 0:
            raise RuntimeError(f"reanalyze {' '.join(args)} exited {code}:\n{err.getvalue()}")
        return wall, cpu, err.getvalue()

    def results(self, bucket: str) -> list[dict[str, Any]]:
        found = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix="analysis/"
        ):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith(".json"):
                    body = self.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                    found.append(json.loads(body))
        return found


def _estimate(stderr: str) -> tuple[int, int]:
    line = next(x for x in stderr.splitlines() if x.startswith("estimated tokens:"))
    numbers = [int(part.replace(",", "")) for part in line.split() if part[0].isdigit()]
    return numbers[0], numbers[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    load = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    bench = _Bench(args.pages)
    rows: dict[str, list[tuple[float, float]]] = {}
    tokens = (0, 0)
    jobs: list[tuple[str, int]] = []
    try:
        warm = bench.bucket()  # imports, clients, moto's first calls: one chunk of each mode
        bench.command(warm, "--via", "local", "--concurrency", "8", key=bench.chunks[0][0])
        bench.gemini.batch_states("PENDING", "SUCCEEDED")
        bench.command(warm, "--via", "batch", key=bench.chunks[1][0] if args.pages > 100 else "")
        for _ in range(args.runs):
            interactive, batch = bench.bucket(), bench.bucket()
            bench.gemini.reset()
            wall, cpu, err = bench.command(interactive, "--via", "local", "--concurrency", "8")
            rows.setdefault("interactive (`--via local --concurrency 8`)", []).append((wall, cpu))
            tokens = _estimate(err)
            assert bench.gemini.calls == args.pages
            bench.gemini.batch_states("PENDING", "SUCCEEDED")
            rows.setdefault("batch: submit (`--via batch`)", []).append(
                bench.command(batch, "--via", "batch")[:2]
            )
            jobs = [(job.source, len(job.requests)) for job in bench.gemini.batch_jobs]
            rows.setdefault("batch: collect (the same command again)", []).append(
                bench.command(batch, "--via", "batch")[:2]
            )
            rows.setdefault("batch: collect once more (nothing new)", []).append(
                bench.command(batch, "--via", "batch")[:2]
            )
            assert len(bench.results(batch)) == len(bench.results(interactive)) == args.pages
            assert bench.gemini.calls == args.pages  # the batch made no interactive call
    finally:
        bench.close()
    table = _table(args, f"started {started}, load average {load:.1f}", rows, tokens, jobs)
    print("\n".join(table))
    if args.append:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as out:
            out.write("\n" + "\n".join(table) + "\n")


def _table(
    args: argparse.Namespace, when: str, rows: dict[str, list[tuple[float, float]]],
    tokens: tuple[int, int], jobs: list[tuple[str, int]],
) -> list[str]:  # fmt: skip
    from analyzer_lambda.reanalyze.pricing import BUILTIN_PRICES

    price = BUILTIN_PRICES[MODEL]
    baseline = statistics.median(w for w, _ in next(iter(rows.values())))
    lines = [
        "## Re-analysis: interactive against the Gemini Batch API",
        "",
        (
            f"Command: `python -m bench.batch --pages {args.pages} --runs {args.runs}` "
            f"({when}); "
            f"{args.pages} archived pages in chunks of {PAGES_PER_CHUNK} (pricing.html and a "
            "1280 x 3,000 JPEG screenshot each) on the moto server; the fake Gemini answers at "
            "once, so this is our side's overhead only. Medians of the runs; CPU is this "
            "process's (moto runs in its own)."
        ),
        "",
        "| step | wall s | CPU s | ms a page | wall vs interactive |",
        "|---|---|---|---|---|",
    ]
    for name, samples in rows.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        lines.append(f"| {name} | {wall:.1f} | {cpu:.1f} | {1000 * wall / args.pages:.1f} | "
                     f"{wall / baseline:.2f}x |")  # fmt: skip
    kinds = ", ".join(f"{n} requests ({source})" for source, n in jobs)
    standard = price.cost(*tokens)
    lines += [
        "",
        f"Batch jobs of one submission: {len(jobs)} ({kinds}).",
        "",
        (
            f"| cost of the {args.pages} pages ({MODEL}, prices as of {price.as_of}; plan "
            f"estimate {tokens[0]:,} input + {tokens[1]:,} output tokens) | USD | per 1,000 |"
        ),
        "|---|---|---|",
        f"| interactive (standard rates) | {standard:.4f} | {1000 * standard / args.pages:.4f} |",
        (
            f"| Batch API (`Price.batch_cost`) | {price.batch_cost(*tokens):.4f} | "
            f"{1000 * price.batch_cost(*tokens) / args.pages:.4f} |"
        ),
    ]
    return lines


if __name__ == "__main__":
    main()
