"""What a run's notification is made of, read from its report folder in S3
(``reports/{spider}/{run}/{prompt id or own-prompts}/``, beside ``run.json``): ``digest.md``
(the digest engineer's; absent, the message carries counts only), ``changes.jsonl`` (the
counts), ``results.jsonl`` (where the top change's page is) and the screenshot crops under
``changes/`` (the top change's first "after" crop is attached). All S3 reads go through
``Store``; what is missing is left out, never an error, except a folder holding no report."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer_lambda.exceptions import StoreError
from analyzer_lambda.notify.message import Counts, count_changes
from rivalscope_core.keys import chunk_stem

if TYPE_CHECKING:
    from collections.abc import Iterator

    from analyzer_lambda.store import Store

logger = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")  # as report.source names a page's screenshots
# a change the reader can see in a crop, most telling first
_TOP_ORDER = ("changed", "new", "removed")


@dataclass(frozen=True)
class RunFacts:
    run_id: str
    report_key: str  # the folder's report.html
    digest: str | None
    counts: Counts
    top_url: str | None  # the page of the top change
    crop: Path | None  # its screenshot crop, downloaded


class NoReportError(Exception):
    """The folder holds no report: the run is not complete, or the prompt is not the run's."""


@contextlib.contextmanager
def read_facts(store: Store, bucket: str, prefix: str, run_id: str) -> Iterator[RunFacts]:
    """The facts of the report folder ``prefix``; the crop lives in a temporary directory
    while the caller is inside the ``with``."""
    status = _json(store, bucket, f"{prefix}run.json") or {}
    if not store.exists(bucket, f"{prefix}report.html"):
        state = status.get("status") or "no run.json"
        raise NoReportError(f"no report at s3://{bucket}/{prefix} (run: {state})")
    digest = _text(store, bucket, f"{prefix}digest.md")
    changes = _lines(store, bucket, f"{prefix}changes.jsonl")
    blocked = int((status.get("counts") or {}).get("blocked", 0))
    if changes is None:
        tally = status.get("counts") or {}
        counts = Counts(failed=int(tally.get("failed", 0)), blocked=blocked, known=False)
    else:
        counts = count_changes(changes, blocked_fallback=blocked)
    top = _top_url(_json(store, bucket, f"{prefix}digest.json"), changes or [])
    with tempfile.TemporaryDirectory(prefix="rivalscope-notify-") as work:
        crop = _crop(store, bucket, prefix, top, Path(work)) if top else None
        yield RunFacts(run_id, f"{prefix}report.html", digest, counts, top, crop)


def _top_url(digest: Any, changes: list[dict[str, Any]]) -> str | None:
    """The digest's first point's page (it ranks them), else the first changed, new or
    removed page of ``changes.jsonl``, the one whose screenshot changed most first."""
    if isinstance(digest, dict):
        for name in ("points", "changes", "items"):
            points = digest.get(name)
            if isinstance(points, list) and points and isinstance(points[0], dict):
                url = points[0].get("url")
                if isinstance(url, str) and url:
                    return url
    ranked = sorted(
        (r for r in changes if r.get("status") in _TOP_ORDER),
        key=lambda r: (
            _TOP_ORDER.index(str(r["status"])),
            -float(((r.get("visual") or {}).get("changed_fraction")) or 0.0),
        ),
    )
    return str(ranked[0]["url"]) if ranked else None


def _crop(store: Store, bucket: str, prefix: str, url: str, work: Path) -> Path | None:
    """The first "after" crop of ``url``'s page (``changes/{chunk stem}-{line}-1.after.webp``
    as the report's crops are named), found through ``results.jsonl``; None without one."""
    rows = _lines(store, bucket, f"{prefix}results.jsonl") or []
    names = [
        _SAFE_NAME.sub("-", f"{chunk_stem(str(r['chunk']))}-{r['line']}")
        for r in rows
        if r.get("url") == url and r.get("chunk") and r.get("line")
    ]
    if not names:
        return None
    try:
        keys = sorted(store.existing_keys(bucket, f"{prefix}changes/"))
    except StoreError as exc:
        logger.warning("no crop attached: %s", exc)
        return None
    for name in names:
        for key in keys:
            file = key.rsplit("/", 1)[-1]
            if file.startswith(f"{name}-") and file.endswith(".after.webp"):
                path = work / file
                try:
                    path.write_bytes(store.read_bytes(bucket, key))
                except StoreError as exc:
                    logger.warning("no crop attached: %s", exc)
                    return None
                return path
    return None


def _text(store: Store, bucket: str, key: str) -> str | None:
    if not store.exists(bucket, key):
        return None
    return store.read_text(bucket, key)


def _json(store: Store, bucket: str, key: str) -> Any:
    text = _text(store, bucket, key)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        logger.warning("s3://%s/%s is not JSON; ignored", bucket, key)
        return None


def _lines(store: Store, bucket: str, key: str) -> list[dict[str, Any]] | None:
    text = _text(store, bucket, key)
    if text is None:
        return None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            logger.warning("s3://%s/%s line %d is not JSON; ignored", bucket, key, number)
            continue
        if isinstance(record, dict):
            records.append(record)
    return records
