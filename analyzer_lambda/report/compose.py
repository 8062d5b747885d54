"""One report, composed once for both its writers — ``python -m analyzer_lambda.report`` and the
run-complete step (``runs.complete``): the run's changes are computed first (``report_changes``,
which also writes ``changes.jsonl`` and the crops), then they feed the report's sections
(``build_sections``), the digest first (``write_digest``: ``digest.md`` and ``digest.json``
made of ``report_changes``'s records, issue #13).

A comparison that S3 cannot complete costs ``changes.jsonl`` and the What changed section, not
the report: a warning says so."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from analyzer_lambda.exceptions import CorruptChunkError, StoreError
from analyzer_lambda.report.changes import compute_changes, write_changes_jsonl
from analyzer_lambda.report.changes_section import render_changes_section
from analyzer_lambda.report.html import ReportSections
from analyzer_lambda.report.side_by_side import render_side_by_side
from rivalscope_core.exit_codes import UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from analyzer_lambda.changes.rules import RuleSet
    from analyzer_lambda.config import Config
    from analyzer_lambda.digest.model import Digest
    from analyzer_lambda.report.change_model import RunChanges
    from analyzer_lambda.report.rows import ReportRow
    from rivalscope_core.keys import ChunkRef, RunRef
    from rivalscope_core.records import ResultRecord

logger = logging.getLogger("analyzer_lambda.report")


@dataclass(frozen=True)
class CompareWith:
    """How the run is compared: with each page's previous capture, or with ``against`` only;
    ``schema`` tells the answer diff what a field is; the noise rules of ``CHANGE_RULES``."""

    against: RunRef | None = None
    schema: dict[str, Any] | None = None
    rule_set: RuleSet | None = None
    text_tokens: int = 8000


def compare_settings(
    config: Config,
    s3: S3Client,
    *,
    against: RunRef | None = None,
    schema: dict[str, Any] | None = None,
) -> CompareWith:
    """The settings from the configuration (``CHANGE_RULES``, the text budget). Raises
    ``ChangeRulesError`` for rules that cannot be read, naming the variable."""
    from analyzer_lambda.changes.reuser import load_rule_set

    rule_set = load_rule_set(config.change_rules, s3, config.pages_bucket)
    return CompareWith(against, schema, rule_set, config.text_tokens)


def report_changes(
    s3: S3Client,
    chunks: Sequence[ChunkRef],
    results: Sequence[ResultRecord],
    out_dir: Path,
    settings: CompareWith | None,
) -> RunChanges | None:
    """The run's changes (and ``out_dir/changes.jsonl``); None with ``--no-compare``
    (``settings`` None) or when S3 could not complete the comparison."""
    if settings is None:
        return None
    try:
        changes = compute_changes(
            s3, chunks, results, out_dir, against=settings.against, schema=settings.schema,
            rule_set=settings.rule_set, text_tokens=settings.text_tokens,
        )  # fmt: skip
    except (StoreError, ClientError, BotoCoreError, CorruptChunkError) as exc:
        logger.warning("changes not compared (no changes.jsonl, no What changed): %s", exc)
        return None
    except UsageError:
        raise
    except (ValueError, KeyError, TypeError):  # a stored record of an unexpected shape
        logger.exception("changes not compared (no changes.jsonl, no What changed)")
        return None
    write_changes_jsonl(changes, out_dir)
    return changes


def write_digest(
    s3: S3Client, run: RunRef, rows: list[ReportRow], out_dir: Path, changes: RunChanges | None,
    config: Config,
) -> Digest | None:  # fmt: skip
    """``digest.md`` + ``digest.json`` of the run's changes into ``out_dir``; None without a
    comparison (no digest rather than one that claims nothing changed). A Gemini digest is
    paid once per run: ``S3DigestCache`` keeps it under the run's ``reports/``."""
    from analyzer_lambda.digest.build import digest_of_report
    from analyzer_lambda.digest.cache import S3DigestCache

    return digest_of_report(
        run.time, rows, out_dir, config, compared=changes is not None,
        cache=S3DigestCache(s3, run), records=changes.records if changes is not None else (),
    )  # fmt: skip


def build_sections(
    rows: list[ReportRow],
    changes: RunChanges | None,
    schema: dict[str, Any] | None,
    digest: Digest | None = None,
) -> ReportSections:
    """The digest, What changed (none without a comparison) and the side-by-side table; What
    changed links crops, so it is rendered for each ``asset_url`` (local files, presigned
    URLs)."""
    from analyzer_lambda.digest.section import digest_section

    return ReportSections(
        digest=digest_section(digest) if digest is not None else "",
        changes=partial(render_changes_section, changes, rows) if changes is not None else "",
        side_by_side=render_side_by_side(rows, changes, schema),
    )
