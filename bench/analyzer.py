"""Analyser benchmark, side by side in one run (``python -m bench.analyzer [--append]``):

1. own overhead per page with a zero-latency model server (goal <= 50 ms);
2. pages/s with 1 s of model latency at concurrency 1, 4, 8 (goal ~ the concurrency);
3. input tokens per page after reduction vs raw HTML (goal >= 5x fewer, main text kept), and
   trafilatura 2.3.1 on the same pages for comparison;
4. cold import time of the handler module (goal <= 1 s) and of google-genai (paid on the first
   invocation, not at import).

Everything real: a moto server for S3, the fake Gemini REST server over loopback HTTP, the
analyser's own ``analyze_chunk``. ``--append`` adds the table to bench/RESULTS.md."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "tests" / "data" / "pages"
FACTS = {
    "pricing.html": ["Starter", "$9", "Team", "$29", "Enterprise", "$99", "non-profits"],
    "article.html": ["How we cut delivery times by 30%", "Section 7", "RouteCo"],
    "japanese.html": ["かんたん帳簿", "1,980円", "グッドデザイン賞"],
}


def _import_seconds(module: str, runs: int = 3) -> tuple[float, float]:
    """Median (wall, CPU) seconds to import ``module`` in a fresh interpreter."""
    code = (
        "import time; t, c = time.perf_counter(), time.process_time(); "
        f"import {module}; print(time.perf_counter() - t, time.process_time() - c)"
    )
    times, cpus = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        wall, cpu = out.stdout.split()
        times.append(float(wall))
        cpus.append(float(cpu))
    return statistics.median(times), statistics.median(cpus)


def _tokens() -> list[dict[str, Any]]:
    import trafilatura

    from analyzer_lambda.analyzers.gemini.text import estimate_tokens, reduce_html

    rows = []
    for name, facts in FACTS.items():
        html = (PAGES / name).read_text(encoding="utf-8")
        started = time.perf_counter()
        ours = reduce_html(html, 8000)
        ours_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        theirs = trafilatura.extract(html, favor_recall=True, include_tables=True) or ""
        theirs_ms = (time.perf_counter() - started) * 1000
        rows.append(
            {
                "page": name,
                "raw": estimate_tokens(html),
                "ours": ours.tokens,
                "ours_ms": ours_ms,
                "ours_kept": sum(f in ours.text for f in facts),
                "traf": estimate_tokens(theirs),
                "traf_ms": theirs_ms,
                "traf_kept": sum(f in theirs for f in facts),
                "facts": len(facts),
            }
        )
    return rows


class _Env:
    """A moto server, the fake Gemini server and the environment pointing at them."""

    def __enter__(self) -> Self:
        from tests.servers.gemini import GeminiServer
        from tests.servers.moto import MotoServer

        self.moto = MotoServer().start()
        self.gemini = GeminiServer().start()
        os.environ.update(
            AWS_ENDPOINT_URL=self.moto.endpoint,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - moto accepts any credentials
            AWS_DEFAULT_REGION="us-east-1",
            GOOGLE_GEMINI_BASE_URL=self.gemini.base_url,
            GEMINI_API_KEY="bench",
            ANALYZER="gemini",
            ANALYZER_STOP_MARGIN="0",
        )
        from rivalscope_core.s3 import make_s3_client

        self.s3 = make_s3_client()
        self.bucket = f"bench-{uuid.uuid4().hex[:8]}"
        self.s3.create_bucket(Bucket=self.bucket)
        return self

    def __exit__(self, *exc: object) -> None:
        self.gemini.stop()
        self.moto.stop()

    def chunk(self, pages: int, offset: int) -> Any:
        from rivalscope_core.keys import ChunkRef

        html = (PAGES / "pricing.html").read_text(encoding="utf-8")
        lines = [
            json.dumps({"url": f"https://e.test/{offset}/{n}", "body": html, "status": 200})
            for n in range(pages)
        ]
        key = f"raw/competitors/2026-11-23T00-00-00/items.{offset:07d}.jl.gz"
        self.s3.put_object(
            Bucket=self.bucket, Key=key, Body=gzip.compress("\n".join(lines).encode())
        )
        return ChunkRef(self.bucket, key)

    def run(self, pages: int, offset: int, concurrency: int, latency: float) -> float:
        """Wall seconds to analyse a fresh chunk of ``pages`` pages; ``self.cpu`` is this
        process's CPU seconds for it (ours, google-genai's, boto3's and the fake server's, not
        moto's, which runs in its own process)."""
        from analyzer_lambda.config import Config
        from analyzer_lambda.deps import build_deps
        from analyzer_lambda.work import Deadline, analyze_chunk

        self.gemini.reset(default=f"slow:{latency}" if latency else "ok")
        deps = build_deps(Config.from_env(os.environ, concurrency=concurrency))
        chunk = self.chunk(pages, offset)
        started, cpu = time.perf_counter(), time.process_time()
        outcome = analyze_chunk(chunk, deps, Deadline.after(3600))
        elapsed = time.perf_counter() - started
        self.cpu = time.process_time() - cpu
        assert outcome.done == pages, outcome
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    load = os.getloadavg()[0]
    lines = [
        "## Analyser",
        "",
        (
            f"Command: `python -m bench.analyzer`; 2 cores, load average {load:.0f} at the start "
            "(other engineers' jobs): wall times are inflated accordingly, CPU times less so."
        ),
        "",
    ]

    handler_s = _import_seconds("analyzer_lambda.handler")
    genai_s = _import_seconds("google.genai.types")
    lines += [
        "| cold import | wall s, CPU s (median of 3) | goal |",
        "|---|---|---|",
        f"| `analyzer_lambda.handler` | {handler_s[0]:.2f}, {handler_s[1]:.2f} | <= 1 |",
        f"| `google.genai` (on the first invocation) | {genai_s[0]:.2f}, {genai_s[1]:.2f} | - |",
        "",
    ]

    rows = _tokens()
    lines += [
        (
            "| page | raw HTML tokens | ours: tokens, ms, facts kept | trafilatura: tokens, ms, "
            "facts kept | ours vs raw |"
        ),
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['page']} | {r['raw']:,} | {r['ours']:,}, {r['ours_ms']:.0f} ms, "
        f"{r['ours_kept']}/{r['facts']} | {r['traf']:,}, {r['traf_ms']:.0f} ms, "
        f"{r['traf_kept']}/{r['facts']} | {r['raw'] / max(r['ours'], 1):.0f}x fewer |"
        for r in rows
    ]
    lines.append("")

    with _Env() as env:
        env.run(4, 900, 1, 0)  # warm up: imports, clients, moto's first bucket calls
        zero_c1 = env.run(20, 0, 1, 0) / 20
        cpu_c1 = env.cpu / 20
        zero_c8 = env.run(40, 20, 8, 0) / 40
        throughput = {}
        offset = 100
        for concurrency in (1, 4, 8):
            pages = 4 * concurrency
            throughput[concurrency] = pages / env.run(pages, offset, concurrency, 1.0)
            offset += pages
    lines += [
        "| model latency | concurrency | result | goal |",
        "|---|---|---|---|",
        (
            f"| 0 (own overhead) | 1 | {zero_c1 * 1000:.0f} ms/page wall, {cpu_c1 * 1000:.0f} ms "
            "CPU | <= 50 ms |"
        ),
        f"| 0 (own overhead) | 8 | {zero_c8 * 1000:.0f} ms/page (wall / pages) | - |",
    ]
    lines += [f"| 1 s | {c} | {rate:.2f} pages/s | ~{c} |" for c, rate in throughput.items()]
    lines.append("")
    from bench.results import publish

    publish("\n".join(lines), append=args.append)


if __name__ == "__main__":
    main()
