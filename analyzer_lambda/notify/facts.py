"""What a run's notification is made of, read from its report folder: in S3
(``reports/{spider}/{run}/{prompt id or own-prompts}/``, beside ``run.json``; ``S3Folder``) or
the report command's output directory (``make run``'s ``out/<run>/``; ``LocalFolder``):
``digest.md`` (absent, the message carries counts only), ``changes.jsonl`` (the counts),
``results.jsonl`` (where the top change's page is) and the screenshot crops under ``changes/``
(the top change's first "after" crop is attached). S3 reads go through ``Store``; what is
missing is left out, never an error, except a folder holding no report."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from analyzer_lambda.exceptions import StoreError
from analyzer_lambda.notify.message import Counts, count_changes
from rivalscope_core.keys import chunk_stem

if TYPE_CHECKING:
    from collections.abc import Iterator

    from analyzer_lambda.store import Store

logger = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")  # as report.source names a page's screenshots
_CROP = re.compile(r".+-1\.after\.(?:jpg|jpeg|png|webp)")  # a page's first "after" crop
# a change the reader can see in a crop, most telling first
_TOP_ORDER = ("changed", "new", "removed")


class ReportFolder(Protocol):
    """A report folder's files by relative name (``digest.md``, ``changes/x-1.after.jpg``)."""

    def read(self, name: str) -> bytes | None:
        """The file's bytes, None when it is not there."""

    def names(self, folder: str) -> list[str]:
        """The names of the files under ``folder`` (``changes/``)."""


class S3Folder:
    def __init__(self, store: Store, bucket: str, prefix: str) -> None:
        self._store, self._bucket, self._prefix = store, bucket, prefix

    def read(self, name: str) -> bytes | None:
        key = f"{self._prefix}{name}"
        return (
            self._store.read_bytes(self._bucket, key)
            if self._store.exists(self._bucket, key)
            else None
        )

    def names(self, folder: str) -> list[str]:
        keys = self._store.existing_keys(self._bucket, f"{self._prefix}{folder}")
        return sorted(key[len(self._prefix) :] for key in keys)


class LocalFolder:
    def __init__(self, path: Path) -> None:
        self._path = path

    def read(self, name: str) -> bytes | None:
        path = self._path / name
        return path.read_bytes() if path.is_file() else None

    def names(self, folder: str) -> list[str]:
        base = self._path / folder
        found = base.rglob("*") if base.is_dir() else iter(())
        return sorted(p.relative_to(self._path).as_posix() for p in found if p.is_file())


@dataclass(frozen=True)
class RunFacts:
    run_id: str
    digest: str | None
    counts: Counts
    top_url: str | None  # the page of the top change
    crop: Path | None  # its screenshot crop, as a local file


class NoReportError(Exception):
    """The folder holds no report: the run is not complete, or the prompt is not the run's."""


@contextlib.contextmanager
def read_facts(folder: ReportFolder, run_id: str, where: str) -> Iterator[RunFacts]:
    """The facts of ``folder`` (``where`` names it in errors); the crop lives in a temporary
    directory while the caller is inside the ``with``."""
    status = _json(folder, "run.json") or {}
    if folder.read("report.html") is None:
        state = status.get("status") or "no run.json"
        raise NoReportError(f"no report at {where} (run: {state})")
    digest_bytes = folder.read("digest.md")
    digest = digest_bytes.decode("utf-8") if digest_bytes is not None else None
    changes = _lines(folder, "changes.jsonl")
    blocked = int((status.get("counts") or {}).get("blocked", 0))
    if changes is None:
        tally = status.get("counts") or {}
        counts = Counts(failed=int(tally.get("failed", 0)), blocked=blocked, known=False)
    else:
        counts = count_changes(changes, blocked_fallback=blocked)
    top = _top_url(_json(folder, "digest.json"), changes or [])
    with tempfile.TemporaryDirectory(prefix="rivalscope-notify-") as work:
        crop = _crop(folder, top, Path(work)) if top else None
        yield RunFacts(run_id, digest, counts, top, crop)


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


def _crop(folder: ReportFolder, url: str, work: Path) -> Path | None:
    """The first "after" crop of ``url``'s page (``changes/{chunk stem}-{line}-1.after.jpg``
    as the report's crops are named, whatever the image format), found through
    ``results.jsonl``; None without one."""
    rows = _lines(folder, "results.jsonl") or []
    names = [
        _SAFE_NAME.sub("-", f"{chunk_stem(str(r['chunk']))}-{r['line']}")
        for r in rows
        if r.get("url") == url and r.get("chunk") and r.get("line")
    ]
    if not names:
        return None
    try:
        files = folder.names("changes/")
        for name in names:
            for file in files:
                base = file.rsplit("/", 1)[-1]
                if _CROP.fullmatch(base) and base.startswith(f"{name}-"):
                    data = folder.read(file)
                    if data is None:
                        continue
                    (work / base).write_bytes(data)
                    return work / base
    except (StoreError, OSError) as exc:
        logger.warning("no crop attached: %s", exc)
    return None


def _json(folder: ReportFolder, name: str) -> Any:
    data = folder.read(name)
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        logger.warning("%s is not JSON; ignored", name)
        return None


def _lines(folder: ReportFolder, name: str) -> list[dict[str, Any]] | None:
    data = folder.read(name)
    if data is None:
        return None
    records = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            logger.warning("%s line %d is not JSON; ignored", name, number)
            continue
        if isinstance(record, dict):
            records.append(record)
    return records
