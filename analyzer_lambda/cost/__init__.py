"""The cost ledger (issue #14, SPEC.md "Cost ledger"): what a run cost, from measurements.

``prices`` is the one dated price table (``RIVALSCOPE_PRICES_FILE`` overrides it), ``runtime``
the analyser's per-chunk Lambda record, ``measure`` reads what the ledger prices from S3,
``ledger`` prices it (pure), ``section`` renders the report's Cost section (pure), and
``write_cost`` — called by ``python -m analyzer_lambda.report`` and by the run-complete step,
which share the report's writing code — puts ``cost.json`` beside the report's other files."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from analyzer_lambda.cost.ledger import TaskSize, build_ledger
from analyzer_lambda.cost.measure import measure
from analyzer_lambda.cost.section import render_cost_section

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from analyzer_lambda.config import Config
    from analyzer_lambda.cost.ledger import Ledger
    from analyzer_lambda.cost.prices import PriceTable
    from rivalscope_core.keys import ChunkRef, RunRef
    from rivalscope_core.records import ResultRecord

COST_FILE = "cost.json"


def task_size(config: Config) -> TaskSize:
    return TaskSize(config.crawl_task_cpu, config.crawl_task_memory,
                    config.crawl_task_architecture)  # fmt: skip


def write_cost(
    s3: S3Client,
    run: RunRef,
    results: list[ResultRecord],
    chunks: Iterable[ChunkRef],
    *,
    pages: int,
    prices: PriceTable,
    config: Config,
    out_dir: Path,
    prompt_id: str,
    generated_at: str,
) -> tuple[Ledger, str]:
    """Measure and price the run of ``results`` (one report's), write ``out_dir/cost.json``
    and return the ledger and the report's Cost section. Reads ``out_dir/digest.json`` when
    the digest was written first."""
    measured = measure(s3, run, results, list(chunks), pages, out_dir)
    ledger = build_ledger(measured, prices, task_size(config), run=run.uri, prompt_id=prompt_id,
                          generated_at=generated_at)  # fmt: skip
    text = json.dumps(ledger.to_dict(), indent=1, ensure_ascii=False)
    (out_dir / COST_FILE).write_text(text + "\n", encoding="utf-8")
    return ledger, render_cost_section(ledger)
