"""The crawl benchmark's results: one approach's measured run (``Outcome``), several rounds
pooled (``combine``), and the Markdown table and ratios that ``python -m bench.crawl`` prints and
records in ``bench/RESULTS.md``."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field

CORES = os.cpu_count() or 1
_LABELS = {
    "rivalscope": "rivalscope (Selenium pool, Scrapy)",
    "playwright": "scrapy-playwright, 4 concurrent",
    "baseline": "new Chrome per URL, 5 threads",
    "before": "rivalscope, the --against tree",
}


@dataclass
class Outcome:
    name: str
    pages: int = 0
    failed: int = 0
    complete: int = 0
    wall: float = 0.0
    process_wall: float = 0.0
    render_ms: list[float] = field(default_factory=list)
    peak_pss: int = 0
    pss_by_hundred: list[int] = field(default_factory=list)
    breakdown_by_hundred: list[str] = field(default_factory=list)
    pss_breakdown: str = ""
    cpu_by_kind: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    stored_bytes: int = 0
    load: tuple[float, float] = (0.0, 0.0)
    note: str = ""
    # Sites whose lazy image (beyond Chromium's look-ahead) the crawl fetched, of the sites that
    # have one: the site's own request log, since a missed lazy image leaves the page's height.
    lazy_fetched: int = 0
    lazy_expected: int = 0

    round: int = 0

    @property
    def label(self) -> str:
        if self.round < 0:
            return f"{_LABELS[self.name]}, all rounds"
        return _LABELS[self.name] + (f", round {self.round}" if self.round else "")

    @property
    def pages_per_min(self) -> float:
        return self.pages / self.wall * 60 if self.wall else 0.0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.render_ms) if self.render_ms else 0.0


def combine(runs: list[Outcome]) -> Outcome:
    """One approach over several rounds: pooled throughput, all render times, worst PSS."""
    total = Outcome(runs[0].name, round=-1)
    for run in runs:
        total.pages += run.pages
        total.failed += run.failed
        total.complete += run.complete
        total.wall += run.wall
        total.process_wall += run.process_wall
        total.render_ms += run.render_ms
        if run.peak_pss > total.peak_pss:
            total.peak_pss, total.pss_breakdown = run.peak_pss, run.pss_breakdown
        total.cpu_seconds += run.cpu_seconds
        for kind, seconds in run.cpu_by_kind.items():
            total.cpu_by_kind[kind] = total.cpu_by_kind.get(kind, 0.0) + seconds
        total.stored_bytes += run.stored_bytes
        total.lazy_fetched += run.lazy_fetched
        total.lazy_expected += run.lazy_expected
    total.load = (runs[0].load[0], runs[-1].load[1])
    total.note = "; ".join(run.note for run in runs if run.note)
    return total


def _mb(value: float) -> str:
    return f"{value / 2**20:,.0f}"


def table(outcomes: list[Outcome]) -> str:
    lines = [
        (
            "| approach | pages/min | median ms/page | peak PSS MB | CPU s/page "
            "| CPU-bound pages/min | KB/page stored | complete shots | lazy images fetched "
            "| load 1-min (start→end) | process wall s |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        if o.note.startswith(("not run", "exit")) and not o.pages:
            lines.append(f"| {o.label} | {o.note} |||||||||||")
            continue
        per_page = o.stored_bytes / o.pages / 1024 if o.pages else 0
        cpu = o.cpu_seconds / o.pages if o.pages else 0
        ceiling = CORES * 60 / cpu if cpu else 0
        lines.append(
            f"| {o.label} | {o.pages_per_min:.1f} | {o.median_ms:,.0f} | "
            f"{_mb(o.peak_pss)} | {cpu:.2f} | {ceiling:.0f} | {per_page:,.0f} | "
            f"{o.complete}/{o.pages + o.failed}{f' ({o.failed} failed)' if o.failed else ''} | "
            f"{o.lazy_fetched}/{o.lazy_expected} | "
            f"{o.load[0]:.1f}→{o.load[1]:.1f} | {o.process_wall:.0f} |"
        )
    return "\n".join(lines)


def ratios(outcomes: list[Outcome]) -> list[str]:
    by_name = {o.name: o for o in outcomes if o.pages}
    lines = []
    for a, b, goal in (
        ("rivalscope", "playwright", 2.0),
        ("rivalscope", "before", None),
        ("rivalscope", "baseline", 4.0),
        ("playwright", "baseline", None),
    ):
        if a in by_name and b in by_name and by_name[b].pages_per_min:
            ratio = by_name[a].pages_per_min / by_name[b].pages_per_min
            target = f" (goal ≥ {goal}×: {'met' if ratio >= goal else 'NOT met'})" if goal else ""
            first, second = by_name[a], by_name[b]
            cpu_ratio = (second.cpu_seconds / second.pages) / (first.cpu_seconds / first.pages)
            lines.append(
                f"- pages/min {a} ÷ {b}: **{ratio:.2f}×**{target}; CPU-bound: {cpu_ratio:.2f}×"
            )
    lines.append(
        "- CPU-bound pages/min = cores × 60 ÷ CPU s/page: the rate the tree's measured CPU "
        "cost allows on otherwise idle cores, independent of other users' load"
    )
    lines.append(
        "- median ms/page is time inside the download handler: rivalscope's includes waiting "
        "for a free browser of its pool; the baseline's is Chrome start to quit"
    )
    for o in outcomes:
        if o.pss_breakdown:
            lines.append(f"- {o.label}, PSS MB at the peak by process kind: {o.pss_breakdown}")
        if o.cpu_by_kind and o.pages:
            cpu = ", ".join(f"{k} {v / o.pages:.2f}" for k, v in o.cpu_by_kind.items() if v)
            lines.append(f"- {o.label}, CPU s per page by process kind: {cpu}")
        if o.pss_by_hundred:
            steps = ", ".join(_mb(v) for v in o.pss_by_hundred)
            lines.append(f"- {o.name} peak PSS MB per 100 pages: {steps}")
        for number, breakdown in enumerate(o.breakdown_by_hundred, start=1):
            lines.append(f"  - pages {number * 100 - 99}–{number * 100}, at the peak: {breakdown}")
    return lines
