"""The digest of a run, from its change records to ``digest.md`` and ``digest.json``: the one
edge of the package (it may call Gemini and it writes files). ``report`` and the run-complete
step both come through ``build_digest`` + ``write_digest``.

Gemini writes it when a key is set (``GEMINI_API_KEY``, or the secret or parameter in AWS) and
there is something for a model to summarise; a run with no change, or whose only news is pages
we could not crawl, needs no model call. When Gemini fails, the deterministic digest is written
and says why, and ``digest.json`` still carries the tokens the failed calls spent."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import TYPE_CHECKING, Any

from analyzer_lambda.digest.gemini import DigestWriterError, gemini_digest
from analyzer_lambda.digest.markdown import to_markdown
from analyzer_lambda.digest.offline import deterministic_digest, newsworthy, run_state
from analyzer_lambda.digest.phrases import offline_language
from analyzer_lambda.digest.rank import PageFacts, rank_changes, tally
from analyzer_lambda.exceptions import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from analyzer_lambda.config import Config
    from analyzer_lambda.digest.cache import DigestCache
    from analyzer_lambda.digest.model import Digest
    from analyzer_lambda.report.rows import ReportRow

logger = logging.getLogger(__name__)

DIGEST_MD = "digest.md"
DIGEST_JSON = "digest.json"


def facts_from_rows(rows: Iterable[ReportRow]) -> dict[str, PageFacts]:
    """Competitor, title and error type of each page of the report, by requested URL."""
    facts: dict[str, PageFacts] = {}
    for row in rows:
        page = row.page
        error = row.wall or page.error
        facts.setdefault(
            page.url,
            PageFacts(page.url, row.competitor, page.title, error.type if error else None),
        )
    return facts


def read_change_records(path: Path) -> list[dict[str, Any]]:
    """``changes.jsonl`` as records; no file (``--no-compare``, a failed comparison) is none."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _with_key(config: Config) -> tuple[Config, str | None]:
    """``config`` with the Gemini key read from AWS when only its secret or parameter is set;
    the reason when it cannot be read (the digest falls back, the run's data is not lost)."""
    if config.gemini_api_key or not config.has_key_source:
        return config, None
    from analyzer_lambda.deps import resolve_api_key

    try:
        return config.replace(gemini_api_key=resolve_api_key(config)), None
    except ConfigurationError as exc:
        return config, str(exc)


def build_digest(
    run: str, records: Iterable[Mapping[str, Any]], facts: Mapping[str, PageFacts],
    config: Config, cache: DigestCache | None = None,
) -> Digest:  # fmt: skip
    records = list(records)
    changes = rank_changes(records, facts)
    counts = tally(records, facts)
    state = run_state(changes, counts)
    wanted = newsworthy(changes, state)
    language = config.digest_language
    config, key_problem = _with_key(config)
    for_a_model = any(c.kind not in ("blocked", "failed") for c in wanted)
    if key_problem is not None and for_a_model:
        logger.warning("digest: %s; writing the deterministic digest", key_problem)
        return _checked_language(
            deterministic_digest(run, changes, counts, language, fallback=key_problem)
        )
    if not config.gemini_api_key or not for_a_model:
        return _checked_language(deterministic_digest(run, changes, counts, language))
    try:
        return gemini_digest(run, wanted, counts, state, config, cache)
    except DigestWriterError as exc:
        logger.warning("digest: Gemini failed (%s); writing the deterministic digest", exc)
        fallback = deterministic_digest(run, changes, counts, language, fallback=exc.reason)
        return dataclasses.replace(
            _checked_language(fallback), model=config.gemini_model, usage=exc.usage,
            calls=exc.calls, reused_from=exc.reused_from,
        )  # fmt: skip


def _checked_language(digest: Digest) -> Digest:
    if offline_language(digest.requested_language)[1]:
        logger.warning(
            "DIGEST_LANGUAGE=%s: the offline digest speaks en and ja only; written in English",
            digest.requested_language,
        )
    return digest


def digest_of_report(
    run: str, rows: Iterable[ReportRow], out_dir: Path, config: Config, *, compared: bool = True,
    cache: DigestCache | None = None, records: Iterable[Mapping[str, Any]] | None = None,
) -> Digest | None:  # fmt: skip
    """The report's hook: the digest of the run's change ``records`` (default: read back from
    ``out_dir/changes.jsonl``), written beside them. Without a comparison (``--no-compare``, or
    one S3 could not finish) there is no digest, rather than one claiming nothing changed."""
    if not compared:
        for name in (DIGEST_MD, DIGEST_JSON):  # never last run's digest beside this report
            (out_dir / name).unlink(missing_ok=True)
        return None
    if records is None:
        records = read_change_records(out_dir / "changes.jsonl")
    digest = build_digest(run, records, facts_from_rows(rows), config, cache)
    write_digest(digest, out_dir)
    return digest


def write_digest(digest: Digest, out_dir: Path) -> None:
    """``digest.md`` and ``digest.json`` into ``out_dir``."""
    (out_dir / DIGEST_MD).write_text(to_markdown(digest), encoding="utf-8")
    (out_dir / DIGEST_JSON).write_text(
        json.dumps(digest.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
