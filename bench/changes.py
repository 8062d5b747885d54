"""Change-detection benchmark (``python -m bench.changes [--append] [--pairs N] [--runs N]``).

1. The text diff (``analyzer_lambda.changes.text_diff.diff_text``, noise rules included) on
   ``--pairs`` page pairs made from the crawl workload's pages (``bench/workload.py``), reduced
   as the model reads them, each pair edited the way pages change between captures: nothing, a
   price, a date line, two reordered blocks, a rotating testimonial seen before, an inserted
   paragraph. Per-pair median and 95th percentile, and the Python heap peak (tracemalloc).
2. The line alignment libraries on one 6,000-line, ~380 KB text (shared/NOTES.md's size):
   difflib's SequenceMatcher, diff-match-patch in line mode, rapidfuzz's Indel opcodes.
3. The screenshot diff on 1280 x 15,000 px pairs drawn with Pillow (``bench/screenshot_pairs``):
   identical, a 57 px banner inserted at the top plus a price changed, a 200 px block removed;
   JPEG q80 (the crawler's format) and PNG. Each case runs in a fresh interpreter: wall and CPU
   time medians of ``--runs``, and the peak RSS above the process's RSS once the two encoded
   images are loaded (``ru_maxrss``), against the budget of 1 s and 500 MB a pair.

Everything is generated, deterministic for a seed, and local: no network, no S3.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench.changes_visual import median_p95

ROOT = Path(__file__).resolve().parents[1]
_QUOTES = [
    '"Acme cut our reporting time in half." — Jane Roe, CTO at Initech',
    '"The dashboards sold our board on day one." — Raj Patel, COO at Globex',
    '"Support answers within minutes." — Ana Lima, Head of Ops at Umbrella',
]
_PRICE = re.compile(r"\$(\d+)/mo")


def _workload_texts() -> list[str]:
    from analyzer_lambda.analyzers.gemini.text import reduce_html
    from bench.workload import build_workload

    workload = build_workload()
    pages = [page for site in workload.sites for page in site.pages]
    return [reduce_html(page.html.decode("utf-8"), 100_000).text for page in pages]


def _edit(text: str, kind: str, rng: random.Random) -> tuple[str, str]:
    """(before, after) of one page for an edit kind."""
    lines = [
        *text.splitlines(),
        "Starter $49/mo, billed monthly",
        _QUOTES[0],
        "Updated 3 hours ago",
    ]
    before = "\n".join(lines)
    after = list(lines)
    if kind == "price":
        index = rng.choice([i for i, line in enumerate(after) if _PRICE.search(line)])
        after[index] = _PRICE.sub(lambda m: f"${int(m[1]) + 10}/mo", after[index], count=1)
    elif kind == "date":
        after[-1] = "Updated 2 days ago"
    elif kind == "reorder" and len(after) > 6:
        a, b = sorted(rng.sample(range(len(after) - 2), 2))
        after[a], after[b] = after[b], after[a]
    elif kind == "rotation":
        after[-2] = _QUOTES[2]
    elif kind == "insert":
        after.insert(rng.randrange(len(after)), "New: annual billing saves 20% on every plan.")
    return before, "\n".join(after)


def bench_text(pairs: int) -> dict[str, Any]:
    from analyzer_lambda.changes.text_diff import diff_text, line_fingerprints

    texts = _workload_texts()
    rng = random.Random(12)
    kinds = ["none", "price", "date", "reorder", "rotation", "insert"]
    seen = line_fingerprints("\n".join(_QUOTES))
    cases = [_edit(texts[i % len(texts)], kinds[i % len(kinds)], rng) for i in range(pairs)]
    times: list[float] = []
    cpus: list[float] = []
    changed: dict[str, int] = dict.fromkeys(kinds, 0)
    for i, (before, after) in enumerate(cases):
        started, cpu = time.perf_counter(), time.process_time()
        diff = diff_text(before, after, seen=seen)
        times.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        changed[kinds[i % len(kinds)]] += diff.changed
    tracemalloc.start()  # a separate pass: tracing slows the timed one
    for before, after in cases[: len(kinds) * 10]:
        diff_text(before, after, seen=seen)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    median, p95 = median_p95(times)
    lines = [len(before.splitlines()) for before, _ in cases]
    return {
        "pairs": pairs,
        "median_ms": median * 1000,
        "p95_ms": p95 * 1000,
        "total_s": sum(times),
        "cpu_median_ms": statistics.median(cpus) * 1000,
        "cpu_total_s": sum(cpus),
        "peak_mb": peak / 2**20,
        "lines": statistics.median(lines),
        "changed": changed,
        "per_kind": {kind: len(range(i, pairs, len(kinds))) for i, kind in enumerate(kinds)},
    }


def bench_libraries(runs: int) -> dict[str, float]:
    import difflib

    import diff_match_patch
    from rapidfuzz.distance import Indel

    rng = random.Random(3)
    words = ["plan", "seats", "usage", "billing", "annual", "monthly", "team", "support", "api"]
    old = [" ".join(rng.choices(words, k=rng.randint(6, 14))) for _ in range(6000)]
    new = list(old)
    for i in range(0, len(new), 97):
        new[i] += " changed"
    new[1000:1000] = new[3000:3020]
    del new[4000:4010]
    dmp = diff_match_patch.diff_match_patch()
    dmp.Diff_Timeout = 0

    def via_dmp() -> None:
        a, b, _ = dmp.diff_linesToChars("\n".join(old) + "\n", "\n".join(new) + "\n")
        dmp.diff_main(a, b, False)

    candidates = {
        "difflib SequenceMatcher": lambda: difflib.SequenceMatcher(None, old, new).get_opcodes(),
        "diff-match-patch, line mode": via_dmp,
        "rapidfuzz Indel.opcodes": lambda: Indel.opcodes(old, new),
    }
    result = {"kb": len("\n".join(old).encode()) / 1024}
    for name, run in candidates.items():
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        result[name] = statistics.median(times) * 1000
    return result


def report(
    text: dict[str, Any],
    libs: dict[str, float],
    visual: list[dict[str, Any]],
    mixed: dict[str, Any],
) -> str:
    load = os.getloadavg()[0]
    stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    kinds = ", ".join(f"{k} {v}/{text['per_kind'][k]}" for k, v in text["changed"].items())
    lines = [
        "## Changes: text and screenshot diffs",
        "",
        (
            f"Command: `python -m bench.changes` ({stamp} UTC, 2 shared cores, load average "
            f"{load:.1f}: wall times are inflated by other jobs, CPU times less so)."
        ),
        "",
        (
            f"Text diff, {text['pairs']:,} workload page pairs (median {text['lines']:.0f} lines "
            f"a page): median {text['median_ms']:.2f} ms wall ({text['cpu_median_ms']:.2f} ms "
            f"CPU), p95 {text['p95_ms']:.2f} ms a pair, {text['total_s']:.2f} s wall and "
            f"{text['cpu_total_s']:.2f} s CPU in all, Python heap peak {text['peak_mb']:.1f} MB. "
            "Pairs "
            f"reported changed by edit: {kinds} (only price and insert are changes)."
        ),
        "",
        f"Line alignment of a 6,000-line, {libs['kb']:.0f} KB text (median):",
        "",
        "| library | ms |",
        "|---|---|",
    ]
    lines += [f"| {name} | {ms:.1f} |" for name, ms in libs.items() if name != "kb"]
    lines += [
        "",
        "Screenshot diff, 1280 x 15,000 px pairs (budget: 1 s and 500 MB a pair):",
        "",
        "| format | case | wall s | CPU s | peak RSS MB (above inputs) | changed, boxes |",
        "|---|---|---|---|---|---|",
    ]
    for row in visual:
        regions = "; ".join(str(r) for r in row["regions"][:3])
        lines.append(
            f"| {row['format']} ({row['bytes'][1] / 1024:,.0f} KB) | {row['case']} | "
            f"{row['wall']:.2f} | {row['cpu']:.2f} | {row['peak_mb']:.0f} "
            f"({row['above_inputs_mb']:.0f}) | {row['fraction']:.4f}, {regions or 'none'} |"
        )
    lines += [
        "",
        (
            f"{mixed['pairs']} JPEG pairs of workload heights (3,000-15,000 px, a random edit "
            f"each): CPU median {mixed['cpu_median']:.2f} s, p95 {mixed['cpu_p95']:.2f} s a "
            f"pair; largest peak above the inputs {mixed['peak_max']:.0f} MB."
        ),
    ]
    return "\n".join([*lines, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mixed", type=int, default=20, help="screenshot pairs of mixed heights")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.changes_visual import bench_visual

    visual, mixed = bench_visual(args.runs, args.mixed)
    out = report(bench_text(args.pairs), bench_libraries(args.runs), visual, mixed)
    print(out)
    if args.append:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as results:
            results.write("\n" + out)


if __name__ == "__main__":
    main()
