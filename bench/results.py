"""Where every benchmark's tables go: the console, and with ``--append``/``--record`` the end of
``bench/RESULTS.md``, beside the command that produced them."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def publish(report: str, *, append: bool) -> None:
    print(report)
    if append:
        if not RESULTS.exists():
            RESULTS.write_text("# Benchmark results\n", encoding="utf-8")
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write("\n" + report + "\n")
