"""The run-complete step's ``changes.jsonl`` and digest (issue #13): the same files as
``python -m analyzer_lambda.report`` writes, made once per run by the invocation that holds the
run's claim, so that the notification can carry the digest and ``reports/`` has it.

A comparison that S3 cannot finish costs the run its changes and digest (a warning says so),
never its report or ``run.json``: the run's data matters more than its summary."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from analyzer_lambda.exceptions import CorruptChunkError, StoreError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from analyzer_lambda.digest.model import Digest
    from analyzer_lambda.report.rows import ReportRow
    from analyzer_lambda.work import Deps
    from rivalscope_core.keys import ChunkRef, RunRef
    from rivalscope_core.records import ResultRecord

logger = logging.getLogger(__name__)


def write_run_digest(
    s3: S3Client,
    run: RunRef,
    chunks: Sequence[ChunkRef],
    results: Sequence[ResultRecord],
    rows: Sequence[ReportRow],
    out: Path,
    deps: Deps,
) -> Digest | None:
    """``changes.jsonl``, ``digest.md`` and ``digest.json`` into ``out``; the digest, or None
    when the comparison failed."""
    from analyzer_lambda.changes.reuser import load_rule_set
    from analyzer_lambda.changes.rules import ChangeRulesError
    from analyzer_lambda.digest.build import digest_of_report
    from analyzer_lambda.digest.cache import S3DigestCache
    from analyzer_lambda.report.changes import write_changes

    config = deps.config
    try:
        rule_set = load_rule_set(config.change_rules, s3, config.pages_bucket)
        # each page with its own prompt: no one schema (as ``report`` without ``--prompt``)
        write_changes(s3, chunks, results, out, rule_set=rule_set,
                      text_tokens=config.text_tokens)  # fmt: skip
    except (StoreError, ClientError, BotoCoreError, CorruptChunkError, ChangeRulesError) as exc:
        logger.warning("run %s: changes.jsonl and digest.md not written: %s", run.uri, exc)
        return None
    return digest_of_report(run.time, rows, out, config, cache=S3DigestCache(s3, run))
