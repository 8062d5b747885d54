"""``python -m bench.tall_capture [--heights H,...] [--repeat N] [--format F] [--against TREE]``:
what a page taller than one capture costs (issue #16, "flat" memory): one browser on loopback,
``crawler.browser.screenshot.full_page`` of a text page ``H`` px tall (sections of text and
coloured boxes, a fixed CSS height each), taken ``N`` times a height.

Each tree (this one, and ``--against TREE`` interleaved round by round, ABBA) runs in a child
process of its own (its own venv's python, ``PYTHONPATH`` = the tree) with its own browser. Per
capture the child reports:

- ``py peak``: the rise of the python process's peak RSS (``VmHWM``, reset through
  ``/proc/self/clear_refs`` just before) over its RSS before: python's transient;
- ``tree rise``: the highest PSS of the whole tree (python, chromedriver, Chromium), sampled
  every 20 ms by a thread, over its level just before (``bench/pss.py``'s ``tree_pss``);
- ``py CPU``: CPU seconds of the thread that calls ``full_page`` (the sampler excluded), and
  ``browser CPU``: of chromedriver and Chromium;
- the screenshot's format, size and a digest of its bytes: two trees that make the same pixels
  with the same encoder give the same digest.

Medians per tree and height are printed at the end, with the load average."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_WORDS = ("plan", "seats", "usage", "billing", "annual", "monthly", "team", "enterprise")
SECTION = 500


def tall_page(height: int) -> bytes:
    """A text page exactly ``height`` px tall: 500 px sections of text, one coloured box each."""
    sections = []
    for i in range(height // SECTION):
        words = " ".join(_WORDS[(i * 7 + j) % len(_WORDS)] for j in range(260))
        colour = f"hsl({i * 37 % 360},60%,{70 + i % 3 * 8}%)"
        sections.append(
            f'<section style="height:{SECTION}px;overflow:hidden">'
            f"<h2>Section {i}</h2><p>{words}</p>"
            f'<div style="width:{200 + i % 5 * 150}px;height:80px;background:{colour}"></div>'
            "</section>"
        )
    rest = height - len(sections) * SECTION
    sections.append(f'<div style="height:{rest}px;background:#000"></div>')
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>tall</title><style>"
        "html,body{margin:0;padding:0;font:15px/1.5 sans-serif}section{padding:0 24px}"
        "</style></head><body>" + "".join(sections) + "</body></html>"
    ).encode()


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _child(url_base: str, heights: list[int], repeat: int, fmt: str) -> None:
    import psutil
    from scrapy.settings import Settings

    from bench.pss import tree_pss
    from crawler.browser import screenshot
    from crawler.browser.config import SeleniumConfig
    from crawler.browser.session import BrowserSession
    from tests.project_settings import project_settings_dict

    try:  # as the crawler does at start (crawler/malloc.py), where the tree has it
        from crawler.malloc import fix_mmap_threshold

        fix_mmap_threshold()
    except ImportError:
        pass
    config = SeleniumConfig.from_settings(Settings(project_settings_dict()))
    browser = BrowserSession.start(config)
    me = psutil.Process()
    try:
        for height in heights:
            browser.driver.get(f"{url_base}/{height}")
            browser.driver.execute_script("window.scrollTo(0, 0)")
            for _ in range(repeat):
                print(
                    json.dumps(
                        _measure(browser.driver, me, fmt, config, screenshot, tree_pss)
                        | {"height": height}
                    ),
                    flush=True,
                )
    finally:
        browser.quit()
    print(json.dumps({"module": screenshot.__file__}), flush=True)


def _measure(
    driver: Any, me: Any, fmt: str, config: Any, screenshot: Any, tree_pss: Any
) -> dict[str, Any]:
    from bench.pss import tree_cpu

    def others_cpu() -> float:
        return tree_cpu(me, include_root=False)

    time.sleep(0.5)  # the last capture's memory back
    level = tree_pss(me)[0]
    peak = [level]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_pss(me)[0])
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    rss = _rss_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    browser_cpu, py_cpu, wall = others_cpu(), time.thread_time(), time.monotonic()
    sampler.start()
    shot = screenshot.full_page(
        driver, fmt, config.screenshot_quality, config.max_screenshot_height
    )
    py_cpu, wall = time.thread_time() - py_cpu, time.monotonic() - wall
    hwm = _rss_kb("VmHWM")
    done.set()
    sampler.join()
    return {
        "py_peak_mb": (hwm - rss) / 1024,
        "tree_rise_mb": (peak[0] - level) / 2**20,
        "py_cpu": py_cpu,
        "browser_cpu": others_cpu() - browser_cpu,
        "wall": wall,
        "shot": f"{shot.format} {shot.width}x{shot.height} {len(shot.data) // 1024} KB b64",
        "digest": hashlib.sha256(shot.data.encode()).hexdigest()[:12],
    }


def _run_tree(
    tree: Path, url_base: str, heights: list[int], repeat: int, fmt: str
) -> list[dict[str, Any]]:
    python = tree / ".venv" / "bin" / "python"
    env = {**os.environ, "PYTHONPATH": str(tree), "SE_OFFLINE": "true", "SE_AVOID_STATS": "true"}
    command = [
        str(python),
        str(Path(__file__).resolve()),
        "--child",
        url_base,
        "--heights",
        ",".join(map(str, heights)),
        "--repeat",
        str(repeat),
        "--format",
        fmt,
    ]
    out = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"{tree}: exit {out.returncode}\n{out.stderr[-3000:]}")
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    module = next(r["module"] for r in rows if "module" in r)
    if not module.startswith(str(tree)):
        raise RuntimeError(f"{tree} ran {module}")
    return [r for r in rows if "height" in r]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tall_capture", description=__doc__)
    parser.add_argument("--heights", default="12000,16000,24000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="children per tree, interleaved")
    parser.add_argument("--format", default="jpeg")
    parser.add_argument("--against", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    heights = [int(h) for h in args.heights.split(",")]
    if args.child:
        _child(args.child, heights, args.repeat, args.format)
        return
    from rivalscope_local.static_site import SiteServer, answer

    server = SiteServer().start()
    for height in heights:
        server.route(f"/tall/{height}", answer(tall_page(height)))
    trees = [ROOT, *([args.against.resolve()] if args.against else [])]
    rows: dict[str, list[dict[str, Any]]] = {str(t): [] for t in trees}
    loads = [os.getloadavg()[0]]
    try:
        for round_ in range(args.rounds):
            for tree in trees if round_ % 2 == 0 else trees[::-1]:
                got = _run_tree(tree, server.url("/tall"), heights, args.repeat, args.format)
                rows[str(tree)].extend(got)
                loads.append(os.getloadavg()[0])
                for row in got:
                    print(tree.name, json.dumps(row), file=sys.stderr)
    finally:
        server.stop()
    print(
        f"load 1-min {' → '.join(f'{v:.1f}' for v in loads)}; medians of "
        f"{args.rounds * args.repeat} captures a height; format {args.format}"
    )
    columns = "py peak MB | tree rise MB | py CPU s | browser CPU s | wall s | shot | digests"
    print(f"| tree | height | {columns} |")
    print("|---|---|---|---|---|---|---|---|---|")
    for tree, got in rows.items():
        for height in heights:
            mine = [r for r in got if r["height"] == height]
            med = {
                k: statistics.median(r[k] for r in mine)
                for k in ("py_peak_mb", "tree_rise_mb", "py_cpu", "browser_cpu", "wall")
            }
            digests = ",".join(sorted({r["digest"] for r in mine}))
            print(
                f"| {Path(tree).name} | {height} | {med['py_peak_mb']:.0f} | "
                f"{med['tree_rise_mb']:.0f} | {med['py_cpu']:.2f} | {med['browser_cpu']:.2f} | "
                f"{med['wall']:.2f} | {mine[0]['shot']} | {digests} |"
            )


if __name__ == "__main__":
    main()
