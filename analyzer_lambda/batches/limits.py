"""The Batch API's documented limits, and how pages are split into jobs that respect them. Pure.

From Google's Batch API guide (ai.google.dev/gemini-api/docs/batch-mode, checked 2026-12):
inline requests suit batches whose whole create request stays under 20 MB; larger input goes in
an uploaded JSONL file, at most 2 GB; at most 100 batches run at once per project. The guide
gives no per-job request count: ``max_requests`` (``GEMINI_BATCH_MAX_REQUESTS``) is our own
bound, so one job's result file stays small and a failed job costs few pages to resubmit.
Enqueued tokens are limited per model and tier (shown in AI Studio): a job over them fails and
is reported, and its pages can be resubmitted."""

from __future__ import annotations

from dataclasses import dataclass

INLINE_MAX_BYTES = 20 * 1024 * 1024
FILE_MAX_BYTES = 2 * 1024 * 1024 * 1024
CONCURRENT_JOBS = 100
DEFAULT_MAX_REQUESTS = 10_000
#: room kept under the inline limit for the create request's own envelope
_ENVELOPE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Limits:
    inline_max_bytes: int = INLINE_MAX_BYTES
    file_max_bytes: int = FILE_MAX_BYTES
    max_requests: int = DEFAULT_MAX_REQUESTS


@dataclass(frozen=True)
class JobSlice:
    """Requests ``start`` to ``end`` (exclusive) of a submission, sent as one job."""

    start: int
    end: int
    inline: bool
    size: int


class RequestTooLargeError(ValueError):
    """One request alone is over the file limit: no job can carry it."""


def inline_room(limits: Limits) -> int:
    """Bytes of requests an inline create request may carry."""
    return max(0, limits.inline_max_bytes - _ENVELOPE_BYTES)


def split_jobs(sizes: list[int], limits: Limits) -> list[JobSlice]:
    """Consecutive slices of the requests (``sizes``: each one's JSON bytes), each within
    ``max_requests`` and the file limit. A submission that fits one inline request whole is
    sent inline (no upload); any other goes as files, one per slice."""
    room = inline_room(limits)
    slices: list[JobSlice] = []
    start, total = 0, 0
    for index, size in enumerate(sizes):
        if size > limits.file_max_bytes:
            raise RequestTooLargeError(
                f"request {index} is {size:,} bytes, over the Batch API's file limit"
            )
        full = index - start >= limits.max_requests or total + size > limits.file_max_bytes
        if full:
            slices.append(JobSlice(start, index, False, total))
            start, total = index, 0
        total += size
    if start < len(sizes):
        slices.append(JobSlice(start, len(sizes), not slices and total <= room, total))
    return slices
