"""Splitting a submission by the Batch API's limits (limits.py)."""

from __future__ import annotations

import pytest

from analyzer_lambda.batches.limits import (
    INLINE_MAX_BYTES,
    Limits,
    RequestTooLargeError,
    split_jobs,
)
from analyzer_lambda.config import Config

MB = 1024 * 1024


def test_a_small_submission_goes_inline_in_one_job() -> None:
    [job] = split_jobs([200_000] * 50, Limits())
    assert (job.start, job.end, job.inline) == (0, 50, True)


def test_a_submission_over_the_inline_limit_goes_as_one_file() -> None:
    [job] = split_jobs([300_000] * 1000, Limits())  # ~286 MB: one file, well under 2 GB
    assert (job.start, job.end, job.inline, job.size) == (0, 1000, False, 300_000_000)


def test_jobs_are_split_at_the_request_count_and_then_all_go_as_files() -> None:
    jobs = split_jobs([1000] * 7, Limits(max_requests=3))
    assert [(j.start, j.end) for j in jobs] == [(0, 3), (3, 6), (6, 7)]
    assert not any(j.inline for j in jobs)  # a split submission is never partly inline


def test_jobs_are_split_before_a_file_would_pass_its_size_limit() -> None:
    jobs = split_jobs([40 * MB] * 5, Limits(file_max_bytes=100 * MB))
    assert [(j.start, j.end) for j in jobs] == [(0, 2), (2, 4), (4, 5)]
    assert all(j.size <= 100 * MB for j in jobs)


def test_one_request_over_the_file_limit_is_refused_with_its_index() -> None:
    with pytest.raises(RequestTooLargeError, match="request 1 is"):
        split_jobs([10, 3 * MB], Limits(file_max_bytes=2 * MB))


def test_no_requests_no_jobs() -> None:
    assert split_jobs([], Limits()) == []


def test_the_environment_may_lower_the_inline_limit_but_not_raise_it() -> None:
    low = Config.from_env({"GEMINI_BATCH_INLINE_MAX_BYTES": "1000"}).batch_limits
    assert low.inline_max_bytes == 1000
    high = Config.from_env({"GEMINI_BATCH_INLINE_MAX_BYTES": str(10 * INLINE_MAX_BYTES)})
    assert high.batch_limits.inline_max_bytes == INLINE_MAX_BYTES
    assert Config.from_env({"GEMINI_BATCH_MAX_REQUESTS": "5"}).batch_limits.max_requests == 5
