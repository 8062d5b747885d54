"""The screenshot half of ``python -m bench.changes``: each pair is measured in a fresh
interpreter (``python -m bench.changes_visual BEFORE AFTER RUNS`` prints one JSON line), so its
peak RSS is its own."""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VISUAL_CASES: dict[str, dict[str, Any]] = {
    "identical": {},
    "banner 57 px + price": {"banner": 57, "price": "$59"},
    "block of 200 px removed": {"drop_block": True},
}


def median_p95(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _visual_child(before_path: str, after_path: str, runs: int) -> None:
    """Runs in a fresh interpreter on two stored captures: prints one JSON line of timings and
    memory. RSS is taken once the encoded bytes are loaded, so the peak above it is the diff's
    own (decoding included)."""
    from analyzer_lambda.changes.visual_diff import diff_screenshots

    before, after = Path(before_path).read_bytes(), Path(after_path).read_bytes()
    base_kb = _rss_kb()
    walls, cpus = [], []
    diff = None
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        diff = diff_screenshots(before, after)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    assert diff is not None
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        "wall": statistics.median(walls),
        "cpu": statistics.median(cpus),
        "peak_mb": peak_kb / 1024,
        "above_inputs_mb": (peak_kb - base_kb) / 1024,
        "fraction": diff.changed_fraction,
        "regions": [list(box) for box in diff.regions],
        "bytes": [len(before), len(after)],
    }
    print(json.dumps(result))


def _rss_kb() -> int:
    with Path("/proc/self/statm").open() as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _measure(before: bytes, after: bytes, runs: int, work: Path) -> dict[str, Any]:
    (work / "before").write_bytes(before)
    (work / "after").write_bytes(after)
    out = subprocess.run(
        [sys.executable, "-m", "bench.changes_visual",
         str(work / "before"), str(work / "after"), str(runs)],
        capture_output=True, text=True, check=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def bench_visual(runs: int, mixed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The fixed 1280 x 15,000 cases, then ``mixed`` pairs of workload heights (3,000-15,000
    px, JPEG) with a random edit each."""
    import tempfile

    from bench.screenshot_pairs import Edits, screenshot_pair

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-changes-") as tmp:
        work = Path(tmp)
        for fmt in ("JPEG", "PNG"):
            for case, edits in VISUAL_CASES.items():
                before, after = screenshot_pair(15_000, Edits(**edits), fmt)
                rows.append({"format": fmt, "case": case, **_measure(before, after, runs, work)})
        rng = random.Random(7)
        cpus, peaks = [], []
        for seed in range(mixed):
            height = rng.randrange(3_000, 15_001, 500)
            change = rng.choice(
                [Edits(), Edits(banner=rng.randint(20, 140)), Edits(price="$59"),
                 Edits(drop_block=True), Edits(banner=41, price="$19")]
            )  # fmt: skip
            before, after = screenshot_pair(height, change, "JPEG", seed=seed)
            result = _measure(before, after, 1, work)
            cpus.append(result["cpu"])
            peaks.append(result["above_inputs_mb"])
    median, p95 = median_p95(cpus)
    return rows, {"pairs": mixed, "cpu_median": median, "cpu_p95": p95, "peak_max": max(peaks)}


if __name__ == "__main__":
    _visual_child(sys.argv[1], sys.argv[2], int(sys.argv[3]))
