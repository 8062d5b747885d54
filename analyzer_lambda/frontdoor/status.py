"""A run's status as ``GET /runs/{run}`` answers it, from the facts S3 holds (pure).

- ``done``: the run-complete step wrote ``run.json`` ``done`` (the report exists); pages that
  failed are in ``pages`` with their error, as in the report;
- ``failed``: every shard ended without storing a page, or the run cannot finish: its start
  failed (Step Functions refused, the local crawl could not start), or the run-complete step
  gave up (``incomplete``: a shard's marker never came);
- ``analysing``: every shard's marker is there, and pages still wait for a result or for the
  run-complete step;
- ``crawling``: otherwise (no marker yet, or not all of them).

Screenshot URLs are the report's files, so they exist once the run is ``done``; each page's
analysis or error is there as soon as its result is. Every URL is presigned for the configured
lifetime: the bucket is private."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rivalscope_core.keys import chunk_stem, result_chunk_stem
from rivalscope_core.records import BLOCKED_BY_SITE

if TYPE_CHECKING:
    from collections.abc import Callable

    from analyzer_lambda.frontdoor.store import RunFacts
    from rivalscope_core.records import ResultRecord

STATES = ("crawling", "analysing", "done", "failed")


@dataclass(frozen=True)
class LaunchState:
    """What the launcher knows: ``running``, ``succeeded``, ``failed`` or ``unknown``."""

    state: str = "unknown"
    error: str | None = None


def run_state(facts: RunFacts, launch: LaunchState) -> tuple[str, str | None]:
    """The status and, for ``failed``, why."""
    doc = facts.run_doc or {}
    markers = facts.markers
    count = markers[0].shard_count if markers else 0
    mine = {m.shard_index for m in markers if m.shard_count == count}
    if markers and len(mine) >= count and sum(m.pages for m in markers) == 0:
        # every shard ended and none stored a page: an empty report is no answer
        codes = sorted({m.exit_code for m in markers})
        return "failed", f"the crawl stored no page (exit code {', '.join(map(str, codes))})"
    if doc.get("status") == "done":
        return "done", None
    if doc.get("status") == "incomplete":
        missing = ", ".join(doc.get("missing_markers") or []) or "none"
        return "failed", (
            f"the run never completed: missing shard marker(s) {missing}, "
            f"{doc.get('pages_without_result', 0)} page(s) without a result"
        )
    if launch.state == "failed":
        return "failed", launch.error or "the run could not be started"
    if not markers or len(mine) < count:
        return "crawling", None
    return "analysing", None


def progress(facts: RunFacts) -> dict[str, Any]:
    markers = facts.markers
    count = markers[0].shard_count if markers else None
    done_pages = {_page_of(key) for key in facts.result_keys}
    all_in = count is not None and len({m.shard_index for m in markers}) >= count
    return {
        "shards": count,
        "shards_done": len(markers),
        "chunks_stored": facts.chunks,
        # known once every shard's marker is there; while crawling, pages come in chunks
        "pages": sum(m.pages for m in markers) if all_in else None,
        "pages_analysed": len(done_pages),
    }


def pages(
    facts: RunFacts, prompt_id: str | None, presign: Callable[[str], str]
) -> list[dict[str, Any]]:
    """One entry per page that has a result (the request's prompt first, then any other: a
    watch-list competitor may have a prompt of its own), in crawl order."""
    shots = _screenshots(facts.report_files)
    best: dict[tuple[str, int], ResultRecord] = {}
    for result in facts.results:
        page = (chunk_stem(result.chunk), result.line)
        held = best.get(page)
        if held is None or (held.prompt_id != prompt_id and result.prompt_id == prompt_id):
            best[page] = result
    entries = []
    for (stem, line), result in sorted(best.items()):
        full, thumb = shots.get(f"{stem}-{line}", (None, None))
        error = (
            {"type": result.error.type, "message": result.error.message} if result.error else None
        )
        blocked = result.error is not None and result.error.type == BLOCKED_BY_SITE
        entries.append(
            {
                "url": result.url,
                "final_url": result.final_url,
                "competitor": result.competitor,
                "status": "blocked" if blocked else "failed" if result.error else "done",
                "analysis": result.analysis,
                "error": error,
                "prompt_id": result.prompt_id,
                "model": result.model,
                "crawled_at": result.crawled_at,
                "reused_from": result.reused_from,
                "screenshot_url": presign(full) if full else None,
                "thumbnail_url": presign(thumb) if thumb else None,
            }
        )
    return entries


def report_url(facts: RunFacts, presign: Callable[[str], str]) -> str | None:
    report = next((k for k in facts.report_files if k.endswith("/report.html")), None)
    return presign(report) if report else None


def _page_of(result_key: str) -> tuple[str, str]:
    return result_chunk_stem(result_key), result_key.rsplit("/", 1)[-1]


def _screenshots(keys: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """``{stem}-{line}`` → (full capture key, thumbnail key) among the report's files
    (``analyzer_lambda.report.screenshots`` names them)."""
    found: dict[str, tuple[str | None, str | None]] = {}
    for key in keys:
        folder, _, name = key.rpartition("/")
        if not folder.endswith("/screenshots"):
            continue
        if name.endswith(".thumb.webp"):
            base = name.removesuffix(".thumb.webp")
            found[base] = (found.get(base, (None, None))[0], key)
        else:
            base = name.rsplit(".", 1)[0]
            found[base] = (key, found.get(base, (None, None))[1])
    return found
