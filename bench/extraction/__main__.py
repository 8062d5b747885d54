"""``python -m bench.extraction [--corpus DIR] [--only NAME ...] [--limit N] [--append]``.

Every contender on every page of the pinned corpus, in one run; the tables give per-page means
and percentiles, for the whole corpus and for each source (see metrics.py for how recall is
computed), and are appended to bench/RESULTS.md with ``--append``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.extraction.contenders import CONTENDERS
from bench.extraction.corpus import CorpusError, Page, corpus_dir, read_pages
from bench.extraction.metrics import page_shingles, score
from bench.results import publish

if TYPE_CHECKING:
    from collections import Counter
    from collections.abc import Sequence


@dataclass(frozen=True)
class _Result:
    page: Page
    scores: dict[str, float]
    chars: int
    cpu_s: float


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _run(name: str, pages: list[Page], reach: list[Counter[tuple[str, ...]]]) -> list[_Result]:
    extract = CONTENDERS[name]
    results = []
    for page, reachable in zip(pages, reach, strict=True):
        started = time.process_time()
        try:
            text = extract(page.html)
        except Exception as exc:  # noqa: BLE001 - a crashing extractor scores zero, visibly
            print(f"  {name} failed on {page.id}: {exc!r}", file=sys.stderr)
            text = ""
        cpu = time.process_time() - started
        results.append(_Result(page, score(page.truth, text, reachable), len(text), cpu))
    return results


def _row(name: str, results: list[_Result]) -> str:
    def col(key: str) -> list[float]:
        return [r.scores[key] for r in results]

    chars = [r.chars for r in results]
    zero = sum(1 for r in results if r.scores["recall_4"] == 0)
    return (
        f"| {name} | {statistics.mean(col('recall_4')):.3f} "
        f"| {statistics.mean(col('reachable_4')):.3f}, {_quantile(col('reachable_4'), 0.1):.3f} "
        f"| {statistics.mean(col('word_recall')):.3f}, {_quantile(col('word_recall'), 0.1):.3f} "
        f"| {statistics.mean(col('precision_4')):.3f} "
        f"| {statistics.median(chars):,.0f}, {_quantile(chars, 0.9):,.0f} | {zero} "
        f"| {statistics.median(r.cpu_s for r in results) * 1000:.0f} |"
    )


def _tables(runs: dict[str, list[_Result]], pages: list[Page]) -> str:
    groups: dict[str, list[int]] = {"all pages": list(range(len(pages)))}
    for i, page in enumerate(pages):
        groups.setdefault(page.source, []).append(i)
        if page.kind in ("product", "service", "listing", "collection"):
            groups.setdefault("product, service, listing pages", []).append(i)
    lines = []
    for group, index in groups.items():
        truth = statistics.median(len(pages[i].truth) for i in index)
        lines += [
            f"**{group}**: {len(index)} pages, ground truth median {truth:,.0f} characters.",
            "",
            (
                "| extractor | 4-gram recall | reachable 4-gram recall (mean, p10) "
                "| word recall (mean, p10) | 4-gram precision | chars sent (median, p90) "
                "| pages at zero | CPU ms/page |"
            ),
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [_row(name, [results[i] for i in index]) for name, results in runs.items()]
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus",
        help="corpus directory (default: $RIVALSCOPE_CORPUS_DIR, else "
        "../shared/corpus/extraction/ beside the repository)",
    )
    parser.add_argument("--only", nargs="*", choices=sorted(CONTENDERS), help="contenders")
    parser.add_argument("--limit", type=int, help="first N pages only (a quick look)")
    parser.add_argument("--worst", type=int, default=0, help="list each one's N worst pages")
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args(argv)
    try:
        pages = list(read_pages(corpus_dir(args.corpus), args.limit))
    except CorpusError as exc:
        print(f"bench.extraction: {exc}", file=sys.stderr)
        return 2
    reach = [page_shingles(page.html) for page in pages]
    runs = {name: _run(name, pages, reach) for name in (args.only or CONTENDERS)}
    report = _tables(runs, pages)
    publish(report, append=args.append)
    for name, results in runs.items():
        worst = sorted(results, key=lambda r: r.scores["reachable_4"])[: args.worst]
        for r in worst:
            print(f"  worst {name}: {r.page.id} {r.scores['reachable_4']:.3f} {r.chars}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
