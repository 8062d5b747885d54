"""Finding a page's previous capture without reading the archive (SPEC.md, Changes).

The previous capture of a page is the latest record of the same normalised URL (scheme and host
lower-case, default port and fragment dropped: ``page_key``) without ``error`` in an earlier run
of the same spider. A spider with 200 runs of 1,000 pages must not be re-read for it, so every
chunk gets a small **manifest** beside it::

    raw/{spider}/{run}/_manifest/{chunk stem}.manifest.json
    {"version": 1, "run": ..., "chunk": KEY, "rules": SIGNATURE_HASH,
     "pages": [{"url": PAGE_KEY, "line": 3, "crawled_at": ..., "error": false,
                "fingerprint": MODEL_INPUT_FINGERPRINT, "lines": [LINE_FINGERPRINT, ...]}]}

written by the analyser once every page of the chunk has a result (one PUT per chunk; rebuilt
from the chunk by whoever needs it first when missing), and the run list is one
``LIST raw/{spider}/ Delimiter=/`` (1,000 runs a page; run names are their start times, which
sort as text). Finding the previous captures of a chunk's pages then reads the manifests of the
runs before it, newest first, and stops as soon as every page has one (``find_previous``):
usually one earlier run, so the cost follows the pages of the two runs, whatever the archive's
size. Rotation memory (``text_diff``'s ``seen``) reads a fixed number of runs more
(``HISTORY_DEPTH``), still independent of the archive's size.

Why this is correct under duplicate and out-of-order events:

- **A manifest is a pure function of its chunk** (and of the rules signature and fingerprint
  version it records): raw chunks are immutable, the key is derived from the chunk's key, and
  nothing in it depends on other runs or on the order of analysis. A duplicate event rewrites
  the same bytes; two concurrent writers write the same bytes. Nothing to lock.
- **"Earlier" is decided by run names, never by arrival.** ``earlier_runs(runs, run)`` keeps
  the runs whose start time is before ``run``'s, so a re-analysis of last month's run compares
  with the run before *it*, not with today's, and a run analysed before its predecessor is
  finished still finds that predecessor.
- **A missing manifest is never trusted as "no page".** The reader lists the earlier run's
  chunks; a chunk without a manifest (its analysis has not run yet, or failed) is read and its
  manifest written then (``chunks_without_manifest``), at the cost of that run's pages. So an
  index that lags never turns a page into ``new``.
- **Duplicates inside a run** (the same URL in two chunks, a retried shard) resolve
  deterministically: the latest ``crawled_at`` without error, then the greater (chunk, line).
- **A manifest written under other rules** keeps its rules-free parts (URL, line, error, line
  fingerprints: ``ignore_text`` is applied when diffing, not when fingerprinting lines); only its
  model-input fingerprint is stale, and the reuse test reads the previous page then
  (``Capture.fingerprint_for``).

Pure: the S3 side lists and reads, this module decides.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from analyzer_lambda.changes.rules import ChangeRules
    from rivalscope_core.keys import ChunkRef, RunRef

MANIFEST_VERSION = 1
MANIFEST_DIR = "_manifest/"
MANIFEST_SUFFIX = ".manifest.json"
# Captures looked up per page: the previous one and four before it, whose lines are the
# rotation memory (a carousel of up to five variants is recognised).
HISTORY_DEPTH = 5
MAX_LOOKBACK_RUNS = 50  # a page missing from this many earlier runs in a row is "new"
_RUN_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def page_key(url: str) -> str:
    """SPEC.md's normalised URL: scheme and host lower-case, default port and fragment dropped
    (path and query kept as they are: they can name different pages)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def rules_hash(signature: str) -> str:
    return hashlib.sha256(signature.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Capture:
    """One stored page as its run's manifest remembers it."""

    run: str
    chunk: str  # the chunk's key
    line: int
    url: str  # page_key of the requested URL
    crawled_at: str
    error: bool
    fingerprint: str | None  # model-input fingerprint under ``rules``
    rules: str  # rules_hash of the rules the fingerprint was computed under
    lines: frozenset[str] = field(default_factory=frozenset)

    def fingerprint_for(self, rules: str) -> str | None:
        """The stored fingerprint when it was computed under these rules, else None (then
        recompute it from the page)."""
        return self.fingerprint if rules == self.rules else None

    def previous(self, bucket: str) -> dict[str, Any]:
        """SPEC.md's ``previous`` field of ``changes.jsonl``."""
        chunk = f"s3://{bucket}/{self.chunk}"
        return {"run": self.run, "chunk": chunk, "line": self.line, "crawled_at": self.crawled_at}


def capture_of(
    run: str,
    chunk: str,
    line: int,
    url: str,
    crawled_at: str,
    text: str | None,
    rules: ChangeRules,
    rules_id: str | None = None,
) -> Capture:
    """A page's manifest entry from its reduced text (None: the page failed); ``rules_id``
    names the rule set the page's ``rules`` came from (default: those rules alone)."""
    from analyzer_lambda.changes.text_diff import line_fingerprints, model_input_fingerprint

    return Capture(
        run=run,
        chunk=chunk,
        line=line,
        url=page_key(url),
        crawled_at=crawled_at,
        error=text is None,
        fingerprint=None if text is None else model_input_fingerprint(text, rules),
        rules=rules_id if rules_id is not None else rules_hash(rules.signature),
        lines=frozenset() if text is None else line_fingerprints(text),
    )


def manifest_prefix(run: RunRef) -> str:
    return f"{run.raw_prefix}{MANIFEST_DIR}"


def manifest_key(chunk: ChunkRef) -> str:
    return f"{manifest_prefix(chunk.run)}{chunk.stem}{MANIFEST_SUFFIX}"


def encode_manifest(run: str, chunk: str, rules: str, captures: Iterable[Capture]) -> bytes:
    pages = [
        {
            "url": c.url,
            "line": c.line,
            "crawled_at": c.crawled_at,
            "error": c.error,
            "fingerprint": c.fingerprint,
            "lines": sorted(c.lines),
        }
        for c in sorted(captures, key=lambda c: c.line)
    ]
    body = {"version": MANIFEST_VERSION, "run": run, "chunk": chunk, "rules": rules}
    return json.dumps({**body, "pages": pages}, separators=(",", ":")).encode("utf-8")


def decode_manifest(data: bytes) -> list[Capture]:
    """A manifest's captures; ``ValueError`` for one that is damaged or of another version (the
    caller then rebuilds it from its chunk)."""
    try:
        body = json.loads(data)
        if body.get("version") != MANIFEST_VERSION:
            raise ValueError(f"manifest version {body.get('version')!r}")
        run, chunk, rules = str(body["run"]), str(body["chunk"]), str(body["rules"])
        return [
            Capture(
                run=run,
                chunk=chunk,
                line=int(page["line"]),
                url=str(page["url"]),
                crawled_at=str(page["crawled_at"]),
                error=bool(page["error"]),
                fingerprint=page.get("fingerprint"),
                rules=rules,
                lines=frozenset(page.get("lines") or ()),
            )
            for page in body["pages"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"unreadable manifest: {exc}") from exc


def chunks_without_manifest(chunk_keys: Iterable[str], manifest_keys: Iterable[str]) -> list[str]:
    """Chunks of a run whose manifest is not written yet: read them rather than trust a gap."""
    have = {key.rsplit("/", 1)[-1].removesuffix(MANIFEST_SUFFIX) for key in manifest_keys}
    return [k for k in chunk_keys if k.rsplit("/", 1)[-1].split(".jl", 1)[0] not in have]


def earlier_runs(runs: Iterable[str], run: str) -> list[str]:
    """The runs started before ``run``, newest first; names that are not run times are left
    out (``_manifest``-like folders, typos)."""
    return sorted((r for r in set(runs) if _RUN_NAME.match(r) and r < run), reverse=True)


def run_index(captures: Iterable[Capture]) -> dict[str, Capture]:
    """URL → its capture in one run: the latest without error; a URL whose every capture
    failed maps to its latest failure (the report shows it; it is never a previous capture)."""
    best: dict[str, Capture] = {}
    for capture in captures:
        current = best.get(capture.url)
        if current is None or _rank(capture) > _rank(current):
            best[capture.url] = capture
    return best


def _rank(capture: Capture) -> tuple[bool, str, str, int]:
    return (not capture.error, capture.crawled_at, capture.chunk, capture.line)


def find_history(
    urls: Iterable[str],
    runs: Iterable[tuple[str, Mapping[str, Capture]]],
    depth: int = HISTORY_DEPTH,
    max_runs: int = MAX_LOOKBACK_RUNS,
) -> dict[str, list[Capture]]:
    """URL (page_key) → its error-free captures in earlier runs, newest first, at most
    ``depth``. ``runs`` yields (run, run_index) newest first and is consumed lazily: the walk
    stops once every URL has ``depth`` captures, or after ``max_runs`` runs, so the caller
    reads no more manifests than that."""
    wanted = {page_key(url) for url in urls}
    found: dict[str, list[Capture]] = {url: [] for url in wanted}
    open_urls = set(wanted)
    for count, (_run, index) in enumerate(runs, start=1):
        for url in list(open_urls):
            capture = index.get(url)
            if capture is not None and not capture.error:
                found[url].append(capture)
                if len(found[url]) >= depth:
                    open_urls.discard(url)
        if not open_urls or count >= max_runs:
            break
    return found


def find_previous(
    urls: Iterable[str], runs: Iterable[tuple[str, Mapping[str, Capture]]]
) -> dict[str, Capture | None]:
    """URL → its previous capture (or None: the page is new)."""
    history = find_history(urls, runs, depth=1)
    return {url: (captures[0] if captures else None) for url, captures in history.items()}


def seen_lines(history: list[Capture]) -> frozenset[str]:
    """The rotation memory for ``text_diff``: line fingerprints of the captures *before* the
    previous one (the previous capture's own lines are the diff's ``before``)."""
    return frozenset(fp for capture in history[1:] for fp in capture.lines)


def removed_pages(
    current_urls: Iterable[str], previous_run: Mapping[str, Capture]
) -> list[Capture]:
    """Pages of the previous run, on a site of this run, that this run lacks (``removed``)."""
    current = {page_key(url) for url in current_urls}
    hosts = {urlsplit(url).netloc for url in current}
    return sorted(
        (
            c
            for url, c in previous_run.items()
            if url not in current and urlsplit(url).netloc in hosts
        ),
        key=lambda c: c.url,
    )


def lazy_indexes(
    runs: Iterable[str], read_run: Callable[[str], Iterable[Capture]]
) -> Iterator[tuple[str, Mapping[str, Capture]]]:
    """(run, run_index) for each run, read only when the walk gets to it; ``read_run(run)``
    returns that run's captures (the S3 side: its manifests, rebuilt where missing)."""
    for run in runs:
        yield run, run_index(read_run(run))
